package release

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/presave"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

func deliveryKey(p store.PendingPresave) string { return presave.DeliveryKey(p.ID, p.ConsentedAt) }

// EnqueueDeliveries enqueues one delivery per pending pre-save of the link,
// in batches, idempotently. It returns how many new jobs it added.
func EnqueueDeliveries(ctx context.Context, db bun.IDB, linkID int64, now time.Time) (int, error) {
	added := 0
	var after int64
	for {
		page, err := store.PendingPresaves(ctx, db, linkID, after, jobs.BatchSize)
		if err != nil {
			return added, err
		}
		if len(page) == 0 {
			return added, nil
		}
		items := make([]jobs.Item, len(page))
		for i, p := range page {
			items[i] = presave.DeliveryItem(p.ID, p.ConsentedAt)
			after = p.ID
		}
		n, err := jobs.EnqueueMany(ctx, db, now, items)
		if err != nil {
			return added, fmt.Errorf("release: enqueue deliveries: %w", err)
		}
		added += n
	}
}

// Notifier wakes the workers after an enqueue (the jobs.Runner).
type Notifier interface{ Notify() }

// DeliverNow starts delivery of a live or released link at once, before its
// release time if need be (testing, a soft launch). A second press while a run
// is under way adds nothing.
func DeliverNow(ctx context.Context, db bun.IDB, l *models.Link, now time.Time, n Notifier) (int, error) {
	if l.State != models.LinkLive && l.State != models.LinkReleased {
		return 0, ErrNotDeliverable
	}
	added, err := EnqueueDeliveries(ctx, db, l.ID, now)
	if added > 0 && n != nil {
		n.Notify()
	}
	return added, err
}

// ErrNotDeliverable: drafts and archived links deliver nothing.
var ErrNotDeliverable = fmt.Errorf("release: only live or released links can deliver")
