package presave

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/models"
)

// KindDeliver is the job that saves one pre-save's release into the fan's
// library (worked by the release package). It is named here so a consent
// given after the release can enqueue its delivery in the same transaction.
const KindDeliver = "presave.deliver"

// DeliverPayload is a delivery job's payload.
type DeliverPayload struct {
	PresaveID int64 `json:"presave_id"`
}

// DeliveryKey makes each consent delivered once: enqueuing the same pending
// pre-save again (the scheduler's next tick, a second "deliver now") is a
// no-op, while a fresh consent after a revoke is a new delivery.
func DeliveryKey(presaveID int64, consentedAt time.Time) string {
	return "deliver:" + strconv.FormatInt(presaveID, 10) + ":" + strconv.FormatInt(consentedAt.UnixMicro(), 36)
}

// DeliveryItem is the delivery job of one pending pre-save.
func DeliveryItem(presaveID int64, consentedAt time.Time) jobs.Item {
	return jobs.Item{Kind: KindDeliver, Payload: DeliverPayload{PresaveID: presaveID},
		Opts: jobs.Opts{UniqueKey: DeliveryKey(presaveID, consentedAt)}}
}

// released tells whether a consent now is after the link's release: then
// the save happens at once instead of at a release run.
func released(l *models.Link, now time.Time) bool {
	return l.State == models.LinkReleased || !now.Before(l.ReleaseAt)
}

// enqueueDelivery adds the delivery of a consent given after the release, in
// the caller's transaction, so it cannot be lost between the two.
func enqueueDelivery(ctx context.Context, db bun.IDB, p *models.Presave, now time.Time) error {
	it := DeliveryItem(p.ID, p.ConsentedAt)
	if _, _, err := jobs.Enqueue(ctx, db, now, it.Kind, it.Payload, it.Opts); err != nil {
		return fmt.Errorf("presave: enqueue delivery: %w", err)
	}
	return nil
}
