CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT 'null',
    state TEXT NOT NULL DEFAULT 'available'
        CHECK (state IN ('available', 'running', 'retryable', 'completed', 'discarded', 'cancelled')),
    attempt INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts INTEGER NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
    run_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT NOT NULL DEFAULT '',
    unique_key TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    finalized_at TIMESTAMP
);
--bun:split
CREATE UNIQUE INDEX jobs_unique_key_idx ON jobs (unique_key);
--bun:split
CREATE INDEX jobs_claim_idx ON jobs (run_at, id) WHERE state IN ('available', 'retryable');
--bun:split
CREATE INDEX jobs_rescue_idx ON jobs (locked_until) WHERE state = 'running';
