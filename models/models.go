// Package models holds dropday's bun-tagged rows and their status constants.
// No database calls live here; see internal/store.
package models

import (
	"time"

	"github.com/uptrace/bun"
)

// Roles a member can have in a workspace.
const (
	RoleOwner  = "owner"
	RoleMember = "member"
)

type User struct {
	bun.BaseModel `bun:"table:users"`

	ID           int64     `bun:"id,pk,autoincrement"`
	Email        string    `bun:"email,notnull"`
	Name         string    `bun:"name,notnull"`
	PasswordHash string    `bun:"password_hash,notnull"`
	CreatedAt    time.Time `bun:"created_at,notnull"`
}

type Workspace struct {
	bun.BaseModel `bun:"table:workspaces"`

	ID        int64     `bun:"id,pk,autoincrement"`
	Name      string    `bun:"name,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// Member is a user's place in a workspace.
type Member struct {
	bun.BaseModel `bun:"table:members"`

	WorkspaceID int64     `bun:"workspace_id,pk"`
	UserID      int64     `bun:"user_id,pk"`
	Role        string    `bun:"role,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`

	User      *User      `bun:"rel:belongs-to,join:user_id=id"`
	Workspace *Workspace `bun:"rel:belongs-to,join:workspace_id=id"`
}

// Session is a logged-in admin browser. The cookie holds the token; the row its hash.
type Session struct {
	bun.BaseModel `bun:"table:sessions"`

	ID          int64     `bun:"id,pk,autoincrement"`
	TokenHash   string    `bun:"token_hash,notnull"`
	UserID      int64     `bun:"user_id,notnull"`
	WorkspaceID int64     `bun:"workspace_id,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	LastSeenAt  time.Time `bun:"last_seen_at,notnull"`
	ExpiresAt   time.Time `bun:"expires_at,notnull"`
	IP          string    `bun:"ip,notnull"`
	UserAgent   string    `bun:"user_agent,notnull"`
}

// Invite lets an owner add someone who has no account yet.
type Invite struct {
	bun.BaseModel `bun:"table:invites"`

	ID          int64      `bun:"id,pk,autoincrement"`
	WorkspaceID int64      `bun:"workspace_id,notnull"`
	Email       string     `bun:"email,notnull"`
	Role        string     `bun:"role,notnull"`
	TokenHash   string     `bun:"token_hash,notnull"`
	InvitedBy   int64      `bun:"invited_by,notnull"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
	ExpiresAt   time.Time  `bun:"expires_at,notnull"`
	AcceptedAt  *time.Time `bun:"accepted_at"`
}

// PasswordReset is a single-use, expiring link mailed to an admin who forgot
// their password. The link holds the token; the row its hash.
type PasswordReset struct {
	bun.BaseModel `bun:"table:password_resets"`

	ID        int64      `bun:"id,pk,autoincrement"`
	UserID    int64      `bun:"user_id,notnull"`
	TokenHash string     `bun:"token_hash,notnull"`
	CreatedAt time.Time  `bun:"created_at,notnull"`
	ExpiresAt time.Time  `bun:"expires_at,notnull"`
	UsedAt    *time.Time `bun:"used_at"`
}

// Link states.
const (
	LinkDraft    = "draft"
	LinkLive     = "live"
	LinkReleased = "released"
	LinkArchived = "archived"
)

// LinkStates in the order the admin panel offers them.
var LinkStates = []string{LinkDraft, LinkLive, LinkReleased, LinkArchived}

// Pre-save source kinds.
const (
	SourceNone         = ""
	SourceSpotifyTrack = "spotify_track"
	SourceSpotifyAlbum = "spotify_album"
	SourceUPC          = "upc"
	SourceISRC         = "isrc"
)

// Link is a pre-release link: the landing page before release, the smart link after.
type Link struct {
	bun.BaseModel `bun:"table:links"`

	ID          int64  `bun:"id,pk,autoincrement"`
	WorkspaceID int64  `bun:"workspace_id,notnull"`
	Slug        string `bun:"slug,notnull"`
	Title       string `bun:"title,notnull"`
	Artist      string `bun:"artist,notnull"`
	Subtitle    string `bun:"subtitle,notnull"`
	// Artwork is the stored artwork's key under DataDir/artwork ("" = none).
	Artwork string `bun:"artwork,notnull"`
	// ReleaseAt is UTC; TimeZone is the IANA zone the artist entered it in.
	ReleaseAt   time.Time `bun:"release_at,notnull"`
	TimeZone    string    `bun:"time_zone,notnull"`
	SourceKind  string    `bun:"source_kind,notnull"`
	SourceValue string    `bun:"source_value,notnull"`
	State       string    `bun:"state,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	UpdatedAt   time.Time `bun:"updated_at,notnull"`
	// ResolveAlertedAt is when the admins were told the release is still
	// missing on some platforms (once per link).
	ResolveAlertedAt *time.Time `bun:"resolve_alerted_at"`

	// Counts filled by list queries, not columns.
	SignupCount int `bun:"signup_count,scanonly"`
}

// Subscriber statuses.
const (
	SubscriberActive       = "active"
	SubscriberUnsubscribed = "unsubscribed"
	// Bounced and complained are never stored: the admin sees them when the
	// address is in suppressions (hard bounce, spam complaint).
	SubscriberBounced    = "bounced"
	SubscriberComplained = "complained"
)

// SubscriberStatuses are the statuses the admin can filter by, in this order.
var SubscriberStatuses = []string{SubscriberActive, SubscriberUnsubscribed, SubscriberBounced, SubscriberComplained}

// Subscriber is one email in a workspace, however many links it signed up through.
type Subscriber struct {
	bun.BaseModel `bun:"table:subscribers"`

	ID          int64  `bun:"id,pk,autoincrement"`
	WorkspaceID int64  `bun:"workspace_id,notnull"`
	Email       string `bun:"email,notnull"`
	// Platform is the fan's latest preference (a platform key).
	Platform  string    `bun:"platform,notnull"`
	Status    string    `bun:"status,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// Signup is a subscriber's consent through one link: the record a data
// controller needs to show when and how the fan agreed.
type Signup struct {
	bun.BaseModel `bun:"table:signups"`

	ID             int64  `bun:"id,pk,autoincrement"`
	WorkspaceID    int64  `bun:"workspace_id,notnull"`
	LinkID         int64  `bun:"link_id,notnull"`
	SubscriberID   int64  `bun:"subscriber_id,notnull"`
	Platform       string `bun:"platform,notnull"`
	IP             string `bun:"ip,notnull"`
	UserAgent      string `bun:"user_agent,notnull"`
	ConsentVersion string `bun:"consent_version,notnull"`
	// ConsentTextID is the exact wording the fan agreed to (consent_texts).
	ConsentTextID *int64    `bun:"consent_text_id"`
	ConsentedAt   time.Time `bun:"consented_at,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`

	Subscriber *Subscriber `bun:"rel:belongs-to,join:subscriber_id=id"`
}

// APIToken authenticates /api/v1 calls for one workspace.
type APIToken struct {
	bun.BaseModel `bun:"table:api_tokens"`

	ID          int64  `bun:"id,pk,autoincrement"`
	WorkspaceID int64  `bun:"workspace_id,notnull"`
	Name        string `bun:"name,notnull"`
	// Hint is the token's last four characters, so an admin can tell tokens apart.
	Hint       string     `bun:"hint,notnull"`
	TokenHash  string     `bun:"token_hash,notnull"`
	CreatedBy  *int64     `bun:"created_by"`
	CreatedAt  time.Time  `bun:"created_at,notnull"`
	LastUsedAt *time.Time `bun:"last_used_at"`
}
