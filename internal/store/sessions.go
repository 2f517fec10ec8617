package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// CreateSession stores a new admin session.
func CreateSession(ctx context.Context, db bun.IDB, s *models.Session) error {
	if _, err := db.NewInsert().Model(s).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionByToken finds a live session by its token's hash.
func SessionByToken(ctx context.Context, db bun.IDB, tokenHash string, now time.Time) (*models.Session, error) {
	s := new(models.Session)
	err := db.NewSelect().Model(s).Where("token_hash = ? AND expires_at > ?", tokenHash, now).Scan(ctx)
	if err != nil {
		return nil, notFound("session", err)
	}
	return s, nil
}

// TouchSession slides the session's expiry forward.
func TouchSession(ctx context.Context, db bun.IDB, id int64, now, expires time.Time) error {
	_, err := db.NewUpdate().Model((*models.Session)(nil)).
		Set("last_seen_at = ?", now).Set("expires_at = ?", expires).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// SwitchSessionWorkspace points the session at another workspace (membership checked by the caller).
func SwitchSessionWorkspace(ctx context.Context, db bun.IDB, id, workspaceID int64) error {
	res, err := db.NewUpdate().Model((*models.Session)(nil)).Set("workspace_id = ?", workspaceID).Where("id = ?", id).Exec(ctx)
	return mustAffect("switch workspace", res, err)
}

// DeleteSession ends one session (logout).
func DeleteSession(ctx context.Context, db bun.IDB, id int64) error {
	if _, err := db.NewDelete().Model((*models.Session)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions is housekeeping.
func DeleteExpiredSessions(ctx context.Context, db bun.IDB, now time.Time) (int64, error) {
	res, err := db.NewDelete().Model((*models.Session)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

// DeleteUserSessions ends every session of a user (a password change logs out every browser).
func DeleteUserSessions(ctx context.Context, db bun.IDB, userID int64) (int64, error) {
	res, err := db.NewDelete().Model((*models.Session)(nil)).Where("user_id = ?", userID).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: delete user sessions: %w", err)
	}
	return res.RowsAffected()
}
