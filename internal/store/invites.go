package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// CreateInvite stores an invitation (the token only as its hash).
func CreateInvite(ctx context.Context, db bun.IDB, in *models.Invite) error {
	if _, err := db.NewInsert().Model(in).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("store: create invite: %w", err)
	}
	return nil
}

// InviteByToken finds an open, unexpired invitation.
func InviteByToken(ctx context.Context, db bun.IDB, tokenHash string, now time.Time) (*models.Invite, error) {
	in := new(models.Invite)
	err := db.NewSelect().Model(in).
		Where("token_hash = ? AND accepted_at IS NULL AND expires_at > ?", tokenHash, now).Scan(ctx)
	if err != nil {
		return nil, notFound("invite", err)
	}
	return in, nil
}

// AcceptInvite marks an invitation used; a second use is ErrNotFound.
func AcceptInvite(ctx context.Context, db bun.IDB, id int64, now time.Time) error {
	res, err := db.NewUpdate().Model((*models.Invite)(nil)).Set("accepted_at = ?", now).
		Where("id = ? AND accepted_at IS NULL", id).Exec(ctx)
	return mustAffect("accept invite", res, err)
}

// PendingInvites lists a workspace's open invitations.
func PendingInvites(ctx context.Context, db bun.IDB, workspaceID int64, now time.Time) ([]models.Invite, error) {
	var ins []models.Invite
	err := db.NewSelect().Model(&ins).
		Where("workspace_id = ? AND accepted_at IS NULL AND expires_at > ?", workspaceID, now).
		Order("created_at").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list invites: %w", err)
	}
	return ins, nil
}

// DeleteInvite withdraws an invitation within its workspace.
func DeleteInvite(ctx context.Context, db bun.IDB, workspaceID, id int64) error {
	res, err := db.NewDelete().Model((*models.Invite)(nil)).Where("id = ? AND workspace_id = ?", id, workspaceID).Exec(ctx)
	return mustAffect("delete invite", res, err)
}
