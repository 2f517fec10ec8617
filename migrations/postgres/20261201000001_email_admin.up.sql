-- Password resets: a single-use, expiring link mailed to an admin.
CREATE TABLE password_resets (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
--bun:split
CREATE UNIQUE INDEX password_resets_token_idx ON password_resets (token_hash);
--bun:split
CREATE INDEX password_resets_user_idx ON password_resets (user_id);
--bun:split
-- The outbox is shown per workspace; account email (password resets) has none.
ALTER TABLE outbox_messages ADD COLUMN workspace_id BIGINT REFERENCES workspaces (id) ON DELETE CASCADE;
--bun:split
CREATE INDEX outbox_messages_workspace_idx ON outbox_messages (workspace_id, id);
--bun:split
-- The workspace's subscriber list and its CSV export walk subscribers by id.
CREATE INDEX subscribers_workspace_idx ON subscribers (workspace_id, id);
--bun:split
-- Signups per day of a link.
CREATE INDEX signups_link_time_idx ON signups (link_id, consented_at);
