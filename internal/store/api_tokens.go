package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// CreateAPIToken stores a token's hash.
func CreateAPIToken(ctx context.Context, db bun.IDB, t *models.APIToken) error {
	if _, err := db.NewInsert().Model(t).Returning("id").Exec(ctx); err != nil {
		return conflict("create api token", err)
	}
	return nil
}

// APITokenByHash authenticates an API call.
func APITokenByHash(ctx context.Context, db bun.IDB, tokenHash string) (*models.APIToken, error) {
	t := new(models.APIToken)
	if err := db.NewSelect().Model(t).Where("token_hash = ?", tokenHash).Scan(ctx); err != nil {
		return nil, notFound("api token", err)
	}
	return t, nil
}

// TouchAPIToken records the token's last use.
func TouchAPIToken(ctx context.Context, db bun.IDB, id int64, now time.Time) error {
	if _, err := db.NewUpdate().Model((*models.APIToken)(nil)).Set("last_used_at = ?", now).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("store: touch api token: %w", err)
	}
	return nil
}

// APITokens lists a workspace's tokens, newest first.
func APITokens(ctx context.Context, db bun.IDB, workspaceID int64) ([]models.APIToken, error) {
	var ts []models.APIToken
	if err := db.NewSelect().Model(&ts).Where("workspace_id = ?", workspaceID).OrderExpr("created_at DESC, id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list api tokens: %w", err)
	}
	return ts, nil
}

// DeleteAPIToken revokes a token within its workspace.
func DeleteAPIToken(ctx context.Context, db bun.IDB, workspaceID, id int64) error {
	res, err := db.NewDelete().Model((*models.APIToken)(nil)).Where("id = ? AND workspace_id = ?", id, workspaceID).Exec(ctx)
	return mustAffect("delete api token", res, err)
}
