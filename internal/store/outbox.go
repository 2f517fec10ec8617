package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// InsertOutbox stores messages the outbox driver kept.
func InsertOutbox(ctx context.Context, db bun.IDB, ms []models.OutboxMessage) error {
	if _, err := db.NewInsert().Model(&ms).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("store: insert outbox: %w", err)
	}
	return nil
}

// OutboxByKey returns the messages stored under an idempotency key, in order.
func OutboxByKey(ctx context.Context, db bun.IDB, key string) ([]models.OutboxMessage, error) {
	var ms []models.OutboxMessage
	if err := db.NewSelect().Model(&ms).Where("idempotency_key = ?", key).OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: outbox by key: %w", err)
	}
	return ms, nil
}

// OutboxFilter pages a workspace's outbox.
type OutboxFilter struct {
	Recipient string // exact address (case-insensitive), "" for all
	Limit     int    // default 50, at most 200
	Offset    int
}

// ListOutbox lists the messages stored on a workspace's behalf, newest
// first, without their bodies. Account email (no workspace) is never listed.
func ListOutbox(ctx context.Context, db bun.IDB, workspaceID int64, f OutboxFilter) ([]models.OutboxMessage, int, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var ms []models.OutboxMessage
	q := db.NewSelect().Model(&ms).Column("id", "workspace_id", "message_id", "sender", "recipient", "subject", "created_at").
		Where("workspace_id = ?", workspaceID).
		OrderExpr("id DESC").Limit(int64(f.Limit)).Offset(int64(f.Offset))
	if f.Recipient != "" {
		q = q.Where("lower(recipient) = lower(?)", f.Recipient)
	}
	n, err := q.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list outbox: %w", err)
	}
	return ms, int(n), nil
}

// OutboxMessage returns one stored message by its message id, whoever it
// was sent for (the driver's own lookups; the panel uses WorkspaceOutboxMessage).
func OutboxMessage(ctx context.Context, db bun.IDB, messageID string) (*models.OutboxMessage, error) {
	m := new(models.OutboxMessage)
	if err := db.NewSelect().Model(m).Where("message_id = ?", messageID).Scan(ctx); err != nil {
		return nil, notFound("outbox message", err)
	}
	return m, nil
}

// WorkspaceOutboxMessage returns one message of a workspace's outbox by its
// row id; another workspace's message (or an account email) is ErrNotFound.
func WorkspaceOutboxMessage(ctx context.Context, db bun.IDB, workspaceID, id int64) (*models.OutboxMessage, error) {
	m := new(models.OutboxMessage)
	if err := db.NewSelect().Model(m).Where("id = ? AND workspace_id = ?", id, workspaceID).Scan(ctx); err != nil {
		return nil, notFound("outbox message", err)
	}
	return m, nil
}
