package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// CreateOAuthState stores a consent attempt in flight.
func CreateOAuthState(ctx context.Context, db bun.IDB, s *models.OAuthState) error {
	if _, err := db.NewInsert().Model(s).Exec(ctx); err != nil {
		return fmt.Errorf("store: create oauth state: %w", err)
	}
	return nil
}

// TakeOAuthState deletes and returns the state with this hash: a state can be
// used once, however many callbacks race for it. Expired is ErrNotFound.
func TakeOAuthState(ctx context.Context, db bun.IDB, stateHash string, now time.Time) (*models.OAuthState, error) {
	s := new(models.OAuthState)
	res, err := db.NewDelete().Model(s).Where("state_hash = ?", stateHash).Returning("*").Exec(ctx)
	if err := mustAffect("take oauth state", res, err); err != nil {
		return nil, err
	}
	if !s.ExpiresAt.After(now) {
		return nil, fmt.Errorf("store: take oauth state: expired: %w", ErrNotFound)
	}
	return s, nil
}

// DeleteExpiredOAuthStates is housekeeping.
func DeleteExpiredOAuthStates(ctx context.Context, db bun.IDB, now time.Time) (int64, error) {
	res, err := db.NewDelete().Model((*models.OAuthState)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: delete expired oauth states: %w", err)
	}
	return res.RowsAffected()
}

// UpsertPresave records a fan's consent. The same fan pre-saving the same link
// on the same platform again refreshes the consent record on the one row
// (and makes a revoked pre-save pending again: that is fresh consent).
// p.ID and p.CreatedAt are filled from the stored row.
func UpsertPresave(ctx context.Context, db bun.IDB, p *models.Presave) error {
	_, err := db.NewInsert().Model(p).
		On("CONFLICT (link_id, platform, platform_user_id) DO UPDATE").
		Set("display_name = EXCLUDED.display_name").
		Set("email = EXCLUDED.email").
		Set("email_opt_in = EXCLUDED.email_opt_in").
		Set("ip = EXCLUDED.ip").
		Set("user_agent = EXCLUDED.user_agent").
		Set("consent_version = EXCLUDED.consent_version").
		Set("consented_at = EXCLUDED.consented_at").
		Set("scope = EXCLUDED.scope").
		Set("state = EXCLUDED.state").
		Set("revoke_token_hash = EXCLUDED.revoke_token_hash").
		Set("last_error = ''").
		Set("revoked_at = NULL").
		Set("updated_at = EXCLUDED.updated_at").
		Returning("id, created_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: upsert presave: %w", err)
	}
	return nil
}

// SetPresaveCredential stores the sealed credential of a pre-save.
func SetPresaveCredential(ctx context.Context, db bun.IDB, id int64, sealed []byte, keyVersion int) error {
	res, err := db.NewUpdate().Model((*models.Presave)(nil)).
		Set("credential = ?", sealed).Set("credential_key_version = ?", keyVersion).
		Where("id = ?", id).Exec(ctx)
	return mustAffect("set presave credential", res, err)
}

// PresaveByRevokeToken finds the pre-save a fan's undo link points at.
func PresaveByRevokeToken(ctx context.Context, db bun.IDB, tokenHash string) (*models.Presave, error) {
	p := new(models.Presave)
	if err := db.NewSelect().Model(p).Where("revoke_token_hash = ?", tokenHash).Scan(ctx); err != nil {
		return nil, notFound("presave by revoke token", err)
	}
	return p, nil
}

// PresaveByID finds a pre-save.
func PresaveByID(ctx context.Context, db bun.IDB, id int64) (*models.Presave, error) {
	p := new(models.Presave)
	if err := db.NewSelect().Model(p).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound("presave", err)
	}
	return p, nil
}

// RevokePresave cancels a pending pre-save and destroys its credential at once.
// It reports whether it changed anything (a second revoke changes nothing).
func RevokePresave(ctx context.Context, db bun.IDB, id int64, now time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*models.Presave)(nil)).
		Set("state = ?", models.PresaveRevoked).
		Set("credential = NULL").Set("credential_key_version = NULL").
		Set("revoked_at = ?", now).Set("updated_at = ?", now).
		Where("id = ? AND state = ?", id, models.PresavePending).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: revoke presave: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: revoke presave: %w", err)
	}
	return n == 1, nil
}

// SealedCredential is one stored credential, for key rotation.
type SealedCredential struct {
	ID         int64  `bun:"id"`
	Credential []byte `bun:"credential"`
	KeyVersion int    `bun:"credential_key_version"`
}

// CredentialsNotUnder pages (by id, after afterID) through credentials wrapped
// under another key than primary.
func CredentialsNotUnder(ctx context.Context, db bun.IDB, primary int, afterID int64, limit int) ([]SealedCredential, error) {
	var out []SealedCredential
	err := db.NewSelect().Model((*models.Presave)(nil)).Column("id", "credential", "credential_key_version").
		Where("credential IS NOT NULL AND credential_key_version <> ? AND id > ?", primary, afterID).
		Order("id").Limit(int64(limit)).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("store: credentials to rewrap: %w", err)
	}
	return out, nil
}

// ReplaceCredential swaps a rewrapped credential in, only if the row still
// holds the one that was read (a revoke in between wins).
func ReplaceCredential(ctx context.Context, db bun.IDB, id int64, old, sealed []byte, keyVersion int) (bool, error) {
	res, err := db.NewUpdate().Model((*models.Presave)(nil)).
		Set("credential = ?", sealed).Set("credential_key_version = ?", keyVersion).
		Where("id = ? AND credential = ?", id, old).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: replace credential: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: replace credential: %w", err)
	}
	return n == 1, nil
}
