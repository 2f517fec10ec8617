package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// Account is a fan's account on a platform.
type Account struct {
	Platform string
	UserID   string
}

// FanPresaves returns a workspace's pre-saves made with any of these emails or
// platform accounts, oldest first. The credential column is left out.
func FanPresaves(ctx context.Context, db bun.IDB, workspaceID int64, emails []string, accounts []Account) ([]models.Presave, error) {
	var out []models.Presave
	if len(emails) == 0 && len(accounts) == 0 {
		return out, nil
	}
	q := db.NewSelect().Model(&out).ExcludeColumn("credential").Where("workspace_id = ?", workspaceID).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			if len(emails) > 0 {
				q = q.WhereOr("email IN (?)", bun.In(emails))
			}
			for _, a := range accounts {
				q = q.WhereOr("(platform = ? AND platform_user_id = ?)", a.Platform, a.UserID)
			}
			return q
		})
	if err := q.OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: fan presaves: %w", err)
	}
	return out, nil
}

// HoldsCredential lists which of these pre-saves still hold a sealed credential.
func HoldsCredential(ctx context.Context, db bun.IDB, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	var with []int64
	err := db.NewSelect().Model((*models.Presave)(nil)).Column("id").
		Where("id IN (?) AND credential IS NOT NULL", bun.In(ids)).Scan(ctx, &with)
	if err != nil {
		return nil, fmt.Errorf("store: presave credentials: %w", err)
	}
	for _, id := range with {
		out[id] = true
	}
	return out, nil
}

// SubscribersByEmail returns a workspace's subscribers with these emails.
func SubscribersByEmail(ctx context.Context, db bun.IDB, workspaceID int64, emails []string) ([]models.Subscriber, error) {
	var out []models.Subscriber
	if len(emails) == 0 {
		return out, nil
	}
	err := db.NewSelect().Model(&out).Where("workspace_id = ? AND email IN (?)", workspaceID, bun.In(emails)).
		OrderExpr("id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: subscribers by email: %w", err)
	}
	return out, nil
}

// SignupsOf returns the signups of these subscribers of a workspace, oldest first.
func SignupsOf(ctx context.Context, db bun.IDB, workspaceID int64, subscriberIDs []int64) ([]models.Signup, error) {
	var out []models.Signup
	if len(subscriberIDs) == 0 {
		return out, nil
	}
	err := db.NewSelect().Model(&out).Where("workspace_id = ? AND subscriber_id IN (?)", workspaceID, bun.In(subscriberIDs)).
		OrderExpr("consented_at, id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: signups of subscribers: %w", err)
	}
	return out, nil
}

// FanRecipient is one release-day email sent (or to be sent) to a fan.
type FanRecipient struct {
	models.Recipient `bun:",extend"`
	LinkID           int64  `bun:"link_id,scanonly"`
	Subject          string `bun:"subject,scanonly"`
}

// RecipientsOf returns the broadcast recipient rows of these subscribers or
// pre-saves within a workspace.
func RecipientsOf(ctx context.Context, db bun.IDB, workspaceID int64, subscriberIDs, presaveIDs []int64) ([]FanRecipient, error) {
	var out []FanRecipient
	if len(subscriberIDs) == 0 && len(presaveIDs) == 0 {
		return out, nil
	}
	q := db.NewSelect().Model(&out).ColumnExpr("r.*, b.link_id, b.subject").
		Join("JOIN broadcasts AS b ON b.id = r.broadcast_id").Where("b.workspace_id = ?", workspaceID).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			if len(subscriberIDs) > 0 {
				q = q.WhereOr("r.subscriber_id IN (?)", bun.In(subscriberIDs))
			}
			if len(presaveIDs) > 0 {
				q = q.WhereOr("r.presave_id IN (?)", bun.In(presaveIDs))
			}
			return q
		})
	if err := q.OrderExpr("r.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: recipients of fan: %w", err)
	}
	return out, nil
}

// OutboxTo returns the outbox messages of a workspace to these addresses.
func OutboxTo(ctx context.Context, db bun.IDB, workspaceID int64, emails []string) ([]models.OutboxMessage, error) {
	var out []models.OutboxMessage
	if len(emails) == 0 {
		return out, nil
	}
	err := db.NewSelect().Model(&out).Column("id", "recipient", "subject", "created_at").
		Where("workspace_id = ? AND LOWER(recipient) IN (?)", workspaceID, bun.In(emails)).OrderExpr("id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: outbox to fan: %w", err)
	}
	return out, nil
}

// PendingDeliveries counts the not-yet-finished delivery jobs of these pre-saves.
func PendingDeliveries(ctx context.Context, db bun.IDB, presaveIDs []int64) (int, error) {
	if len(presaveIDs) == 0 {
		return 0, nil
	}
	q := db.NewSelect().Table("jobs").Where("state IN ('available', 'running', 'retryable')")
	q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery { return keyMatch(q, presaveIDs) })
	n, err := q.Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: pending deliveries: %w", err)
	}
	return int(n), nil
}

// keyMatch matches the delivery jobs of these pre-saves by their unique key
// ("deliver:<presave id>:<consent>"), which the unique index serves.
func keyMatch[Q interface {
	WhereOr(string, ...any) Q
}](q Q, presaveIDs []int64) Q {
	for _, id := range presaveIDs {
		q = q.WhereOr("unique_key LIKE ?", "deliver:"+strconv.FormatInt(id, 10)+":%")
	}
	return q
}

// ErasedCounts says how many rows an erasure removed, per table.
type ErasedCounts map[string]int64

// EraseFan deletes every row of a workspace about these subscribers,
// pre-saves and addresses: broadcast recipients, signups, subscribers,
// delivery jobs, pre-saves (credentials with them), outbox messages and
// the fan's proof tokens. Run it in a transaction.
func EraseFan(ctx context.Context, db bun.IDB, workspaceID int64, subscriberIDs, presaveIDs []int64, emails []string) (ErasedCounts, error) {
	out := ErasedCounts{}
	del := func(table string, q *bun.DeleteQuery) error {
		res, err := q.Exec(ctx)
		if err != nil {
			return fmt.Errorf("store: erase fan: %s: %w", table, err)
		}
		n, _ := res.RowsAffected()
		out[table] += n
		return nil
	}
	if len(subscriberIDs) > 0 || len(presaveIDs) > 0 {
		q := db.NewDelete().TableExpr("broadcast_recipients").
			Where("broadcast_id IN (SELECT id FROM broadcasts WHERE workspace_id = ?)", workspaceID).
			WhereGroup(" AND ", func(q *bun.DeleteQuery) *bun.DeleteQuery {
				if len(subscriberIDs) > 0 {
					q = q.WhereOr("subscriber_id IN (?)", bun.In(subscriberIDs))
				}
				if len(presaveIDs) > 0 {
					q = q.WhereOr("presave_id IN (?)", bun.In(presaveIDs))
				}
				return q
			})
		if err := del("broadcast_recipients", q); err != nil {
			return nil, err
		}
	}
	if len(subscriberIDs) > 0 {
		if err := del("signups", db.NewDelete().TableExpr("signups").
			Where("workspace_id = ? AND subscriber_id IN (?)", workspaceID, bun.In(subscriberIDs))); err != nil {
			return nil, err
		}
		if err := del("subscribers", db.NewDelete().TableExpr("subscribers").
			Where("workspace_id = ? AND id IN (?)", workspaceID, bun.In(subscriberIDs))); err != nil {
			return nil, err
		}
	}
	if len(presaveIDs) > 0 {
		q := db.NewDelete().TableExpr("jobs").WhereGroup(" AND ", func(q *bun.DeleteQuery) *bun.DeleteQuery {
			return keyMatch(q, presaveIDs)
		})
		if err := del("jobs", q); err != nil {
			return nil, err
		}
		if err := del("presaves", db.NewDelete().TableExpr("presaves").
			Where("workspace_id = ? AND id IN (?)", workspaceID, bun.In(presaveIDs))); err != nil {
			return nil, err
		}
	}
	if len(emails) > 0 {
		if err := del("outbox_messages", db.NewDelete().TableExpr("outbox_messages").
			Where("workspace_id = ? AND LOWER(recipient) IN (?)", workspaceID, bun.In(emails))); err != nil {
			return nil, err
		}
		if err := del("fan_tokens", db.NewDelete().TableExpr("fan_tokens").
			Where("workspace_id = ? AND email IN (?)", workspaceID, bun.In(emails))); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CoarsenRow is a consent record whose IP or user agent is still precise.
type CoarsenRow struct {
	ID        int64  `bun:"id"`
	IP        string `bun:"ip"`
	UserAgent string `bun:"user_agent"`
}

// PreciseConsents pages (by id, after afterID) through a workspace's
// pre-saves or signups (table) of links released before cutoff whose IP or
// user agent is not coarse yet: coarse IPs hold a "/", coarse user agents
// are one of families.
func PreciseConsents(ctx context.Context, db bun.IDB, table string, workspaceID int64, cutoff time.Time, families []string, afterID int64, limit int) ([]CoarsenRow, error) {
	if table != "presaves" && table != "signups" {
		return nil, fmt.Errorf("store: precise consents: unknown table %q", table)
	}
	var out []CoarsenRow
	err := db.NewSelect().TableExpr(table+" AS c").ColumnExpr("c.id, c.ip, c.user_agent").
		Join("JOIN links AS l ON l.id = c.link_id").
		Where("c.workspace_id = ? AND l.release_at <= ? AND c.id > ?", workspaceID, cutoff, afterID).
		Where("((c.ip <> '' AND c.ip NOT LIKE '%/%') OR (c.user_agent <> '' AND c.user_agent NOT IN (?)))", bun.In(families)).
		OrderExpr("c.id").Limit(int64(limit)).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("store: precise consents: %w", err)
	}
	return out, nil
}

// SetConsentNetwork replaces a consent record's IP and user agent.
func SetConsentNetwork(ctx context.Context, db bun.IDB, table string, id int64, ip, ua string) error {
	if table != "presaves" && table != "signups" {
		return fmt.Errorf("store: coarsen: unknown table %q", table)
	}
	_, err := db.NewUpdate().TableExpr(table).Set("ip = ?", ip).Set("user_agent = ?", ua).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: coarsen %s: %w", table, err)
	}
	return nil
}

// PurgeArchivedPresaves deletes a workspace's pre-saves of links archived
// (last changed) before cutoff, with their delivery jobs' rows left to the
// jobs' own retention (they hold only the pre-save id). It returns the count.
func PurgeArchivedPresaves(ctx context.Context, db bun.IDB, workspaceID int64, cutoff time.Time) (int64, error) {
	res, err := db.NewDelete().TableExpr("presaves").
		Where("workspace_id = ? AND link_id IN (SELECT id FROM links WHERE workspace_id = ? AND state = ? AND updated_at <= ?)",
			workspaceID, workspaceID, models.LinkArchived, cutoff).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: purge archived presaves: %w", err)
	}
	return res.RowsAffected()
}

// AccountsByUserID returns the platform accounts with this id that pre-saved in a workspace.
func AccountsByUserID(ctx context.Context, db bun.IDB, workspaceID int64, userID string) ([]Account, error) {
	var rows []struct {
		Platform string `bun:"platform"`
		UserID   string `bun:"platform_user_id"`
	}
	err := db.NewSelect().Model((*models.Presave)(nil)).ColumnExpr("DISTINCT platform, platform_user_id").
		Where("workspace_id = ? AND platform_user_id = ?", workspaceID, userID).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("store: accounts by id: %w", err)
	}
	out := make([]Account, len(rows))
	for i, r := range rows {
		out[i] = Account{Platform: r.Platform, UserID: r.UserID}
	}
	return out, nil
}
