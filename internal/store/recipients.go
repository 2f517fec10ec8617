package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// Audience is one subscriber a broadcast goes to.
type Audience struct {
	SubscriberID int64  `bun:"subscriber_id"`
	Email        string `bun:"email"`
	Platform     string `bun:"platform"`
	PresaveID    *int64 `bun:"presave_id"`
}

// BroadcastAudience pages the subscribers a link's broadcast goes to: those
// who signed up through the link (email signup, or a pre-save with the box
// ticked), still active, and not suppressed (hard bounce, complaint); with
// the fan's live pre-save on that link, if any, for the revoke link.
func BroadcastAudience(ctx context.Context, db bun.IDB, linkID, afterSubscriberID int64, limit int) ([]Audience, error) {
	var out []Audience
	err := db.NewSelect().TableExpr("signups AS g").
		Join("JOIN subscribers AS s ON s.id = g.subscriber_id").
		ColumnExpr("s.id AS subscriber_id, s.email, s.platform").
		ColumnExpr("(SELECT MIN(p.id) FROM presaves AS p WHERE p.link_id = g.link_id AND p.email = s.email AND p.state IN (?, ?)) AS presave_id",
			models.PresavePending, models.PresaveDelivered).
		Where("g.link_id = ? AND s.status = ? AND s.id > ?", linkID, models.SubscriberActive, afterSubscriberID).
		Where("NOT EXISTS (SELECT 1 FROM suppressions AS x WHERE x.email = s.email)").
		OrderExpr("s.id").Limit(int64(limit)).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("store: broadcast audience: %w", err)
	}
	return out, nil
}

// InsertRecipients adds recipients; one already there (same subscriber) is kept as it is.
func InsertRecipients(ctx context.Context, db bun.IDB, rs []models.Recipient) error {
	if len(rs) == 0 {
		return nil
	}
	if _, err := db.NewInsert().Model(&rs).On("CONFLICT (broadcast_id, subscriber_id) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("store: insert recipients: %w", err)
	}
	return nil
}

// RecipientsInBatch returns a batch's recipients in a stable order.
func RecipientsInBatch(ctx context.Context, db bun.IDB, broadcastID int64, batch int) ([]models.Recipient, error) {
	var rs []models.Recipient
	if err := db.NewSelect().Model(&rs).Where("broadcast_id = ? AND batch = ?", broadcastID, batch).OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: recipients in batch: %w", err)
	}
	return rs, nil
}

// RecordBatch checkpoints a sent batch in one transaction: each recipient's
// state and message id, and the broadcast's next batch. It reports false
// when the checkpoint had moved already (another worker recorded it).
func RecordBatch(ctx context.Context, db bun.IDB, broadcastID int64, batch int, rs []models.Recipient, now time.Time) (bool, error) {
	moved := false
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*models.Broadcast)(nil)).
			Set("next_batch = ?", batch+1).Set("updated_at = ?", now).
			Where("id = ? AND next_batch = ?", broadcastID, batch).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		moved = true
		for i := range rs {
			if _, err := tx.NewUpdate().Model(&rs[i]).
				Column("state", "message_id", "error", "sent_at", "updated_at").WherePK().
				Where("state = ?", models.RecipientQueued).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: record batch: %w", err)
	}
	return moved, nil
}

// RecipientCounts counts a broadcast's recipients by state.
func RecipientCounts(ctx context.Context, db bun.IDB, broadcastID int64) (map[string]int, error) {
	var rows []struct {
		State string `bun:"state"`
		N     int    `bun:"n"`
	}
	err := db.NewSelect().Model((*models.Recipient)(nil)).ColumnExpr("state, COUNT(*) AS n").
		Where("broadcast_id = ?", broadcastID).GroupExpr("state").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("store: recipient counts: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// RecipientByUnsubscribeToken finds the recipient whose email carried the
// unsubscribe token with this hash.
func RecipientByUnsubscribeToken(ctx context.Context, db bun.IDB, tokenHash string) (*models.Recipient, error) {
	r := new(models.Recipient)
	if err := db.NewSelect().Model(r).Where("unsubscribe_token_hash = ?", tokenHash).Limit(1).Scan(ctx); err != nil {
		return nil, notFound("recipient", err)
	}
	return r, nil
}

// RecipientByMessageID finds the recipient of the mail service's message id
// (what its webhooks name).
func RecipientByMessageID(ctx context.Context, db bun.IDB, messageID string) (*models.Recipient, error) {
	if messageID == "" {
		return nil, fmt.Errorf("store: recipient by message id: %w", ErrNotFound)
	}
	r := new(models.Recipient)
	if err := db.NewSelect().Model(r).Where("message_id = ?", messageID).OrderExpr("id").Limit(1).Scan(ctx); err != nil {
		return nil, notFound("recipient", err)
	}
	return r, nil
}

// AdvanceRecipient moves a recipient to state, only from one of the states
// in from (the caller's ordering decides which), and reports whether it
// moved. detail, when not empty, is kept as the recipient's error (a bounce's
// reason). The condition is in the UPDATE so concurrent events cannot move
// a row backwards between a read and a write.
func AdvanceRecipient(ctx context.Context, db bun.IDB, id int64, state string, from []string, detail string, now time.Time) (bool, error) {
	if len(from) == 0 {
		return false, nil
	}
	q := db.NewUpdate().Model((*models.Recipient)(nil)).
		Set("state = ?", state).Set("updated_at = ?", now).
		Where("id = ? AND state IN (?)", id, bun.In(from))
	if detail != "" {
		q = q.Set("error = ?", detail)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: advance recipient: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CountBroadcastAudience counts the subscribers a link's broadcast would go
// to now (the same rules as BroadcastAudience), for the panel's "goes to N".
func CountBroadcastAudience(ctx context.Context, db bun.IDB, linkID int64) (int, error) {
	n, err := db.NewSelect().TableExpr("signups AS g").
		Join("JOIN subscribers AS s ON s.id = g.subscriber_id").
		Where("g.link_id = ? AND s.status = ?", linkID, models.SubscriberActive).
		Where("NOT EXISTS (SELECT 1 FROM suppressions AS x WHERE x.email = s.email)").
		Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: count broadcast audience: %w", err)
	}
	return int(n), nil
}

// RecipientCountsByBroadcast counts the recipients of several broadcasts by
// state (the Broadcasts list), in one query.
func RecipientCountsByBroadcast(ctx context.Context, db bun.IDB, ids []int64) (map[int64]map[string]int, error) {
	out := make(map[int64]map[string]int, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		BroadcastID int64  `bun:"broadcast_id"`
		State       string `bun:"state"`
		N           int    `bun:"n"`
	}
	err := db.NewSelect().Model((*models.Recipient)(nil)).ColumnExpr("broadcast_id, state, COUNT(*) AS n").
		Where("broadcast_id IN (?)", bun.In(ids)).GroupExpr("broadcast_id, state").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("store: recipient counts by broadcast: %w", err)
	}
	for _, r := range rows {
		if out[r.BroadcastID] == nil {
			out[r.BroadcastID] = map[string]int{}
		}
		out[r.BroadcastID][r.State] = r.N
	}
	return out, nil
}
