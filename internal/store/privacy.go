package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// ConsentTextID returns the version (row id) of this exact consent wording,
// storing it the first time it is shown: the same words are the same
// version, changed words a new one.
func ConsentTextID(ctx context.Context, db bun.IDB, kind, text string, now time.Time) (int64, error) {
	sum := sha256.Sum256([]byte(text))
	h := hex.EncodeToString(sum[:])
	ct := &models.ConsentText{Kind: kind, TextHash: h, Text: text, CreatedAt: now}
	if _, err := db.NewInsert().Model(ct).On("CONFLICT (kind, text_hash) DO NOTHING").Exec(ctx); err != nil {
		return 0, fmt.Errorf("store: add consent text: %w", err)
	}
	var id int64
	err := db.NewSelect().Model((*models.ConsentText)(nil)).Column("id").
		Where("kind = ? AND text_hash = ?", kind, h).Scan(ctx, &id)
	if err != nil {
		return 0, fmt.Errorf("store: consent text: %w", err)
	}
	return id, nil
}

// ConsentTexts returns the wordings with these ids.
func ConsentTexts(ctx context.Context, db bun.IDB, ids []int64) (map[int64]models.ConsentText, error) {
	out := map[int64]models.ConsentText{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []models.ConsentText
	if err := db.NewSelect().Model(&rows).Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: consent texts: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// PrivacyOf returns a workspace's privacy settings, or the defaults when it
// has saved none.
func PrivacyOf(ctx context.Context, db bun.IDB, workspaceID int64) (*models.PrivacySettings, error) {
	p := new(models.PrivacySettings)
	err := db.NewSelect().Model(p).Where("workspace_id = ?", workspaceID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return &models.PrivacySettings{WorkspaceID: workspaceID, CoarsenAfterDays: models.DefaultCoarsenAfterDays,
			PurgeAfterDays: models.DefaultPurgeAfterDays}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: privacy settings: %w", err)
	}
	return p, nil
}

// SavePrivacy stores a workspace's privacy settings.
func SavePrivacy(ctx context.Context, db bun.IDB, p *models.PrivacySettings) error {
	_, err := db.NewInsert().Model(p).On("CONFLICT (workspace_id) DO UPDATE").
		Set("controller_name = EXCLUDED.controller_name").
		Set("contact_email = EXCLUDED.contact_email").
		Set("coarsen_after_days = EXCLUDED.coarsen_after_days").
		Set("purge_archived_after_days = EXCLUDED.purge_archived_after_days").
		Set("updated_at = EXCLUDED.updated_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: save privacy settings: %w", err)
	}
	return nil
}

// WorkspaceIDs lists every workspace (the retention job walks them).
func WorkspaceIDs(ctx context.Context, db bun.IDB) ([]int64, error) {
	var ids []int64
	if err := db.NewSelect().Model((*models.Workspace)(nil)).Column("id").Order("id").Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("store: workspaces: %w", err)
	}
	return ids, nil
}

// MarkErased records an erased address's keyed hash in a workspace.
func MarkErased(ctx context.Context, db bun.IDB, workspaceID int64, emailHash string, now time.Time) error {
	_, err := db.NewInsert().Model(&models.ErasedEmail{WorkspaceID: workspaceID, EmailHash: emailHash, CreatedAt: now}).
		On("CONFLICT (workspace_id, email_hash) DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: mark erased: %w", err)
	}
	return nil
}

// IsErased tells whether an address (by its keyed hash) was erased from a workspace.
func IsErased(ctx context.Context, db bun.IDB, workspaceID int64, emailHash string) (bool, error) {
	ok, err := db.NewSelect().Model((*models.ErasedEmail)(nil)).
		Where("workspace_id = ? AND email_hash = ?", workspaceID, emailHash).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("store: is erased: %w", err)
	}
	return ok, nil
}

// ErasedAmong returns which of the hashes were erased from a workspace (one query for a batch of signups).
func ErasedAmong(ctx context.Context, db bun.IDB, workspaceID int64, emailHashes []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(emailHashes) == 0 {
		return out, nil
	}
	var found []string
	err := db.NewSelect().Model((*models.ErasedEmail)(nil)).Column("email_hash").
		Where("workspace_id = ? AND email_hash IN (?)", workspaceID, bun.In(emailHashes)).Scan(ctx, &found)
	if err != nil {
		return nil, fmt.Errorf("store: erased among: %w", err)
	}
	for _, h := range found {
		out[h] = true
	}
	return out, nil
}

// ForgetErased lifts the mark when the fan signs up again with fresh, explicit consent.
func ForgetErased(ctx context.Context, db bun.IDB, workspaceID int64, emailHash string) error {
	_, err := db.NewDelete().Model((*models.ErasedEmail)(nil)).
		Where("workspace_id = ? AND email_hash = ?", workspaceID, emailHash).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: forget erased: %w", err)
	}
	return nil
}

// CreateFanToken stores a fan's proof-of-address token (its hash).
func CreateFanToken(ctx context.Context, db bun.IDB, t *models.FanToken) error {
	if _, err := db.NewInsert().Model(t).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("store: create fan token: %w", err)
	}
	return nil
}

// TakeFanEmailToken spends an emailed link: it works once, before it expires.
func TakeFanEmailToken(ctx context.Context, db bun.IDB, tokenHash string, now time.Time) (*models.FanToken, error) {
	t := new(models.FanToken)
	res, err := db.NewUpdate().Model(t).Set("used_at = ?", now).
		Where("token_hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ?", tokenHash, models.FanTokenEmail, now).
		Returning("*").Exec(ctx)
	if err := mustAffect("take fan token", res, err); err != nil {
		return nil, err
	}
	return t, nil
}

// FanToken finds a live token of a kind without spending it.
func FanToken(ctx context.Context, db bun.IDB, kind, tokenHash string, now time.Time) (*models.FanToken, error) {
	t := new(models.FanToken)
	err := db.NewSelect().Model(t).
		Where("token_hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ?", tokenHash, kind, now).Scan(ctx)
	if err != nil {
		return nil, notFound("fan token", err)
	}
	return t, nil
}

// DeleteExpiredFanTokens is housekeeping.
func DeleteExpiredFanTokens(ctx context.Context, db bun.IDB, now time.Time) (int64, error) {
	res, err := db.NewDelete().Model((*models.FanToken)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: delete expired fan tokens: %w", err)
	}
	return res.RowsAffected()
}
