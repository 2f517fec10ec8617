package models

import (
	"time"

	"github.com/uptrace/bun"
)

// ConsentText is one exact consent wording; its ID is the version a consent record points at.
type ConsentText struct {
	bun.BaseModel `bun:"table:consent_texts"`

	ID int64 `bun:"id,pk,autoincrement"`
	// Kind is the consent's purpose: the consent_version name ("email-signup-v1").
	Kind      string    `bun:"kind,notnull"`
	TextHash  string    `bun:"text_hash,notnull"`
	Text      string    `bun:"text,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// Retention defaults of a workspace without saved privacy settings.
const (
	DefaultCoarsenAfterDays = 30
	DefaultPurgeAfterDays   = 90
)

// PrivacySettings are a workspace's privacy page facts and retention rules.
type PrivacySettings struct {
	bun.BaseModel `bun:"table:workspace_privacy"`

	WorkspaceID    int64  `bun:"workspace_id,pk"`
	ControllerName string `bun:"controller_name,notnull"`
	ContactEmail   string `bun:"contact_email,notnull"`
	// CoarsenAfterDays: consent records' IP and user agent are coarsened this
	// many days after the link's release.
	CoarsenAfterDays int `bun:"coarsen_after_days,notnull"`
	// PurgeAfterDays: pre-saves of archived links are deleted this many days
	// after the archiving (0 = never).
	PurgeAfterDays int       `bun:"purge_archived_after_days,notnull"`
	UpdatedAt      time.Time `bun:"updated_at,notnull"`
}

// ErasedEmail marks an address erased from a workspace, by its keyed hash only.
type ErasedEmail struct {
	bun.BaseModel `bun:"table:erased_emails"`

	WorkspaceID int64     `bun:"workspace_id,pk"`
	EmailHash   string    `bun:"email_hash,pk"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
}

// Fan token kinds.
const (
	FanTokenEmail   = "email"
	FanTokenSession = "session"
)

// FanToken proves a fan owns an address: the emailed link, or the session it opened.
type FanToken struct {
	bun.BaseModel `bun:"table:fan_tokens"`

	ID          int64      `bun:"id,pk,autoincrement"`
	TokenHash   string     `bun:"token_hash,notnull"`
	Kind        string     `bun:"kind,notnull"`
	WorkspaceID int64      `bun:"workspace_id,notnull"`
	Email       string     `bun:"email,notnull"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
	ExpiresAt   time.Time  `bun:"expires_at,notnull"`
	UsedAt      *time.Time `bun:"used_at"`
}

// Audit actor kinds.
const (
	ActorUser = "user"
	ActorAPI  = "api"
	ActorCLI  = "cli"
	ActorFan  = "fan"
)

// AuditEntry is one line of the audit log: who did what, when, from where.
type AuditEntry struct {
	bun.BaseModel `bun:"table:audit_log"`

	ID int64 `bun:"id,pk,autoincrement"`
	// WorkspaceID is nil for instance-wide actions (key rotation).
	WorkspaceID *int64 `bun:"workspace_id"`
	ActorKind   string `bun:"actor_kind,notnull"`
	ActorUserID *int64 `bun:"actor_user_id"`
	// Actor is who, as a person reads it: an email, "cli", "fan", an API token's name.
	Actor     string    `bun:"actor,notnull"`
	Action    string    `bun:"action,notnull"`
	Target    string    `bun:"target,notnull"`
	Detail    string    `bun:"detail,notnull"`
	IP        string    `bun:"ip,notnull"`
	UserAgent string    `bun:"user_agent,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}
