CREATE TABLE presaves (
    id BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    link_id BIGINT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    platform_user_id TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    email_opt_in BOOLEAN NOT NULL DEFAULT FALSE,
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    consent_version TEXT NOT NULL,
    consented_at TIMESTAMPTZ NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'revoked')),
    revoke_token_hash TEXT NOT NULL,
    credential BYTEA,
    credential_key_version INTEGER,
    last_error TEXT NOT NULL DEFAULT '',
    delivered_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX presaves_fan_idx ON presaves (link_id, platform, platform_user_id);
--bun:split
CREATE UNIQUE INDEX presaves_revoke_idx ON presaves (revoke_token_hash);
--bun:split
CREATE INDEX presaves_state_idx ON presaves (link_id, state);
--bun:split
CREATE INDEX presaves_key_version_idx ON presaves (credential_key_version);
--bun:split
CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    link_id BIGINT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    verifier TEXT NOT NULL,
    email_opt_in BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
