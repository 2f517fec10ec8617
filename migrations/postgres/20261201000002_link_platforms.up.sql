-- Where a link's release is on each platform: found by a catalog look-up,
-- or pasted by the artist (platforms without look-up, or an override).
CREATE TABLE link_platforms (
    link_id BIGINT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    -- What the catalog look-up found; empty until found.
    found_url TEXT NOT NULL DEFAULT '',
    -- The items a save takes on this platform (JSON array of strings).
    items TEXT NOT NULL DEFAULT '[]',
    found_at TIMESTAMPTZ,
    -- What the artist pasted; wins over found_url when set.
    manual_url TEXT NOT NULL DEFAULT '',
    checks INTEGER NOT NULL DEFAULT 0,
    checked_at TIMESTAMPTZ,
    last_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (link_id, platform)
);
--bun:split
-- The admins' "still missing" email goes out once per link.
ALTER TABLE links ADD COLUMN resolve_alerted_at TIMESTAMPTZ;
