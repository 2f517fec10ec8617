package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// cacheTTL is the page cache's bound in these tests (DROPDAY_PAGE_CACHE_TTL).
const cacheTTL = 5 * time.Second

func cachedApp(t *testing.T, pg bool, beside *testapp.App) *testapp.App {
	t.Helper()
	return testapp.New(t, testapp.Options{Postgres: pg, Beside: beside,
		Env: map[string]string{"DROPDAY_PAGE_CACHE_TTL": cacheTTL.String()}})
}

// linkQueries counts the queries that read or write the links table.
type linkQueries struct{ n atomic.Int64 }

func (q *linkQueries) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if strings.Contains(e.Query, `"links"`) || strings.Contains(e.Query, "FROM links") {
		q.n.Add(1)
	}
	return ctx
}
func (q *linkQueries) AfterQuery(context.Context, *bun.QueryEvent) {}

func pageOf(t *testing.T, app *testapp.App, slug string) (int, string) {
	t.Helper()
	res, body := app.NewClient().Get("/" + slug)
	return res.StatusCode, body
}

// A cached page is served without the database, carries its ETag (304 on
// If-None-Match), and every hit still counts as a view.
func TestCachedLandingHitsSkipTheDatabase(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(fmt.Sprint("pg=", pg), func(t *testing.T) {
			app := cachedApp(t, pg, nil)
			o := app.CreateOwner("artist@example.com", "Label")
			l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
			fan := http.Header{"User-Agent": {fanUA(1)}}
			res, body := app.NewClient().Do(http.MethodGet, "/night-drive", nil, fan)
			etag := res.Header.Get("ETag")
			if res.StatusCode != http.StatusOK || etag == "" || !strings.Contains(body, `data-testid="countdown"`) {
				t.Fatalf("first view: %d, ETag %q", res.StatusCode, etag)
			}
			q := &linkQueries{}
			app.DB.AddQueryHook(q)
			for i := 0; i < 20; i++ {
				res, again := app.NewClient().Do(http.MethodGet, "/night-drive", nil, fan)
				if res.StatusCode != http.StatusOK || again != body || res.Header.Get("ETag") != etag ||
					res.Header.Get("Cache-Control") != "public, max-age=0, must-revalidate" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
					t.Fatalf("hit %d: %d, headers %v", i, res.StatusCode, res.Header)
				}
			}
			fan.Set("If-None-Match", `"other", `+etag)
			res, _ = app.NewClient().Do(http.MethodGet, "/night-drive", nil, fan)
			if res.StatusCode != http.StatusNotModified {
				t.Fatalf("If-None-Match with the page's ETag: %d, want 304", res.StatusCode)
			}
			if n := q.n.Load(); n != 0 {
				t.Fatalf("cached hits ran %d queries on links, want 0", n)
			}
			flushAnalytics(t, app)
			var views int
			if err := app.DB.NewSelect().Table("analytics_views").ColumnExpr("COALESCE(SUM(views), 0)").Where("link_id = ?", l.ID).Scan(context.Background(), &views); err != nil {
				t.Fatal(err)
			}
			if views != 22 {
				t.Fatalf("views = %d, want 22 (every hit and the 304 count)", views)
			}
		})
	}
}

// The countdown is cached for longer than the time left before the release,
// yet the page turns into the smart link exactly at the release time.
func TestCachedLandingFlipsAtTheReleaseTime(t *testing.T) {
	app := testapp.New(t, testapp.Options{Env: map[string]string{"DROPDAY_PAGE_CACHE_TTL": "1m"}})
	o := app.CreateOwner("artist@example.com", "Label")
	T := app.Clock.Now().Add(30 * time.Second)
	app.Link(o.Workspace.ID, "night-drive", models.LinkLive, T)
	if _, body := pageOf(t, app, "night-drive"); !strings.Contains(body, `data-testid="countdown"`) {
		t.Fatal("before the release: no countdown")
	}
	app.Clock.Set(T.Add(-time.Nanosecond))
	if _, body := pageOf(t, app, "night-drive"); !strings.Contains(body, `data-testid="countdown"`) {
		t.Fatal("just before the release: no countdown")
	}
	app.Clock.Set(T)
	if _, body := pageOf(t, app, "night-drive"); strings.Contains(body, `data-testid="countdown"`) || !strings.Contains(body, "Out now") {
		t.Fatal("at the release time the cached countdown is still served")
	}
}

// Two instances on one database: an edit made through one shows there at
// once and on the other within DROPDAY_PAGE_CACHE_TTL (and not before:
// the other serves its copy without asking the database).
func TestCachedLandingEditShowsOnEveryInstanceWithinTheTTL(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(fmt.Sprint("pg=", pg), func(t *testing.T) {
			a := cachedApp(t, pg, nil)
			b := cachedApp(t, pg, a)
			o := a.CreateOwner("artist@example.com", "Label")
			l := a.Link(o.Workspace.ID, "night-drive", models.LinkLive, a.Clock.Now().Add(72*time.Hour))
			for _, app := range []*testapp.App{a, b} {
				if _, body := pageOf(t, app, "night-drive"); !strings.Contains(body, "Night Drive") {
					t.Fatal("no title on the first view")
				}
			}
			edited := a.Clock.Now()
			apiB := newAPI(t, b, b.APIToken(o.Workspace.ID))
			if r := apiB.do(http.MethodPatch, fmt.Sprintf("/api/v1/links/%d", l.ID), `{"title": "Day Drive"}`); r.Status != http.StatusOK {
				t.Fatalf("PATCH: %d %s", r.Status, r.Body)
			}
			if _, body := pageOf(t, b, "night-drive"); !strings.Contains(body, "Day Drive") {
				t.Fatal("the instance that made the edit does not show it at once")
			}
			a.Clock.Set(edited.Add(cacheTTL - time.Millisecond))
			if _, body := pageOf(t, a, "night-drive"); !strings.Contains(body, "Night Drive") {
				t.Fatal("the other instance asked the database before its copy expired")
			}
			a.Clock.Set(edited.Add(cacheTTL))
			if _, body := pageOf(t, a, "night-drive"); !strings.Contains(body, "Day Drive") || strings.Contains(body, "Night Drive") {
				t.Fatal("the other instance still shows the old title after the TTL")
			}

			// Archived through A: A answers 410 at once, B within the TTL; a
			// draft is a 404 on both (never cached).
			archived := a.Clock.Now()
			if st, _ := pageOf(t, b, "night-drive"); st != http.StatusOK { // B's copy, fresh
				t.Fatalf("B before the archive: %d", st)
			}
			apiA := newAPI(t, a, a.APIToken(o.Workspace.ID))
			if r := apiA.do(http.MethodPatch, fmt.Sprintf("/api/v1/links/%d", l.ID), `{"state": "archived"}`); r.Status != http.StatusOK {
				t.Fatalf("PATCH archived: %d %s", r.Status, r.Body)
			}
			if st, _ := pageOf(t, a, "night-drive"); st != http.StatusGone {
				t.Fatalf("archived on A: %d, want 410", st)
			}
			// B still serves its copy of the page, but a signup through it is
			// refused: the write checks the link in its own transaction.
			if st, _ := pageOf(t, b, "night-drive"); st != http.StatusOK {
				t.Fatalf("B within the TTL: %d, want its cached 200", st)
			}
			res, body := b.NewClient().Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {"late@example.com"}, "platform": {"spotify"}}, htmx)
			if res.StatusCode != http.StatusGone || !strings.Contains(body, "Signups for this release have closed") {
				t.Fatalf("signup on B after the archive: %d\n%s", res.StatusCode, body)
			}
			if n := a.CountRows("subscribers"); n != 0 {
				t.Fatalf("%d subscribers stored for an archived link", n)
			}
			a.Clock.Set(archived.Add(cacheTTL))
			if st, _ := pageOf(t, b, "night-drive"); st != http.StatusGone {
				t.Fatalf("archived on B after the TTL: %d, want 410", st)
			}
			if _, err := a.DB.NewUpdate().Model((*models.Link)(nil)).Set("state = ?", models.LinkDraft).Where("id = ?", l.ID).Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
			a.Clock.Advance(cacheTTL)
			for _, app := range []*testapp.App{a, b} {
				if st, _ := pageOf(t, app, "night-drive"); st != http.StatusNotFound {
					t.Fatalf("draft: %d, want 404", st)
				}
			}
			if st, _ := pageOf(t, a, "no-such-page"); st != http.StatusNotFound {
				t.Fatalf("unknown slug: %d, want 404", st)
			}
		})
	}
}

// A platform found by a look-up (the resolver writes the store, on any
// instance) appears on the cached smart link within the TTL, with a new ETag.
func TestCachedSmartLinkShowsAFoundPlatformWithinTheTTL(t *testing.T) {
	app := cachedApp(t, false, nil)
	o := app.CreateOwner("artist@example.com", "Label")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkReleased, app.Clock.Now().Add(-time.Hour))
	ctx := context.Background()
	if err := store.RecordFound(ctx, app.DB, l.ID, "spotify", spotifyListen, []string{"spotify:album:x"}, app.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	order, _ := listenButtons(t, app, "night-drive")
	res, _ := app.NewClient().Get("/night-drive")
	etag := res.Header.Get("ETag")
	if strings.Join(order, ",") != "spotify" {
		t.Fatalf("buttons %v, want Spotify", order)
	}
	found := app.Clock.Now()
	if err := store.RecordFound(ctx, app.DB, l.ID, "apple_music", appleListen, []string{"1"}, found); err != nil {
		t.Fatal(err)
	}
	app.Clock.Set(found.Add(cacheTTL))
	if order, _ := listenButtons(t, app, "night-drive"); strings.Join(order, ",") != "spotify,apple_music" {
		t.Fatalf("after the TTL: buttons %v, want Spotify and Apple Music", order)
	}
	if res, _ := app.NewClient().Do(http.MethodGet, "/night-drive", nil, http.Header{"If-None-Match": {etag}}); res.StatusCode != http.StatusOK {
		t.Fatalf("the old ETag still matches after a platform was found (%d)", res.StatusCode)
	}
}
