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

// OutboxFilter pages the outbox.
type OutboxFilter struct {
	Recipient string // exact address, "" for all
	Limit     int    // default 50, at most 200
	Offset    int
}

// ListOutbox lists stored messages, newest first, without their bodies.
func ListOutbox(ctx context.Context, db bun.IDB, f OutboxFilter) ([]models.OutboxMessage, int, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var ms []models.OutboxMessage
	q := db.NewSelect().Model(&ms).Column("id", "message_id", "sender", "recipient", "subject", "created_at").
		OrderExpr("id DESC").Limit(int64(f.Limit)).Offset(int64(f.Offset))
	if f.Recipient != "" {
		q = q.Where("recipient = ?", f.Recipient)
	}
	n, err := q.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list outbox: %w", err)
	}
	return ms, int(n), nil
}

// OutboxMessage returns one stored message by its message id.
func OutboxMessage(ctx context.Context, db bun.IDB, messageID string) (*models.OutboxMessage, error) {
	m := new(models.OutboxMessage)
	if err := db.NewSelect().Model(m).Where("message_id = ?", messageID).Scan(ctx); err != nil {
		return nil, notFound("outbox message", err)
	}
	return m, nil
}
