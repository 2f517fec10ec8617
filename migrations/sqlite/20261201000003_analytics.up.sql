-- Cookieless analytics. Nothing here holds an IP address or a user agent:
-- a visitor is a salted hash, and the salt of a day is deleted once the day is
-- over, so yesterday's hashes can no longer be recomputed from anyone's IP.
-- Days are UTC calendar days, written 'YYYY-MM-DD'.

-- One random salt per UTC day, shared by every instance through the database.
CREATE TABLE analytics_salts (
    day TEXT PRIMARY KEY,
    salt TEXT NOT NULL
);
--bun:split
-- Page views and unique visitors of a link's page per day.
CREATE TABLE analytics_views (
    link_id INTEGER NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    views INTEGER NOT NULL DEFAULT 0,
    visitors INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (link_id, day)
);
--bun:split
-- The visitor hashes of the current day only, so that several instances count
-- a visitor once; deleted after their day, when only the counts remain.
CREATE TABLE analytics_visitors (
    link_id INTEGER NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    visitor TEXT NOT NULL,
    PRIMARY KEY (link_id, day, visitor)
);
--bun:split
CREATE INDEX analytics_visitors_day_idx ON analytics_visitors (day);
--bun:split
-- Where views came from: kind 'referrer' (the referring host, never the full
-- URL) or 'utm_source' (the campaign's utm_source).
CREATE TABLE analytics_sources (
    link_id INTEGER NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('referrer', 'utm_source')),
    value TEXT NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (link_id, day, kind, value)
);
--bun:split
-- Smart-link clicks ("listen" buttons) per platform per day.
CREATE TABLE analytics_clicks (
    link_id INTEGER NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    platform TEXT NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (link_id, day, platform)
);
--bun:split
-- Insights count pre-saves and signups per day over a workspace's links.
CREATE INDEX presaves_workspace_created_idx ON presaves (workspace_id, created_at);
--bun:split
CREATE INDEX signups_workspace_consented_idx ON signups (workspace_id, consented_at);
