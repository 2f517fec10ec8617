package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// CreatePasswordReset stores a reset link (the token only as its hash).
func CreatePasswordReset(ctx context.Context, db bun.IDB, r *models.PasswordReset) error {
	if _, err := db.NewInsert().Model(r).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("store: create password reset: %w", err)
	}
	return nil
}

// PasswordResetByToken finds an unused, unexpired reset by its token's hash.
func PasswordResetByToken(ctx context.Context, db bun.IDB, tokenHash string, now time.Time) (*models.PasswordReset, error) {
	r := new(models.PasswordReset)
	err := db.NewSelect().Model(r).
		Where("token_hash = ? AND used_at IS NULL AND expires_at > ?", tokenHash, now).Scan(ctx)
	if err != nil {
		return nil, notFound("password reset", err)
	}
	return r, nil
}

// UsePasswordReset marks a reset used. Only one caller can: a second use, or
// one after expiry, is ErrNotFound, so two racing submits change the password once.
func UsePasswordReset(ctx context.Context, db bun.IDB, id int64, now time.Time) error {
	res, err := db.NewUpdate().Model((*models.PasswordReset)(nil)).Set("used_at = ?", now).
		Where("id = ? AND used_at IS NULL AND expires_at > ?", id, now).Exec(ctx)
	return mustAffect("use password reset", res, err)
}

// DeleteUnusedPasswordResets removes a user's open reset links (after the
// password changed, an older link must not change it again).
func DeleteUnusedPasswordResets(ctx context.Context, db bun.IDB, userID int64) error {
	_, err := db.NewDelete().Model((*models.PasswordReset)(nil)).Where("user_id = ? AND used_at IS NULL", userID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: delete password resets: %w", err)
	}
	return nil
}
