-- Consent wording, one row per exact text shown to fans: the id is its
-- version, and every consent record points at the text the fan agreed to.
CREATE TABLE consent_texts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- kind is the consent's purpose (the consent_version name, e.g. email-signup-v1).
    kind TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX consent_texts_kind_hash_idx ON consent_texts (kind, text_hash);
--bun:split
ALTER TABLE presaves ADD COLUMN consent_text_id INTEGER REFERENCES consent_texts (id);
--bun:split
ALTER TABLE signups ADD COLUMN consent_text_id INTEGER REFERENCES consent_texts (id);
--bun:split
-- Finding a fan in a workspace by email or platform account.
CREATE INDEX presaves_workspace_email_idx ON presaves (workspace_id, email);
--bun:split
CREATE INDEX presaves_workspace_account_idx ON presaves (workspace_id, platform_user_id);
--bun:split
-- A workspace's privacy settings: who the controller is, and its retention rules.
CREATE TABLE workspace_privacy (
    workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    controller_name TEXT NOT NULL DEFAULT '',
    contact_email TEXT NOT NULL DEFAULT '',
    coarsen_after_days INTEGER NOT NULL DEFAULT 30 CHECK (coarsen_after_days BETWEEN 1 AND 3650),
    purge_archived_after_days INTEGER NOT NULL DEFAULT 90 CHECK (purge_archived_after_days BETWEEN 0 AND 3650),
    updated_at TIMESTAMP NOT NULL
);
--bun:split
-- Addresses a fan had erased from a workspace: only a keyed hash (HMAC) of
-- the address, so a later import or pre-save cannot re-add it silently.
CREATE TABLE erased_emails (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (workspace_id, email_hash)
);
--bun:split
-- A fan's proof of identity by email: a short-lived single-use link
-- (kind email), and the short session it opens (kind session). Hashes only.
CREATE TABLE fan_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('email', 'session')),
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
--bun:split
CREATE UNIQUE INDEX fan_tokens_hash_idx ON fan_tokens (token_hash);
--bun:split
CREATE INDEX fan_tokens_email_idx ON fan_tokens (workspace_id, email);
--bun:split
-- Who did what, when and from where. Insert-only: nothing in the app
-- updates or deletes a row. workspace_id is NULL for instance-wide actions
-- (key rotation), which every workspace's owners see.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'api', 'cli', 'fan', 'system')),
    actor_user_id INTEGER,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX audit_log_workspace_idx ON audit_log (workspace_id, id);
