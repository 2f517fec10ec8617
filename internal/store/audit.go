package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// The audit log has only these two functions on purpose: rows are written
// once and read, never updated or deleted by the application.

// Audit writes one entry; pass the transaction of the action it records.
func Audit(ctx context.Context, db bun.IDB, e *models.AuditEntry) error {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	e.CreatedAt = e.CreatedAt.UTC()
	if _, err := db.NewInsert().Model(e).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// AuditFilter narrows the audit log. Zero values mean "any".
type AuditFilter struct {
	// Action matches exactly, or every action under a prefix ending in "." ("fan.").
	Action string
	// From and To bound created_at: From ≤ t < To.
	From, To time.Time
	Limit    int // default 50, at most 200
	Offset   int
}

// AuditLog pages a workspace's entries, newest first, with the instance-wide
// ones (no workspace: key rotation), and the total.
func AuditLog(ctx context.Context, db bun.IDB, workspaceID int64, f AuditFilter) ([]models.AuditEntry, int, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var out []models.AuditEntry
	q := db.NewSelect().Model(&out).Where("(workspace_id = ? OR workspace_id IS NULL)", workspaceID)
	switch {
	case f.Action == "":
	case f.Action[len(f.Action)-1] == '.':
		q = q.Where("action LIKE ?", f.Action+"%")
	default:
		q = q.Where("action = ?", f.Action)
	}
	if !f.From.IsZero() {
		q = q.Where("created_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("created_at < ?", f.To.UTC())
	}
	n, err := q.OrderExpr("id DESC").Limit(int64(f.Limit)).Offset(int64(f.Offset)).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("store: audit log: %w", err)
	}
	return out, int(n), nil
}
