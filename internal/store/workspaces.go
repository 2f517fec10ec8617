package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// CreateWorkspace inserts w.
func CreateWorkspace(ctx context.Context, db bun.IDB, w *models.Workspace) error {
	if _, err := db.NewInsert().Model(w).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("store: create workspace: %w", err)
	}
	return nil
}

// WorkspaceByID finds a workspace.
func WorkspaceByID(ctx context.Context, db bun.IDB, id int64) (*models.Workspace, error) {
	w := new(models.Workspace)
	if err := db.NewSelect().Model(w).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound("workspace", err)
	}
	return w, nil
}

// RenameWorkspace changes the workspace's display name.
func RenameWorkspace(ctx context.Context, db bun.IDB, id int64, name string) error {
	res, err := db.NewUpdate().Model((*models.Workspace)(nil)).Set("name = ?", name).Where("id = ?", id).Exec(ctx)
	return mustAffect("rename workspace", res, err)
}

// AddMember puts a user in a workspace; already a member is ErrConflict.
func AddMember(ctx context.Context, db bun.IDB, m *models.Member) error {
	if _, err := db.NewInsert().Model(m).Exec(ctx); err != nil {
		return conflict("add member", err)
	}
	return nil
}

// Membership returns the user's membership of the workspace, or ErrNotFound.
func Membership(ctx context.Context, db bun.IDB, workspaceID, userID int64) (*models.Member, error) {
	m := new(models.Member)
	err := db.NewSelect().Model(m).Relation("Workspace").
		Where("member.workspace_id = ? AND member.user_id = ?", workspaceID, userID).Scan(ctx)
	if err != nil {
		return nil, notFound("membership", err)
	}
	return m, nil
}

// Members lists a workspace's members with their users, owners first.
func Members(ctx context.Context, db bun.IDB, workspaceID int64) ([]models.Member, error) {
	var ms []models.Member
	err := db.NewSelect().Model(&ms).Relation("User").
		Where("member.workspace_id = ?", workspaceID).
		OrderExpr("member.role = 'owner' DESC, member.created_at, member.user_id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list members: %w", err)
	}
	return ms, nil
}

// WorkspacesOf lists the workspaces a user belongs to, oldest first.
func WorkspacesOf(ctx context.Context, db bun.IDB, userID int64) ([]models.Member, error) {
	var ms []models.Member
	err := db.NewSelect().Model(&ms).Relation("Workspace").
		Where("member.user_id = ?", userID).OrderExpr("member.created_at, member.workspace_id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list workspaces: %w", err)
	}
	return ms, nil
}

// RemoveMember takes a user out of a workspace. Removing the last owner is
// ErrLastOwner; call it inside a transaction so the check and delete agree.
func RemoveMember(ctx context.Context, db bun.IDB, workspaceID, userID int64) error {
	m, err := Membership(ctx, db, workspaceID, userID)
	if err != nil {
		return err
	}
	if m.Role == models.RoleOwner {
		owners, err := db.NewSelect().Model((*models.Member)(nil)).
			Where("workspace_id = ? AND role = ?", workspaceID, models.RoleOwner).Count(ctx)
		if err != nil {
			return fmt.Errorf("store: count owners: %w", err)
		}
		if owners <= 1 {
			return fmt.Errorf("store: remove member: %w", ErrLastOwner)
		}
	}
	res, err := db.NewDelete().Model((*models.Member)(nil)).
		Where("workspace_id = ? AND user_id = ?", workspaceID, userID).Exec(ctx)
	if err := mustAffect("remove member", res, err); err != nil {
		return err
	}
	// Their sessions in this workspace end with the membership.
	if _, err := db.NewDelete().Model((*models.Session)(nil)).
		Where("workspace_id = ? AND user_id = ?", workspaceID, userID).Exec(ctx); err != nil {
		return fmt.Errorf("store: end removed member's sessions: %w", err)
	}
	return nil
}
