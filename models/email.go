package models

import (
	"time"

	"github.com/uptrace/bun"
)

// Broadcast states.
const (
	BroadcastDraft     = "draft"
	BroadcastScheduled = "scheduled"
	BroadcastSending   = "sending"
	BroadcastPaused    = "paused"
	BroadcastSent      = "sent"
	BroadcastCancelled = "cancelled"
)

// Body formats of a broadcast.
const (
	FormatMarkdown = "markdown"
	FormatText     = "text"
)

// Broadcast is a link's release-day email: one per link.
type Broadcast struct {
	bun.BaseModel `bun:"table:broadcasts"`

	ID          int64  `bun:"id,pk,autoincrement"`
	WorkspaceID int64  `bun:"workspace_id,notnull"`
	LinkID      int64  `bun:"link_id,notnull"`
	Subject     string `bun:"subject,notnull"`
	Body        string `bun:"body,notnull"`
	BodyFormat  string `bun:"body_format,notnull"`
	State       string `bun:"state,notnull"`
	// SendAt is when it goes out; nil means at the link's release time.
	SendAt      *time.Time `bun:"send_at"`
	PauseReason string     `bun:"pause_reason,notnull"`
	// Total is the number of recipients, fixed when sending starts.
	Total int `bun:"total,notnull"`
	// NextBatch is the checkpoint: batches below it are recorded as sent.
	NextBatch  int        `bun:"next_batch,notnull"`
	CreatedBy  *int64     `bun:"created_by"`
	StartedAt  *time.Time `bun:"started_at"`
	FinishedAt *time.Time `bun:"finished_at"`
	CreatedAt  time.Time  `bun:"created_at,notnull"`
	UpdatedAt  time.Time  `bun:"updated_at,notnull"`
}

// Recipient states, in the order a message moves through them.
const (
	RecipientQueued     = "queued"
	RecipientSent       = "sent"
	RecipientDelivered  = "delivered"
	RecipientOpened     = "opened"
	RecipientClicked    = "clicked"
	RecipientBounced    = "bounced"
	RecipientComplained = "complained"
	RecipientFailed     = "failed"
)

// Recipient is one subscriber of one broadcast, fixed when sending starts.
type Recipient struct {
	bun.BaseModel `bun:"table:broadcast_recipients,alias:r"`

	ID           int64  `bun:"id,pk,autoincrement"`
	BroadcastID  int64  `bun:"broadcast_id,notnull"`
	SubscriberID int64  `bun:"subscriber_id,notnull"`
	Email        string `bun:"email,notnull"`
	// Platform is the fan's preferred platform: the email's main button.
	Platform  string `bun:"platform,notnull"`
	PresaveID *int64 `bun:"presave_id"`
	// Batch numbers groups of up to 100 sent in one call.
	Batch int    `bun:"batch,notnull"`
	State string `bun:"state,notnull"`
	// MessageID is the mail service's id, which webhooks refer to.
	MessageID            string     `bun:"message_id,notnull"`
	Error                string     `bun:"error,notnull"`
	UnsubscribeTokenHash string     `bun:"unsubscribe_token_hash,notnull"`
	RevokeTokenHash      string     `bun:"revoke_token_hash,notnull"`
	SentAt               *time.Time `bun:"sent_at"`
	UpdatedAt            time.Time  `bun:"updated_at,notnull"`
}

// OutboxMessage is an email the outbox driver kept instead of sending.
type OutboxMessage struct {
	bun.BaseModel `bun:"table:outbox_messages"`

	ID int64 `bun:"id,pk,autoincrement"`
	// WorkspaceID is whose outbox shows it (nil: account email, such as a password reset).
	WorkspaceID    *int64            `bun:"workspace_id"`
	MessageID      string            `bun:"message_id,notnull"`
	IdempotencyKey string            `bun:"idempotency_key,notnull"`
	Sender         string            `bun:"sender,notnull"`
	Recipient      string            `bun:"recipient,notnull"`
	Subject        string            `bun:"subject,notnull"`
	HTML           string            `bun:"html,notnull"`
	Text           string            `bun:"text,notnull"`
	Headers        map[string]string `bun:"headers,type:text,notnull"`
	CreatedAt      time.Time         `bun:"created_at,notnull"`
}

// Suppression reasons.
const (
	SuppressedBounce    = "bounce"
	SuppressedComplaint = "complaint"
)

// Suppression is an address dropday no longer mails (hard bounce, complaint).
type Suppression struct {
	bun.BaseModel `bun:"table:suppressions"`

	Email     string    `bun:"email,pk"`
	Reason    string    `bun:"reason,notnull"`
	Detail    string    `bun:"detail,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// WebhookEvent is a processed webhook delivery, kept to drop replays.
type WebhookEvent struct {
	bun.BaseModel `bun:"table:webhook_events"`

	ID         string    `bun:"id,pk"`
	Type       string    `bun:"type,notnull"`
	ReceivedAt time.Time `bun:"received_at,notnull"`
}
