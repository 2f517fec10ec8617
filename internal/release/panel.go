package release

import (
	"time"

	"github.com/dropday/dropday/internal/store"
)

// DeliveryKey is the unique key of the delivery job for one consent of a
// pre-save, so the presave panel can show each row's attempts.
func DeliveryKey(presaveID int64, consentedAt time.Time) string {
	return deliveryKey(store.PendingPresave{ID: presaveID, ConsentedAt: consentedAt})
}
