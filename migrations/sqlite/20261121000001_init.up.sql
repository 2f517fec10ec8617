CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX users_email_idx ON users (email);
--bun:split
CREATE TABLE workspaces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
--bun:split
CREATE TABLE members (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
--bun:split
CREATE INDEX members_user_idx ON members (user_id);
--bun:split
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
--bun:split
CREATE UNIQUE INDEX sessions_token_idx ON sessions (token_hash);
--bun:split
CREATE INDEX sessions_user_idx ON sessions (user_id);
--bun:split
CREATE TABLE invites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    token_hash TEXT NOT NULL,
    invited_by INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP
);
--bun:split
CREATE UNIQUE INDEX invites_token_idx ON invites (token_hash);
--bun:split
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
--bun:split
CREATE TABLE links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    artist TEXT NOT NULL,
    subtitle TEXT NOT NULL DEFAULT '',
    artwork TEXT NOT NULL DEFAULT '',
    release_at TIMESTAMP NOT NULL,
    time_zone TEXT NOT NULL,
    source_kind TEXT NOT NULL DEFAULT '',
    source_value TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('draft', 'live', 'released', 'archived')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX links_slug_idx ON links (slug);
--bun:split
CREATE INDEX links_workspace_idx ON links (workspace_id, release_at);
--bun:split
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    platform TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('active', 'unsubscribed')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX subscribers_email_idx ON subscribers (workspace_id, email);
--bun:split
CREATE TABLE signups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    link_id INTEGER NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    platform TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    consent_version TEXT NOT NULL,
    consented_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX signups_link_subscriber_idx ON signups (link_id, subscriber_id);
--bun:split
CREATE INDEX signups_subscriber_idx ON signups (subscriber_id);
--bun:split
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    hint TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
--bun:split
CREATE UNIQUE INDEX api_tokens_hash_idx ON api_tokens (token_hash);
