-- Which instance (host:pid:random) last claimed a job: with several
-- instances on one database, the one that finished a completed job.
ALTER TABLE jobs ADD COLUMN claimed_by TEXT;
--bun:split
-- Rate limits shared by every instance (PostgreSQL deployments): one row
-- per limited key holding its GCRA "theoretical arrival time" in Unix
-- microseconds. A row whose tat is past is a full bucket and may go.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat BIGINT NOT NULL
);
