package analytics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/analytics"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/models"
)

const (
	phoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	deskUA  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)

var day1 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var self = &url.URL{Scheme: "https", Host: "drop.example.com"}

func seedLink(t *testing.T, db bun.IDB, slug string) *models.Link {
	t.Helper()
	ctx := context.Background()
	w := &models.Workspace{Name: "WS " + slug, CreatedAt: day1}
	if err := store.CreateWorkspace(ctx, db, w); err != nil {
		t.Fatal(err)
	}
	l := &models.Link{WorkspaceID: w.ID, Slug: slug, Title: "T", Artist: "A", ReleaseAt: day1.Add(48 * time.Hour),
		TimeZone: "Europe/Berlin", State: models.LinkLive, CreatedAt: day1, UpdatedAt: day1}
	if err := store.CreateLink(ctx, db, l); err != nil {
		t.Fatal(err)
	}
	return l
}

// get is a page request from a visitor.
func get(target, ua string, header ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("User-Agent", ua)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

func flush(t *testing.T, r *analytics.Recorder) {
	t.Helper()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

func dayViews(t *testing.T, db bun.IDB, linkID int64, day string) (views, visitors int) {
	t.Helper()
	err := db.NewSelect().Table("analytics_views").Column("views", "visitors").
		Where("link_id = ? AND day = ?", linkID, day).Scan(context.Background(), &views, &visitors)
	if err != nil {
		t.Fatalf("views of %s: %v", day, err)
	}
	return views, visitors
}

func salts(t *testing.T, db bun.IDB) map[string]string {
	t.Helper()
	var rows []struct {
		Day  string `bun:"day"`
		Salt string `bun:"salt"`
	}
	if err := db.NewSelect().Table("analytics_salts").Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.Day] = r.Salt
	}
	return out
}

func count(t *testing.T, db bun.IDB, table, where string, args ...any) int {
	t.Helper()
	n, err := db.NewSelect().Table(table).Where(where, args...).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// analyticsTables lists every table whose name starts with analytics_, from the catalog,
// so a table added later is covered by the no-raw-IP test too.
func analyticsTables(t *testing.T, db *bun.DB) []string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'analytics%' ORDER BY name"
	if store.DialectName(db) == "postgres" {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'analytics%' ORDER BY table_name"
	}
	var names []string
	if err := db.NewRaw(q).Scan(context.Background(), &names); err != nil {
		t.Fatal(err)
	}
	return names
}

func TestNoRawIPOrUserAgentStored(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := &clock{t: day1}
		rec := analytics.New(db, c.Now, testdb.Logger(), self)
		l := seedLink(t, db, "night-drive")
		const ip, ip6 = "203.0.113.77", "2001:db8::beef"
		ua := deskUA + " Probe/4711"
		for range 3 {
			rec.View(get("/night-drive?utm_source=Newsletter", ua, "Referer", "https://www.instagram.com/p/secret-post?igsh=abc"), l.ID, ip)
		}
		rec.View(get("/night-drive", phoneUA), l.ID, ip6)
		rec.Click(get("/night-drive/go/spotify", ua), l.ID, "spotify")
		flush(t, rec)

		tables := analyticsTables(t, db)
		if len(tables) < 5 {
			t.Fatalf("analytics tables %v", tables)
		}
		rows := 0
		for _, table := range tables {
			var all []map[string]any
			if err := db.NewSelect().Table(table).Scan(context.Background(), &all); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			for _, row := range all {
				rows++
				for col, v := range row {
					s := fmt.Sprint(v)
					if b, ok := v.([]byte); ok {
						s = string(b)
					}
					for _, bad := range []string{ip, ip6, "203.0.113", "Probe/4711", "iPhone", "secret-post", "igsh"} {
						if strings.Contains(s, bad) {
							t.Errorf("%s.%s holds %q: %q", table, col, bad, s)
						}
					}
				}
			}
		}
		if rows < 5 { // a salt, a view row, 2 visitor hashes, a referrer, a utm source, a click
			t.Fatalf("only %d analytics rows: nothing was recorded", rows)
		}
	})
}

// The same person (IP + user agent) counts once a day, however many views,
// flushes and instances; the next day has a new salt, the old one is gone,
// and the person counts again.
func TestUniqueVisitorsPerDay(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := &clock{t: day1}
		a := analytics.New(db, c.Now, testdb.Logger(), self)
		b := analytics.New(db, c.Now, testdb.Logger(), self) // a second instance on the same database
		l := seedLink(t, db, "night-drive")
		other := seedLink(t, db, "other-drop")

		for range 3 {
			a.View(get("/night-drive", phoneUA), l.ID, "198.51.100.1")
		}
		a.View(get("/night-drive", phoneUA), l.ID, "198.51.100.2") // another person (another IP)
		a.View(get("/night-drive", deskUA), l.ID, "198.51.100.1")  // another device behind the same IP
		a.View(get("/other-drop", phoneUA), other.ID, "198.51.100.1")
		flush(t, a)
		if v, u := dayViews(t, db, l.ID, "2026-11-21"); v != 5 || u != 3 {
			t.Fatalf("day 1: %d views, %d visitors; want 5, 3", v, u)
		}
		if v, u := dayViews(t, db, other.ID, "2026-11-21"); v != 1 || u != 1 {
			t.Fatalf("other link: %d views, %d visitors; want 1, 1", v, u)
		}

		// Later the same day, through the other instance: a view, not a new visitor.
		c.Set(day1.Add(6 * time.Hour))
		b.View(get("/night-drive", phoneUA), l.ID, "198.51.100.1")
		a.View(get("/night-drive", phoneUA), l.ID, "198.51.100.1")
		flush(t, b)
		flush(t, a)
		if v, u := dayViews(t, db, l.ID, "2026-11-21"); v != 7 || u != 3 {
			t.Fatalf("day 1 later: %d views, %d visitors; want 7, 3", v, u)
		}
		s1 := salts(t, db)["2026-11-21"]
		if len(s1) != 64 {
			t.Fatalf("day 1 salt %q", s1)
		}
		if n := count(t, db, "analytics_visitors", "day = ?", "2026-11-21"); n != 4 {
			t.Fatalf("%d visitor hashes today; want 4 (3 on the link, 1 on the other)", n)
		}

		// The next day: a new salt, the old salt and hashes deleted, the counts kept.
		c.Set(day1.Add(24 * time.Hour))
		a.View(get("/night-drive", phoneUA), l.ID, "198.51.100.1")
		flush(t, a)
		all := salts(t, db)
		s2, ok := all["2026-11-22"]
		if !ok || len(all) != 1 {
			t.Fatalf("salts after midnight: %v; want only 2026-11-22", all)
		}
		if s2 == s1 {
			t.Fatal("the next day's salt is the same")
		}
		if v, u := dayViews(t, db, l.ID, "2026-11-22"); v != 1 || u != 1 {
			t.Fatalf("day 2: %d views, %d visitors; want the returning visitor counted again", v, u)
		}
		if n := count(t, db, "analytics_visitors", "day < ?", "2026-11-22"); n != 0 {
			t.Fatalf("%d visitor hashes of day 1 kept", n)
		}
		if v, u := dayViews(t, db, l.ID, "2026-11-21"); v != 7 || u != 3 {
			t.Fatalf("day 1 counts changed: %d, %d", v, u)
		}
	})
}

func TestBotsPrefetchAndHEADNotCounted(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := &clock{t: day1}
		rec := analytics.New(db, c.Now, testdb.Logger(), self)
		l := seedLink(t, db, "night-drive")
		ip := "198.51.100.9"
		skipped := []*http.Request{
			get("/night-drive", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
			get("/night-drive", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"),
			get("/night-drive", "WhatsApp/2.23.20.0"),
			get("/night-drive", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"),
			get("/night-drive", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"),
			get("/night-drive", "TelegramBot (like TwitterBot)"),
			get("/night-drive", "curl/8.5.0"),
			get("/night-drive", "Iframely/1.3.1 (+https://iframely.com/docs/about)"),
			get("/night-drive", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"),
			get("/night-drive", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)"),
			get("/night-drive", "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"),
			get("/night-drive", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
			get("/night-drive", ""),
			get("/night-drive", phoneUA, "Purpose", "prefetch"),
			get("/night-drive", phoneUA, "Sec-Purpose", "prefetch;prerender"),
		}
		head := get("/night-drive", phoneUA)
		head.Method = http.MethodHead
		skipped = append(skipped, head)
		for _, r := range skipped {
			rec.View(r, l.ID, ip)
			rec.Click(r, l.ID, "spotify")
		}
		flush(t, rec)
		if n := count(t, db, "analytics_views", "link_id = ?", l.ID); n != 0 {
			t.Fatalf("bots, prefetches or HEAD counted: %d view rows", n)
		}
		if n := count(t, db, "analytics_clicks", "link_id = ?", l.ID); n != 0 {
			t.Fatalf("bot clicks counted: %d rows", n)
		}
		// People: an iPhone, an Android phone whose brand ends in "bot", in-app browsers.
		for _, ua := range []string{
			phoneUA,
			"Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 321.0.2.19.98 (iPhone14,5; iOS 17_4; en_GB)",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/450.0.0.38.108;FBBV/1;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBCR/;FBID/phone;FBLC/en_GB;FBOP/5]",
			"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 TikTok/34.1",
		} {
			rec.View(get("/night-drive", ua), l.ID, ip)
		}
		flush(t, rec)
		if v, u := dayViews(t, db, l.ID, "2026-11-21"); v != 5 || u != 5 {
			t.Fatalf("the people: %d views, %d visitors; want 5, 5", v, u)
		}
	})
}

func TestReferrerHostAndUTMSource(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := &clock{t: day1}
		rec := analytics.New(db, c.Now, testdb.Logger(), self)
		l := seedLink(t, db, "night-drive")
		views := []struct{ target, ref string }{
			{"/night-drive?utm_source=Newsletter&utm_medium=email", "https://www.instagram.com/p/abc?igsh=1"},
			{"/night-drive?utm_source=newsletter", "https://www.instagram.com/stories/x"},
			{"/night-drive", "https://l.facebook.com/l.php?u=https%3A%2F%2Fdrop"},
			{"/night-drive?utm_source=%20TikTok%20", ""},
			{"/night-drive", "https://drop.example.com/night-drive/presaved"}, // our own page: no referral
			{"/night-drive", "android-app://com.google.android.gm/"},          // not http(s)
		}
		for i, v := range views {
			rec.View(get(v.target, phoneUA, "Referer", v.ref), l.ID, fmt.Sprintf("198.51.100.%d", i))
		}
		flush(t, rec)
		sc := store.Scope{WorkspaceID: l.WorkspaceID, LinkID: l.ID}
		refs, err := store.AnalyticsTopSources(context.Background(), db, sc, "referrer", "2026-11-21", "2026-11-21", 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(refs); got != "[{instagram.com 2} {l.facebook.com 1}]" {
			t.Fatalf("referrers %s", got)
		}
		utm, err := store.AnalyticsTopSources(context.Background(), db, sc, "utm_source", "2026-11-21", "2026-11-21", 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(utm); got != "[{newsletter 2} {tiktok 1}]" {
			t.Fatalf("utm sources %s", got)
		}
	})
}

// Made-up referrers sent over many flushes (and so past the in-memory cap of
// one flush) stop adding rows at the cap; the rest count as "(other)", and a
// referrer already stored keeps counting under its own name.
func TestSourcesCappedAcrossFlushes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := &clock{t: day1}
		rec := analytics.New(db, c.Now, testdb.Logger(), self)
		l := seedLink(t, db, "night-drive")
		const flushes, perFlush = 5, 60 // 300 distinct hosts
		for f := range flushes {
			for i := range perFlush {
				rec.View(get("/night-drive", phoneUA, "Referer", fmt.Sprintf("https://spam-%d-%d.example/", f, i)), l.ID, fmt.Sprintf("198.51.%d.%d", f, i))
			}
			rec.View(get("/night-drive", phoneUA, "Referer", "https://www.instagram.com/p/x"), l.ID, fmt.Sprintf("203.0.113.%d", f))
			flush(t, rec)
		}
		ctx := context.Background()
		var rows []struct {
			Value string `bun:"value"`
			N     int    `bun:"n"`
		}
		if err := db.NewSelect().Table("analytics_sources").Column("value", "n").Where("link_id = ? AND kind = 'referrer'", l.ID).Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		total, other, insta := 0, 0, 0
		for _, r := range rows {
			total += r.N
			switch r.Value {
			case analytics.Other:
				other = r.N
			case "instagram.com":
				insta = r.N
			}
		}
		if len(rows) != store.MaxSourceValues+1 {
			t.Fatalf("%d referrer rows; want %d and one (other)", len(rows), store.MaxSourceValues)
		}
		if total != flushes*(perFlush+1) || insta != flushes || other != total-store.MaxSourceValues-insta+1 {
			t.Fatalf("counts: total %d, instagram %d, other %d", total, insta, other)
		}
	})
}

// Several instances flushing at once add up (upserts that add, not overwrite).
func TestConcurrentFlushesAddUp(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := &clock{t: day1}
		l := seedLink(t, db, "night-drive")
		const instances, perInstance = 4, 50
		recs := make([]*analytics.Recorder, instances)
		for i := range recs {
			recs[i] = analytics.New(db, c.Now, testdb.Logger(), self)
			for j := range perInstance {
				// Every instance sees the same 50 people, with a referrer and a click each.
				recs[i].View(get("/night-drive?utm_source=ig", phoneUA, "Referer", "https://instagram.com/"), l.ID, fmt.Sprintf("198.51.100.%d", j))
				recs[i].Click(get("/night-drive/go/spotify", phoneUA), l.ID, "spotify")
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, instances)
		for _, r := range recs {
			wg.Go(func() { errs <- r.Flush(context.Background()) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("flush: %v", err)
			}
		}
		if v, u := dayViews(t, db, l.ID, "2026-11-21"); v != instances*perInstance || u != perInstance {
			t.Fatalf("%d views, %d visitors; want %d, %d", v, u, instances*perInstance, perInstance)
		}
		var clicks, refs int
		ctx := context.Background()
		if err := db.NewSelect().Table("analytics_clicks").ColumnExpr("n").Where("link_id = ?", l.ID).Scan(ctx, &clicks); err != nil {
			t.Fatal(err)
		}
		if err := db.NewSelect().Table("analytics_sources").ColumnExpr("n").Where("link_id = ? AND kind = 'referrer'", l.ID).Scan(ctx, &refs); err != nil {
			t.Fatal(err)
		}
		if clicks != instances*perInstance || refs != instances*perInstance {
			t.Fatalf("clicks %d, referrers %d; want %d", clicks, refs, instances*perInstance)
		}
	})
}
