package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// UpsertSubscriber inserts the subscriber or, when the email is already in the
// workspace, records the new preference and fresh consent on the existing row.
// s.ID and s.CreatedAt are filled from the stored row either way.
func UpsertSubscriber(ctx context.Context, db bun.IDB, s *models.Subscriber) error {
	_, err := upsertSubscribers(db, s).Returning("id, created_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: upsert subscriber: %w", err)
	}
	return nil
}

// upsertSubscribers inserts one subscriber or a slice of them; an email
// already in the workspace gets the new preference and status instead.
func upsertSubscribers(db bun.IDB, model any) *bun.InsertQuery {
	return db.NewInsert().Model(model).
		On("CONFLICT (workspace_id, email) DO UPDATE").
		Set("platform = EXCLUDED.platform").
		Set("status = EXCLUDED.status").
		Set("updated_at = EXCLUDED.updated_at")
}

// upsertSignups inserts one signup or a slice of them; signing up again
// through the same link refreshes the consent record.
func upsertSignups(db bun.IDB, model any) *bun.InsertQuery {
	return db.NewInsert().Model(model).
		On("CONFLICT (link_id, subscriber_id) DO UPDATE").
		Set("platform = EXCLUDED.platform").
		Set("ip = EXCLUDED.ip").
		Set("user_agent = EXCLUDED.user_agent").
		Set("consent_version = EXCLUDED.consent_version").
		Set("consent_text_id = EXCLUDED.consent_text_id").
		Set("consented_at = EXCLUDED.consented_at")
}

// UpsertSignup records the consent of a subscriber through a link; signing up
// again through the same link refreshes the consent record instead of adding one.
func UpsertSignup(ctx context.Context, db bun.IDB, s *models.Signup) error {
	_, err := upsertSignups(db, s).Returning("id, created_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: upsert signup: %w", err)
	}
	return nil
}

// UpsertSubscribers is UpsertSubscriber for many rows in one statement; the
// rows must be distinct by (workspace, email). Each row's ID and CreatedAt
// are filled from the stored row.
func UpsertSubscribers(ctx context.Context, db bun.IDB, subs []*models.Subscriber) error {
	if len(subs) == 0 {
		return nil
	}
	var got []struct {
		ID          int64     `bun:"id"`
		WorkspaceID int64     `bun:"workspace_id"`
		Email       string    `bun:"email"`
		CreatedAt   time.Time `bun:"created_at"`
	}
	// Matched back by (workspace, email): RETURNING's order is not promised.
	_, err := upsertSubscribers(db, &subs).Returning("id, workspace_id, email, created_at").Exec(ctx, &got)
	if err != nil {
		return fmt.Errorf("store: upsert subscribers: %w", err)
	}
	type key struct {
		ws    int64
		email string
	}
	by := make(map[key]int, len(subs))
	for i, s := range subs {
		by[key{s.WorkspaceID, s.Email}] = i
	}
	for _, g := range got {
		if i, ok := by[key{g.WorkspaceID, g.Email}]; ok {
			subs[i].ID, subs[i].CreatedAt = g.ID, g.CreatedAt
		}
	}
	for _, s := range subs {
		if s.ID == 0 {
			return fmt.Errorf("store: upsert subscribers: no id returned for a row")
		}
	}
	return nil
}

// UpsertSignups is UpsertSignup for many rows in one statement; the rows
// must be distinct by (link, subscriber).
func UpsertSignups(ctx context.Context, db bun.IDB, ss []*models.Signup) error {
	if len(ss) == 0 {
		return nil
	}
	_, err := upsertSignups(db, &ss).Returning("NULL").Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: upsert signups: %w", err)
	}
	return nil
}

// SignupFilter pages a link's subscribers.
type SignupFilter struct {
	Limit  int // default 50, at most 500
	Offset int
}

// LinkSignups lists the signups of a link in a workspace with their subscribers, newest first.
func LinkSignups(ctx context.Context, db bun.IDB, workspaceID, linkID int64, f SignupFilter) ([]models.Signup, int, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	var ss []models.Signup
	total, err := db.NewSelect().Model(&ss).Relation("Subscriber").
		Where("signup.workspace_id = ? AND signup.link_id = ?", workspaceID, linkID).
		OrderExpr("signup.consented_at DESC, signup.id DESC").
		Limit(int64(f.Limit)).Offset(int64(f.Offset)).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list signups: %w", err)
	}
	return ss, int(total), nil
}

// CountSubscribers counts a workspace's subscribers (all statuses).
func CountSubscribers(ctx context.Context, db bun.IDB, workspaceID int64) (int, error) {
	n, err := db.NewSelect().Model((*models.Subscriber)(nil)).Where("workspace_id = ?", workspaceID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: count subscribers: %w", err)
	}
	return int(n), nil
}

// SubscriberByID returns one subscriber.
func SubscriberByID(ctx context.Context, db bun.IDB, id int64) (*models.Subscriber, error) {
	s := new(models.Subscriber)
	if err := db.NewSelect().Model(s).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound("subscriber", err)
	}
	return s, nil
}

// SetSubscriberStatus moves a subscriber to status and reports whether it
// changed (false when it was there already, so a repeat is harmless).
func SetSubscriberStatus(ctx context.Context, db bun.IDB, id int64, status string, now time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*models.Subscriber)(nil)).
		Set("status = ?", status).Set("updated_at = ?", now).
		Where("id = ? AND status <> ?", id, status).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: set subscriber status: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// statusExpr is a subscriber's status as the admin sees it: a suppression
// (hard bounce, complaint) wins over the stored active/unsubscribed, because
// it is what decides whether mail can reach the address at all. The
// suppression is looked up per row (a primary-key probe) rather than joined, so
// that a LIMIT on the list or an export batch stops the scan early.
const statusExpr = "CASE (SELECT x.reason FROM suppressions AS x WHERE x.email = s.email) " +
	"WHEN 'complaint' THEN 'complained' WHEN 'bounce' THEN 'bounced' ELSE s.status END"

// SubscriberFilter narrows the workspace's subscriber list and its export.
// Zero values mean "any".
type SubscriberFilter struct {
	// Status is one of models.SubscriberStatuses (stored or derived).
	Status string
	// LinkID keeps subscribers who signed up through this link; a link of
	// another workspace matches nothing, because signups carry the subscriber.
	LinkID   int64
	Platform string
	// Search matches part of the email, case-insensitively.
	Search string
	Limit  int // the list's page size: default 50, at most 200
	Offset int
}

// subscribers is the filtered FROM of the list, its count and its export: subscribers AS s.
func subscribers(db bun.IDB, workspaceID int64, f SubscriberFilter) *bun.SelectQuery {
	q := db.NewSelect().TableExpr("subscribers AS s").Where("s.workspace_id = ?", workspaceID)
	const suppressed = "EXISTS (SELECT 1 FROM suppressions AS x WHERE x.email = s.email"
	switch f.Status {
	case models.SubscriberActive, models.SubscriberUnsubscribed:
		q = q.Where("s.status = ? AND NOT "+suppressed+")", f.Status)
	case models.SubscriberBounced:
		q = q.Where(suppressed+" AND x.reason = ?)", models.SuppressedBounce)
	case models.SubscriberComplained:
		q = q.Where(suppressed+" AND x.reason = ?)", models.SuppressedComplaint)
	}
	if f.Platform != "" {
		q = q.Where("s.platform = ?", f.Platform)
	}
	if s := strings.TrimSpace(f.Search); s != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(s)) + "%"
		q = q.Where(`LOWER(s.email) LIKE ? ESCAPE '\'`, like)
	}
	return q
}

// SubscriberRow is one line of the workspace's subscriber list.
type SubscriberRow struct {
	ID        int64     `bun:"id"`
	Email     string    `bun:"email"`
	Platform  string    `bun:"platform"`
	Status    string    `bun:"status"` // with suppressions: see statusExpr
	CreatedAt time.Time `bun:"created_at"`
	// Links counts the links the subscriber signed up through.
	Links int `bun:"links"`
	// The latest signup (by consent time) and its link; zero when there is none.
	LinkID      int64     `bun:"link_id"`
	LinkTitle   string    `bun:"link_title"`
	LinkSlug    string    `bun:"link_slug"`
	LinkZone    string    `bun:"link_zone"`
	ConsentedAt time.Time `bun:"consented_at"`
}

// ListSubscribers pages a workspace's subscribers, newest first, with the
// link of their latest signup and how many links they signed up through.
func ListSubscribers(ctx context.Context, db bun.IDB, workspaceID int64, f SubscriberFilter) ([]SubscriberRow, int, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	filtered := func() *bun.SelectQuery {
		q := subscribers(db, workspaceID, f)
		if f.LinkID != 0 {
			q = q.Where("EXISTS (SELECT 1 FROM signups AS f WHERE f.subscriber_id = s.id AND f.link_id = ?)", f.LinkID)
		}
		return q
	}
	total, err := filtered().Count(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("store: count subscribers: %w", err)
	}
	var out []SubscriberRow
	if total == 0 {
		return out, 0, nil
	}
	err = filtered().ColumnExpr("s.id, s.email, s.platform, s.created_at").
		ColumnExpr(statusExpr+" AS status").
		ColumnExpr("(SELECT COUNT(*) FROM signups AS c WHERE c.subscriber_id = s.id) AS links").
		ColumnExpr("l.id AS link_id, l.title AS link_title, l.slug AS link_slug, l.time_zone AS link_zone, g.consented_at").
		Join("LEFT JOIN signups AS g ON g.id = (SELECT g2.id FROM signups AS g2 WHERE g2.subscriber_id = s.id ORDER BY g2.consented_at DESC, g2.id DESC LIMIT 1)").
		Join("LEFT JOIN links AS l ON l.id = g.link_id").
		OrderExpr("s.id DESC").Limit(int64(f.Limit)).Offset(int64(f.Offset)).Scan(ctx, &out)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list subscribers: %w", err)
	}
	return out, int(total), nil
}

// SubscriberCounts counts a workspace's subscribers by status (with
// suppressions, see statusExpr); "" holds the total.
func SubscriberCounts(ctx context.Context, db bun.IDB, workspaceID int64) (map[string]int, error) {
	var rows []struct {
		Status string `bun:"status"`
		Reason string `bun:"reason"`
		N      int    `bun:"n"`
	}
	err := subscribers(db, workspaceID, SubscriberFilter{}).
		Join("LEFT JOIN suppressions AS x ON x.email = s.email").
		ColumnExpr("s.status, COALESCE(x.reason, '') AS reason, COUNT(*) AS n").
		GroupExpr("s.status, x.reason").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("store: subscriber counts: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		st := r.Status
		switch r.Reason {
		case models.SuppressedBounce:
			st = models.SubscriberBounced
		case models.SuppressedComplaint:
			st = models.SubscriberComplained
		}
		out[st] += r.N
		out[""] += r.N
	}
	return out, nil
}

// ExportRow is one consent record of the CSV export: a subscriber and one of
// their signups (a subscriber without any signup, whose links were deleted,
// has an empty signup half).
type ExportRow struct {
	SubscriberID   int64     `bun:"subscriber_id"`
	SignupID       int64     `bun:"signup_id"`
	Email          string    `bun:"email"`
	Status         string    `bun:"status"`
	Platform       string    `bun:"platform"`
	SubscribedAt   time.Time `bun:"subscribed_at"`
	LinkSlug       string    `bun:"link_slug"`
	LinkTitle      string    `bun:"link_title"`
	SignupPlatform string    `bun:"signup_platform"`
	IP             string    `bun:"ip"`
	UserAgent      string    `bun:"user_agent"`
	ConsentVersion string    `bun:"consent_version"`
	ConsentedAt    time.Time `bun:"consented_at"`
}

// ExportComment marks the export's batch queries (tests count them).
const ExportComment = "subscriber export batch"

// ExportPage is one batch of the export.
type ExportPage struct {
	Rows []ExportRow
	// Last is the last subscriber in the batch: the next batch starts after it.
	Last int64
	// Done says there is nothing after this batch.
	Done bool
}

// ExportBatch returns the signups of the next limit subscribers after the
// subscriber id after, in (subscriber id, signup id) order: keyset pagination,
// so each batch costs the same however deep the export is and nothing is held
// between batches. The subscribers are picked first, in a subquery with its own
// LIMIT, so that no plan (even one without statistics, right after a bulk
// import) joins more than one batch. With f.LinkID only that link's signups
// are exported.
func ExportBatch(ctx context.Context, db bun.IDB, workspaceID int64, f SubscriberFilter, after int64, limit int) (ExportPage, error) {
	batch := subscribers(db, workspaceID, f).
		ColumnExpr("s.id, s.email, s.platform, s.created_at").ColumnExpr(statusExpr+" AS status").
		Where("s.id > ?", after).OrderExpr("s.id").Limit(int64(limit))
	if f.LinkID != 0 {
		batch = batch.Where("EXISTS (SELECT 1 FROM signups AS f WHERE f.subscriber_id = s.id AND f.link_id = ?)", f.LinkID)
	}
	q := db.NewSelect().Comment(ExportComment).TableExpr("(?) AS s", batch)
	if f.LinkID != 0 {
		q = q.Join("JOIN signups AS g ON g.subscriber_id = s.id AND g.link_id = ?", f.LinkID)
	} else {
		q = q.Join("LEFT JOIN signups AS g ON g.subscriber_id = s.id")
	}
	var p ExportPage
	err := q.Join("LEFT JOIN links AS l ON l.id = g.link_id").
		ColumnExpr("s.id AS subscriber_id, COALESCE(g.id, 0) AS signup_id, s.email, s.platform, s.created_at AS subscribed_at, s.status").
		ColumnExpr("l.slug AS link_slug, l.title AS link_title").
		ColumnExpr("g.platform AS signup_platform, g.ip, g.user_agent, g.consent_version, g.consented_at").
		OrderExpr("s.id, g.id").Scan(ctx, &p.Rows)
	if err != nil {
		return ExportPage{}, fmt.Errorf("store: export subscribers: %w", err)
	}
	// Every picked subscriber has at least one row (LEFT JOIN, or EXISTS for a link).
	n := 0
	for i, r := range p.Rows {
		if i == 0 || r.SubscriberID != p.Rows[i-1].SubscriberID {
			n++
		}
	}
	if n > 0 {
		p.Last = p.Rows[len(p.Rows)-1].SubscriberID
	}
	p.Done = n < limit
	return p, nil
}

// SignupBucket counts a link's signups in one 15-minute slot starting at Start (UTC).
type SignupBucket struct {
	Start time.Time
	N     int
}

// SignupBuckets counts a link's signups consented at or after since, in
// 15-minute slots. Slots rather than days so that the caller can fold them
// into days of any time zone exactly (every zone's offset is a multiple of
// 15 minutes): SQLite knows no zones, and the rows stay bounded (≤ 96 a day).
func SignupBuckets(ctx context.Context, db bun.IDB, workspaceID, linkID int64, since time.Time) ([]SignupBucket, error) {
	slot := "CAST(strftime('%s', consented_at) AS INTEGER) / 900"
	if db.Dialect().Name().String() == "pg" {
		slot = "CAST(FLOOR(EXTRACT(EPOCH FROM consented_at) / 900) AS BIGINT)"
	}
	var rows []struct {
		Slot int64 `bun:"slot"`
		N    int   `bun:"n"`
	}
	err := db.NewSelect().TableExpr("signups").
		ColumnExpr(slot+" AS slot, COUNT(*) AS n").
		Where("workspace_id = ? AND link_id = ? AND consented_at >= ?", workspaceID, linkID, since).
		GroupExpr("slot").OrderExpr("slot").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("store: signups per slot: %w", err)
	}
	out := make([]SignupBucket, len(rows))
	for i, r := range rows {
		out[i] = SignupBucket{Start: time.Unix(r.Slot*900, 0).UTC(), N: r.N}
	}
	return out, nil
}
