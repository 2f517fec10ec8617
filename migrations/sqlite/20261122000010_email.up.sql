CREATE TABLE broadcasts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    link_id INTEGER NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    subject TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    body_format TEXT NOT NULL DEFAULT 'markdown' CHECK (body_format IN ('markdown', 'text')),
    state TEXT NOT NULL DEFAULT 'draft'
        CHECK (state IN ('draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled')),
    send_at TIMESTAMP,
    pause_reason TEXT NOT NULL DEFAULT '',
    total INTEGER NOT NULL DEFAULT 0,
    next_batch INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX broadcasts_link_idx ON broadcasts (link_id);
--bun:split
CREATE INDEX broadcasts_due_idx ON broadcasts (state, send_at);
--bun:split
CREATE TABLE broadcast_recipients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    platform TEXT NOT NULL DEFAULT '',
    presave_id INTEGER REFERENCES presaves (id) ON DELETE SET NULL,
    batch INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'sent', 'delivered', 'opened', 'clicked', 'bounced', 'complained', 'failed')),
    message_id TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    unsubscribe_token_hash TEXT NOT NULL,
    revoke_token_hash TEXT NOT NULL DEFAULT '',
    sent_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX broadcast_recipients_subscriber_idx ON broadcast_recipients (broadcast_id, subscriber_id);
--bun:split
CREATE INDEX broadcast_recipients_batch_idx ON broadcast_recipients (broadcast_id, batch);
--bun:split
CREATE UNIQUE INDEX broadcast_recipients_unsubscribe_idx ON broadcast_recipients (unsubscribe_token_hash);
--bun:split
CREATE INDEX broadcast_recipients_revoke_idx ON broadcast_recipients (revoke_token_hash) WHERE revoke_token_hash <> '';
--bun:split
CREATE INDEX broadcast_recipients_message_idx ON broadcast_recipients (message_id) WHERE message_id <> '';
--bun:split
CREATE TABLE outbox_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL DEFAULT '',
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    html TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    headers TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX outbox_messages_message_idx ON outbox_messages (message_id);
--bun:split
CREATE INDEX outbox_messages_key_idx ON outbox_messages (idempotency_key) WHERE idempotency_key <> '';
--bun:split
CREATE INDEX outbox_messages_recipient_idx ON outbox_messages (recipient, id);
--bun:split
CREATE TABLE suppressions (
    email TEXT PRIMARY KEY,
    reason TEXT NOT NULL CHECK (reason IN ('bounce', 'complaint')),
    detail TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
--bun:split
CREATE TABLE webhook_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL
);
