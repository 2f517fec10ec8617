package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Analytics rows. Days are UTC calendar days written "2006-01-02"; nothing
// here holds an IP address or a user agent.

type analyticsSalt struct {
	bun.BaseModel `bun:"table:analytics_salts,alias:s"`
	Day           string `bun:"day,pk"`
	Salt          string `bun:"salt,notnull"`
}

type analyticsView struct {
	bun.BaseModel `bun:"table:analytics_views,alias:v"`
	LinkID        int64  `bun:"link_id,pk"`
	Day           string `bun:"day,pk"`
	Views         int    `bun:"views,notnull"`
	Visitors      int    `bun:"visitors,notnull"`
}

type analyticsVisitor struct {
	bun.BaseModel `bun:"table:analytics_visitors,alias:av"`
	LinkID        int64  `bun:"link_id,pk"`
	Day           string `bun:"day,pk"`
	Visitor       string `bun:"visitor,pk"`
}

type analyticsSource struct {
	bun.BaseModel `bun:"table:analytics_sources,alias:src"`
	LinkID        int64  `bun:"link_id,pk"`
	Day           string `bun:"day,pk"`
	Kind          string `bun:"kind,pk"`
	Value         string `bun:"value,pk"`
	N             int    `bun:"n,notnull"`
}

type analyticsClick struct {
	bun.BaseModel `bun:"table:analytics_clicks,alias:ck"`
	LinkID        int64  `bun:"link_id,pk"`
	Day           string `bun:"day,pk"`
	Platform      string `bun:"platform,pk"`
	N             int    `bun:"n,notnull"`
}

// AnalyticsSalt returns the salt of day, storing fresh as that salt if the day
// has none yet. Instances racing at midnight all end up with the first one stored.
func AnalyticsSalt(ctx context.Context, db bun.IDB, day, fresh string) (string, error) {
	row := &analyticsSalt{Day: day, Salt: fresh}
	if _, err := db.NewInsert().Model(row).On("CONFLICT (day) DO NOTHING").Exec(ctx); err != nil {
		return "", fmt.Errorf("store: analytics salt: %w", err)
	}
	got := new(analyticsSalt)
	if err := db.NewSelect().Model(got).Where("day = ?", day).Scan(ctx); err != nil {
		return "", fmt.Errorf("store: analytics salt: %w", err)
	}
	return got.Salt, nil
}

// AnalyticsForget deletes the salts and visitor hashes of the days before day:
// afterwards only the counts of those days remain.
func AnalyticsForget(ctx context.Context, db bun.IDB, day string) error {
	if _, err := db.NewDelete().Model((*analyticsSalt)(nil)).Where("day < ?", day).Exec(ctx); err != nil {
		return fmt.Errorf("store: forget analytics salts: %w", err)
	}
	if _, err := db.NewDelete().Model((*analyticsVisitor)(nil)).Where("day < ?", day).Exec(ctx); err != nil {
		return fmt.Errorf("store: forget analytics visitors: %w", err)
	}
	return nil
}

// ViewCount is one link-day's page views and the visitor hashes seen with them.
type ViewCount struct {
	LinkID   int64
	Day      string
	Views    int
	Visitors []string
}

// SourceCount is how many views of a link-day came from one referrer host or utm_source.
type SourceCount struct {
	LinkID           int64
	Day, Kind, Value string
	N                int
}

// ClickCount is how many clicks a link-day's button for one platform got.
type ClickCount struct {
	LinkID        int64
	Day, Platform string
	N             int
}

const (
	// MaxSourceValues caps the distinct referrer hosts (or utm values) stored
	// per link, day and kind, across every flush and instance, so made-up
	// referrers cannot grow the table without bound; the rest count as
	// SourceOther. Two instances flushing at once may each add one more.
	MaxSourceValues = 100
	// SourceOther is the value that stands for the values over the cap.
	SourceOther = "(other)"
)

// AnalyticsBatch is what one instance counted since its last flush. Callers
// sort it (link, day, key) so concurrent flushes lock rows in one order.
type AnalyticsBatch struct {
	Views   []ViewCount
	Sources []SourceCount
	Clicks  []ClickCount
}

// FlushAnalytics adds a batch to the counts, in one transaction. Every write is
// an upsert that adds, so instances flushing at the same time add up; a visitor
// hash already stored (by any instance) does not count as a new visitor again.
// Counts of links deleted since are dropped.
func FlushAnalytics(ctx context.Context, db *bun.DB, b AnalyticsBatch) error {
	ids := map[int64]bool{}
	for _, v := range b.Views {
		ids[v.LinkID] = true
	}
	for _, s := range b.Sources {
		ids[s.LinkID] = true
	}
	for _, c := range b.Clicks {
		ids[c.LinkID] = true
	}
	if len(ids) == 0 {
		return nil
	}
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		want := make([]int64, 0, len(ids))
		for id := range ids {
			want = append(want, id)
		}
		var live []int64
		if err := tx.NewSelect().Table("links").Column("id").Where("id IN (?)", bun.In(want)).Scan(ctx, &live); err != nil {
			return fmt.Errorf("store: flush analytics: links: %w", err)
		}
		exists := make(map[int64]bool, len(live))
		for _, id := range live {
			exists[id] = true
		}
		var views []analyticsView
		for _, v := range b.Views {
			if !exists[v.LinkID] {
				continue
			}
			fresh, err := insertVisitors(ctx, tx, v)
			if err != nil {
				return err
			}
			views = append(views, analyticsView{LinkID: v.LinkID, Day: v.Day, Views: v.Views, Visitors: fresh})
		}
		if len(views) > 0 {
			_, err := tx.NewInsert().Model(&views).
				On("CONFLICT (link_id, day) DO UPDATE").
				Set("views = v.views + EXCLUDED.views").
				Set("visitors = v.visitors + EXCLUDED.visitors").
				Exec(ctx)
			if err != nil {
				return fmt.Errorf("store: flush analytics views: %w", err)
			}
		}
		var kept []SourceCount
		for _, s := range b.Sources {
			if exists[s.LinkID] {
				kept = append(kept, s)
			}
		}
		sources, err := capSources(ctx, tx, kept)
		if err != nil {
			return err
		}
		for part := range chunks(sources, 500) {
			_, err := tx.NewInsert().Model(&part).
				On("CONFLICT (link_id, day, kind, value) DO UPDATE").
				Set("n = src.n + EXCLUDED.n").
				Exec(ctx)
			if err != nil {
				return fmt.Errorf("store: flush analytics sources: %w", err)
			}
		}
		var clicks []analyticsClick
		for _, c := range b.Clicks {
			if exists[c.LinkID] {
				clicks = append(clicks, analyticsClick{LinkID: c.LinkID, Day: c.Day, Platform: c.Platform, N: c.N})
			}
		}
		if len(clicks) > 0 {
			_, err := tx.NewInsert().Model(&clicks).
				On("CONFLICT (link_id, day, platform) DO UPDATE").
				Set("n = ck.n + EXCLUDED.n").
				Exec(ctx)
			if err != nil {
				return fmt.Errorf("store: flush analytics clicks: %w", err)
			}
		}
		return nil
	})
}

// insertVisitors stores a link-day's visitor hashes and returns how many were new.
func insertVisitors(ctx context.Context, tx bun.Tx, v ViewCount) (int, error) {
	rows := make([]analyticsVisitor, len(v.Visitors))
	for i, h := range v.Visitors {
		rows[i] = analyticsVisitor{LinkID: v.LinkID, Day: v.Day, Visitor: h}
	}
	fresh := 0
	for part := range chunks(rows, 500) {
		res, err := tx.NewInsert().Model(&part).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return 0, fmt.Errorf("store: flush analytics visitors: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("store: flush analytics visitors: %w", err)
		}
		fresh += int(n)
	}
	return fresh, nil
}

// chunks yields s in slices of at most n (none for an empty s).
func chunks[T any](s []T, n int) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// Scope is what an insights query covers: a workspace's links, or one of them.
type Scope struct {
	WorkspaceID int64
	LinkID      int64 // 0: every link of the workspace
}

// DayViews is one link-day's views and unique visitors.
type DayViews struct {
	LinkID   int64  `bun:"link_id"`
	Day      string `bun:"day"`
	Views    int    `bun:"views"`
	Visitors int    `bun:"visitors"`
}

// AnalyticsViews lists the views per link and day from first to last (days, inclusive).
func AnalyticsViews(ctx context.Context, db bun.IDB, sc Scope, first, last string) ([]DayViews, error) {
	var out []DayViews
	q := db.NewSelect().TableExpr("analytics_views AS v").
		ColumnExpr("v.link_id, v.day, v.views, v.visitors").
		Join("JOIN links AS l ON l.id = v.link_id").
		Where("l.workspace_id = ? AND v.day >= ? AND v.day <= ?", sc.WorkspaceID, first, last)
	if sc.LinkID != 0 {
		q = q.Where("v.link_id = ?", sc.LinkID)
	}
	if err := q.Scan(ctx, &out); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: analytics views: %w", err)
	}
	return out, nil
}

// DayCount is a count of one link-day, split by a key (a platform; "" when not split).
type DayCount struct {
	LinkID int64  `bun:"link_id"`
	Day    string `bun:"day"`
	Key    string `bun:"key"`
	N      int    `bun:"n"`
}

// AnalyticsClicks lists the smart-link clicks per link, day and platform.
func AnalyticsClicks(ctx context.Context, db bun.IDB, sc Scope, first, last string) ([]DayCount, error) {
	var out []DayCount
	q := db.NewSelect().TableExpr("analytics_clicks AS ck").
		ColumnExpr("ck.link_id, ck.day, ck.platform AS key, ck.n").
		Join("JOIN links AS l ON l.id = ck.link_id").
		Where("l.workspace_id = ? AND ck.day >= ? AND ck.day <= ?", sc.WorkspaceID, first, last)
	if sc.LinkID != 0 {
		q = q.Where("ck.link_id = ?", sc.LinkID)
	}
	if err := q.Scan(ctx, &out); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: analytics clicks: %w", err)
	}
	return out, nil
}

// Ranked is a referrer host or utm_source with its views.
type Ranked struct {
	Value string `bun:"value"`
	N     int    `bun:"n"`
}

// AnalyticsTopSources ranks the referrer hosts (kind "referrer") or utm
// sources (kind "utm_source") of the days first to last, most views first.
func AnalyticsTopSources(ctx context.Context, db bun.IDB, sc Scope, kind, first, last string, limit int) ([]Ranked, error) {
	var out []Ranked
	q := db.NewSelect().TableExpr("analytics_sources AS src").
		ColumnExpr("src.value, SUM(src.n) AS n").
		Join("JOIN links AS l ON l.id = src.link_id").
		Where("l.workspace_id = ? AND src.kind = ? AND src.day >= ? AND src.day <= ?", sc.WorkspaceID, kind, first, last)
	if sc.LinkID != 0 {
		q = q.Where("src.link_id = ?", sc.LinkID)
	}
	err := q.GroupExpr("src.value").OrderExpr("n DESC, src.value").Limit(int64(limit)).Scan(ctx, &out)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: analytics sources: %w", err)
	}
	return out, nil
}

// epochDay is the SQL for a timestamp column's UTC day, as days since 1970.
func epochDay(db bun.IDB, col string) string {
	if DialectName(db) == "postgres" {
		return "CAST(FLOOR(EXTRACT(EPOCH FROM " + col + ") / 86400) AS BIGINT)"
	}
	return "CAST(strftime('%s', " + col + ") AS INTEGER) / 86400"
}

// perDay counts table's rows per link, UTC day of col and key column (or "").
func perDay(ctx context.Context, db bun.IDB, table, col, key string, sc Scope, from, to time.Time) ([]DayCount, error) {
	var rows []struct {
		LinkID int64  `bun:"link_id"`
		Day    int64  `bun:"day"`
		Key    string `bun:"key"`
		N      int    `bun:"n"`
	}
	keyExpr := "''"
	if key != "" {
		keyExpr = key
	}
	q := db.NewSelect().TableExpr(table).
		ColumnExpr("link_id, "+epochDay(db, col)+" AS day, "+keyExpr+" AS key, COUNT(*) AS n").
		Where("workspace_id = ? AND "+col+" >= ? AND "+col+" < ?", sc.WorkspaceID, from, to)
	if sc.LinkID != 0 {
		q = q.Where("link_id = ?", sc.LinkID)
	}
	if key != "" {
		q = q.GroupExpr("link_id, day, " + key)
	} else {
		q = q.GroupExpr("link_id, day")
	}
	if err := q.Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: %s per day: %w", table, err)
	}
	out := make([]DayCount, len(rows))
	for i, r := range rows {
		out[i] = DayCount{LinkID: r.LinkID, Day: time.Unix(r.Day*86400, 0).UTC().Format(time.DateOnly), Key: r.Key, N: r.N}
	}
	return out, nil
}

// PresavesPerDay counts pre-saves per link, UTC day (of the first consent)
// and platform, from ≤ created_at < to. Revoked ones count too: they happened.
func PresavesPerDay(ctx context.Context, db bun.IDB, sc Scope, from, to time.Time) ([]DayCount, error) {
	return perDay(ctx, db, "presaves", "created_at", "platform", sc, from, to)
}

// SignupsPerDay counts email signups per link, UTC day of consent and the
// platform the fan named, from ≤ consented_at < to.
func SignupsPerDay(ctx context.Context, db bun.IDB, sc Scope, from, to time.Time) ([]DayCount, error) {
	return perDay(ctx, db, "signups", "consented_at", "platform", sc, from, to)
}

// PlatformStateCount is how many pre-saves of one platform are in one state.
type PlatformStateCount struct {
	Platform string `bun:"platform"`
	State    string `bun:"state"`
	N        int    `bun:"n"`
}

// PresaveStatesByPlatform counts pre-saves per platform and current state,
// of one link (sc.LinkID) or the whole workspace; with a non-zero from, only
// those made in from ≤ created_at < to (as PresavesPerDay counts them).
func PresaveStatesByPlatform(ctx context.Context, db bun.IDB, sc Scope, from, to time.Time) ([]PlatformStateCount, error) {
	var out []PlatformStateCount
	q := db.NewSelect().TableExpr("presaves").ColumnExpr("platform, state, COUNT(*) AS n").
		Where("workspace_id = ?", sc.WorkspaceID)
	if sc.LinkID != 0 {
		q = q.Where("link_id = ?", sc.LinkID)
	}
	if !from.IsZero() {
		q = q.Where("created_at >= ? AND created_at < ?", from, to)
	}
	if err := q.GroupExpr("platform, state").Scan(ctx, &out); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: pre-saves by platform: %w", err)
	}
	return out, nil
}

// capSources folds the batch's source values that are new for their link, day
// and kind into SourceOther once MaxSourceValues are stored, and merges rows
// that end up the same (one upsert may not touch a row twice).
func capSources(ctx context.Context, tx bun.Tx, in []SourceCount) ([]analyticsSource, error) {
	type day struct {
		link int64
		day  string
	}
	type kind struct {
		day
		kind string
	}
	// One read of what is stored for the batch's links and days (a superset
	// when the batch spans days; the map below keeps only what it names).
	want := map[day]bool{}
	linkSet, daySet := map[int64]bool{}, map[string]bool{}
	for _, s := range in {
		want[day{s.LinkID, s.Day}] = true
		linkSet[s.LinkID], daySet[s.Day] = true, true
	}
	links, days := slices.Collect(maps.Keys(linkSet)), slices.Collect(maps.Keys(daySet))
	stored := map[kind]map[string]bool{}
	if len(want) > 0 {
		var rows []analyticsSource
		if err := tx.NewSelect().Model(&rows).Column("link_id", "day", "kind", "value").
			Where("link_id IN (?) AND day IN (?)", bun.In(links), bun.In(days)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("store: flush analytics: stored sources: %w", err)
		}
		for _, r := range rows {
			d := day{r.LinkID, r.Day}
			if !want[d] {
				continue
			}
			k := kind{d, r.Kind}
			if stored[k] == nil {
				stored[k] = map[string]bool{}
			}
			stored[k][r.Value] = true
		}
	}
	var out []analyticsSource
	at := map[analyticsSource]int{} // key (N zero) → index in out
	for _, s := range in {
		k := kind{day{s.LinkID, s.Day}, s.Kind}
		vals := stored[k]
		if vals == nil {
			vals = map[string]bool{}
			stored[k] = vals
		}
		v := s.Value
		if !vals[v] {
			n := len(vals)
			if vals[SourceOther] {
				n--
			}
			if v != SourceOther && n >= MaxSourceValues {
				v = SourceOther
			}
			vals[v] = true
		}
		key := analyticsSource{LinkID: s.LinkID, Day: s.Day, Kind: s.Kind, Value: v}
		if i, ok := at[key]; ok {
			out[i].N += s.N
			continue
		}
		at[key] = len(out)
		key.N = s.N
		out = append(out, key)
	}
	// Back in (link, day, kind, value) order: a value folded into SourceOther
	// must not break the lock order concurrent flushes rely on.
	slices.SortFunc(out, func(a, b analyticsSource) int {
		return cmp.Or(cmp.Compare(a.LinkID, b.LinkID), strings.Compare(a.Day, b.Day), strings.Compare(a.Kind, b.Kind), strings.Compare(a.Value, b.Value))
	})
	return out, nil
}
