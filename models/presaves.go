package models

import (
	"time"

	"github.com/uptrace/bun"
)

// Pre-save states.
const (
	PresavePending   = "pending"
	PresaveDelivered = "delivered"
	PresaveFailed    = "failed"
	PresaveRevoked   = "revoked"
)

// Presave is a fan's consent to have one release saved into their library on
// one platform, with the consent record and the sealed credential.
type Presave struct {
	bun.BaseModel `bun:"table:presaves"`

	ID             int64  `bun:"id,pk,autoincrement"`
	WorkspaceID    int64  `bun:"workspace_id,notnull"`
	LinkID         int64  `bun:"link_id,notnull"`
	Platform       string `bun:"platform,notnull"`
	PlatformUserID string `bun:"platform_user_id,notnull"`
	DisplayName    string `bun:"display_name,notnull"`
	// Email is kept only when the fan ticked "also email me" and the platform gave one.
	Email          string `bun:"email,notnull"`
	EmailOptIn     bool   `bun:"email_opt_in,notnull"`
	IP             string `bun:"ip,notnull"`
	UserAgent      string `bun:"user_agent,notnull"`
	ConsentVersion string `bun:"consent_version,notnull"`
	// ConsentTextID is the exact wording the fan agreed to (consent_texts).
	ConsentTextID   *int64    `bun:"consent_text_id"`
	ConsentedAt     time.Time `bun:"consented_at,notnull"`
	Scope           string    `bun:"scope,notnull"`
	State           string    `bun:"state,notnull"`
	RevokeTokenHash string    `bun:"revoke_token_hash,notnull"`
	// Storefront is the fan's Apple Music country catalog ("" elsewhere).
	Storefront string `bun:"storefront,notnull"`
	// Credential is the vault-sealed refresh token; nil once the pre-save is final.
	Credential           []byte     `bun:"credential"`
	CredentialKeyVersion *int       `bun:"credential_key_version"`
	LastError            string     `bun:"last_error,notnull"`
	DeliveredAt          *time.Time `bun:"delivered_at"`
	RevokedAt            *time.Time `bun:"revoked_at"`
	CreatedAt            time.Time  `bun:"created_at,notnull"`
	UpdatedAt            time.Time  `bun:"updated_at,notnull"`
}

// OAuthState is one consent attempt in flight: single-use, 10 minutes, and
// bound to the browser by a cookie holding the state value.
type OAuthState struct {
	bun.BaseModel `bun:"table:oauth_states"`

	StateHash  string `bun:"state_hash,pk"`
	LinkID     int64  `bun:"link_id,notnull"`
	Platform   string `bun:"platform,notnull"`
	Verifier   string `bun:"verifier,notnull"`
	EmailOptIn bool   `bun:"email_opt_in,notnull"`
	// ConsentVersion is the wording shown beside the button the fan pressed.
	ConsentVersion string    `bun:"consent_version,notnull"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
	ExpiresAt      time.Time `bun:"expires_at,notnull"`
}
