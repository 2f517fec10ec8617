package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// RecordWebhookEvent notes a webhook delivery by its id and reports whether
// it is new: false means it was seen before (a retry or a replay), and the
// caller must change nothing. Run it in the transaction of the event's
// effect, so an effect that fails leaves the id unrecorded for the retry.
func RecordWebhookEvent(ctx context.Context, db bun.IDB, id, typ string, now time.Time) (bool, error) {
	res, err := db.NewInsert().Model(&models.WebhookEvent{ID: id, Type: typ, ReceivedAt: now}).
		On("CONFLICT (id) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: record webhook event: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
