package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// fanUA is a phone browser; n makes another device (another visitor behind the same IP).
func fanUA(n int) string {
	return fmt.Sprintf("Mozilla/5.0 (iPhone; CPU iPhone OS 17_%d like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.%d Mobile/15E148 Safari/604.1", n, n)
}

const googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

// visit opens a path as a fan's browser would.
func visit(t *testing.T, app *testapp.App, method, path, ua string, header ...string) *http.Response {
	t.Helper()
	h := http.Header{"User-Agent": {ua}}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	res, _ := app.NewClient().Do(method, path, nil, h)
	return res
}

func flushAnalytics(t *testing.T, app *testapp.App) {
	t.Helper()
	if err := app.Analytics.Flush(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

func clicksOf(t *testing.T, app *testapp.App, linkID int64) map[string]int {
	t.Helper()
	var rows []struct {
		Platform string `bun:"platform"`
		N        int    `bun:"n"`
	}
	if err := app.DB.NewSelect().Table("analytics_clicks").Column("platform", "n").Where("link_id = ?", linkID).Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Platform] += r.N
	}
	return out
}

const (
	spotifyListen = "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy"
	appleListen   = "https://music.apple.com/us/album/night-drive/1700000000"
)

func TestListenClickRedirects(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbNames[pg], func(t *testing.T) {
			app := testapp.New(t, testapp.Options{Postgres: pg})
			ctx := context.Background()
			o := app.CreateOwner("artist@example.com", "Mara Lune")
			l := app.Link(o.Workspace.ID, "night-drive", models.LinkReleased, app.Clock.Now().Add(-time.Hour))
			draft := app.Link(o.Workspace.ID, "secret-drop", models.LinkDraft, app.Clock.Now().Add(-time.Hour))
			for _, id := range []int64{l.ID, draft.ID} {
				if err := store.RecordFound(ctx, app.DB, id, "spotify", spotifyListen, []string{"spotify:album:4aawyAB9vmqN3uQ7FjRGTy"}, app.Clock.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if err := store.SetManualURL(ctx, app.DB, l.ID, "apple_music", appleListen); err != nil {
				t.Fatal(err)
			}
			// Deezer was looked up and not found yet: a row without a URL.
			if err := store.RecordMissing(ctx, app.DB, l.ID, "deezer", "not live yet", app.Clock.Now()); err != nil {
				t.Fatal(err)
			}

			for _, c := range []struct{ path, want string }{
				{"/night-drive/go/spotify", spotifyListen},
				{"/night-drive/go/spotify?to=https://evil.example/", spotifyListen},
				{"/night-drive/go/spotify?to=https%3A%2F%2Fevil.example&url=https://evil.example&next=//evil.example", spotifyListen},
				{"/night-drive/go/apple_music", appleListen},
			} {
				res := visit(t, app, http.MethodGet, c.path, fanUA(1))
				if res.StatusCode != http.StatusFound || res.Header.Get("Location") != c.want {
					t.Fatalf("%s: %d to %q; want 302 to %q", c.path, res.StatusCode, res.Header.Get("Location"), c.want)
				}
			}
			for _, path := range []string{
				"/night-drive/go/x?to=https://evil.example",      // unknown platform
				"/night-drive/go/https:%2F%2Fevil.example",       // a URL as the platform
				"/night-drive/go/deezer?to=https://evil.example", // known platform, no URL yet
				"/night-drive/go/tidal",                          // never looked up
				"/secret-drop/go/spotify",                        // a draft is not public
				"/no-such-link/go/spotify",
			} {
				res := visit(t, app, http.MethodGet, path, fanUA(1))
				if res.StatusCode != http.StatusNotFound || res.Header.Get("Location") != "" {
					t.Fatalf("%s: %d, Location %q; want 404 without a redirect", path, res.StatusCode, res.Header.Get("Location"))
				}
			}
			// A crawler and a HEAD are redirected too, but not counted.
			if res := visit(t, app, http.MethodGet, "/night-drive/go/spotify", googlebot); res.StatusCode != http.StatusFound {
				t.Fatalf("bot: %d", res.StatusCode)
			}
			if res := visit(t, app, http.MethodHead, "/night-drive/go/spotify", fanUA(1)); res.StatusCode != http.StatusFound || res.Header.Get("Location") != spotifyListen {
				t.Fatalf("HEAD: %d %q", res.StatusCode, res.Header.Get("Location"))
			}
			flushAnalytics(t, app)
			if got := fmt.Sprint(clicksOf(t, app, l.ID)); got != "map[apple_music:1 spotify:3]" {
				t.Fatalf("clicks %s", got)
			}
			if got := clicksOf(t, app, draft.ID); len(got) != 0 {
				t.Fatalf("draft clicks %v", got)
			}
		})
	}
}

var kpiRE = regexp.MustCompile(`data-testid="kpi-([a-z]+)-value">([^<]*)<`)

func kpis(t *testing.T, body string) string {
	t.Helper()
	var out []string
	for _, m := range kpiRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1]+"="+m[2])
	}
	return strings.Join(out, " ")
}

func presaveAt(t *testing.T, app *testapp.App, l *models.Link, platform, user string, at time.Time) {
	t.Helper()
	p := &models.Presave{WorkspaceID: l.WorkspaceID, LinkID: l.ID, Platform: platform, PlatformUserID: user,
		ConsentVersion: "v1", ConsentedAt: at, State: models.PresavePending, RevokeTokenHash: "hash-" + platform + user,
		CreatedAt: at, UpdatedAt: at}
	if err := store.UpsertPresave(context.Background(), app.DB, p); err != nil {
		t.Fatal(err)
	}
}

// The insights count what happened through the real router and the real
// tables: views, unique visitors, pre-saves per platform, signups, clicks and
// the conversion; a member of another workspace sees none of it.
func TestInsightsNumbers(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbNames[pg], func(t *testing.T) {
			app := testapp.New(t, testapp.Options{Postgres: pg})
			ctx := context.Background()
			o := app.CreateOwner("artist@example.com", "Mara Lune")
			today := app.Clock.Now() // Sat 21 Nov 2026, 12:00 UTC
			l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, today.Add(72*time.Hour))
			other := app.Link(o.Workspace.ID, "b-side", models.LinkLive, today.Add(72*time.Hour))
			if err := store.SetManualURL(ctx, app.DB, l.ID, "spotify", spotifyListen); err != nil {
				t.Fatal(err)
			}

			// Yesterday: fan 1 once.
			app.Clock.Set(today.Add(-24 * time.Hour))
			visit(t, app, http.MethodGet, "/night-drive", fanUA(1))
			flushAnalytics(t, app)
			// Today: fan 1 twice, fans 2–5 once (one from Instagram, one tagged), a bot, a HEAD and a prefetch.
			app.Clock.Set(today)
			visit(t, app, http.MethodGet, "/night-drive", fanUA(1))
			visit(t, app, http.MethodGet, "/night-drive", fanUA(1))
			visit(t, app, http.MethodGet, "/night-drive", fanUA(2), "Referer", "https://www.instagram.com/p/xyz")
			visit(t, app, http.MethodGet, "/night-drive?utm_source=newsletter", fanUA(3))
			visit(t, app, http.MethodGet, "/night-drive", fanUA(4))
			visit(t, app, http.MethodGet, "/night-drive", fanUA(5))
			visit(t, app, http.MethodGet, "/night-drive", googlebot)
			visit(t, app, http.MethodHead, "/night-drive", fanUA(6))
			visit(t, app, http.MethodGet, "/night-drive", fanUA(7), "Sec-Purpose", "prefetch")
			visit(t, app, http.MethodGet, "/b-side", fanUA(1))
			if res := visit(t, app, http.MethodGet, "/night-drive/go/spotify", fanUA(2)); res.StatusCode != http.StatusFound {
				t.Fatalf("click: %d", res.StatusCode)
			}
			// Pre-saves: two on Spotify and one on Deezer today, one on Spotify 40 days ago.
			presaveAt(t, app, l, "spotify", "a", today.Add(-time.Hour))
			presaveAt(t, app, l, "spotify", "b", today.Add(-2*time.Hour))
			presaveAt(t, app, l, "deezer", "c", today.Add(-3*time.Hour))
			presaveAt(t, app, l, "spotify", "d", today.AddDate(0, 0, -40))
			storeSignup(t, app, l, "fan@example.net", "apple_music", fanUA(4), today.Add(-30*time.Minute))

			admin := app.NewClient()
			admin.Login(o)
			// No flush here: the page flushes this instance's counts itself.
			base := fmt.Sprintf("/admin/links/%d/insights", l.ID)
			res, body := admin.Get(base)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("insights: %d", res.StatusCode)
			}
			// 7 views; 6 visitor-days (fan 1 yesterday, fans 1–5 today); (3 + 1) ÷ 6.
			if got, want := kpis(t, body), "views=7 visitors=6 presaves=3 signups=1 conversion=66.7% clicks=1"; got != want {
				t.Fatalf("30 days: %s\nwant %s", got, want)
			}
			for _, want := range []string{
				`<title>Sat 21 Nov: 6 views</title>`,
				`<title>Sat 21 Nov: 5 unique visitors</title>`,
				`<title>Fri 20 Nov: 1 view</title>`,
				`<title>Sat 21 Nov · Spotify: 2 pre-saves</title>`,
				`<title>Sat 21 Nov · Deezer: 1 pre-save</title>`,
				`<title>Spotify: 1 click</title>`,
				`<title>instagram.com: 1 view</title>`,
				`<title>newsletter: 1 view</title>`,
				`href="/admin/links/` + fmt.Sprint(l.ID) + `/insights?days=90"`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("the page lacks %s", want)
				}
			}
			// The table beside the views chart: newest day first, views then visitors.
			if !regexp.MustCompile(`data-testid="views-chart-table".*?<tr><td>Sat 21 Nov</td><td class="num">6</td><td class="num">5</td></tr><tr><td>Fri 20 Nov</td><td class="num">1</td><td class="num">1</td></tr>`).MatchString(body) {
				t.Error("views table wrong")
			}
			if n := strings.Count(body[strings.Index(body, `data-testid="views-chart-table"`):], "<tr><td>"); n < 30 {
				t.Errorf("views table has %d days; want 30", n)
			}

			_, body = admin.Get(base + "?days=90")
			if got, want := kpis(t, body), "views=7 visitors=6 presaves=4 signups=1 conversion=83.3% clicks=1"; got != want {
				t.Fatalf("90 days: %s\nwant %s", got, want)
			}
			_, body = admin.Get(base + "?days=7")
			if got := kpis(t, body); !strings.Contains(got, "presaves=3") || !strings.Contains(body, `href="/admin/links/`+fmt.Sprint(l.ID)+`/insights?days=7" aria-current="page"`) {
				t.Fatalf("7 days: %s", got)
			}
			_, body = admin.Get(base + "?days=12345") // anything else is 30 days
			if !strings.Contains(body, `insights?days=30" aria-current="page"`) {
				t.Fatal("an unknown period is not 30 days")
			}

			// The workspace: both links together, and a row each.
			_, body = admin.Get("/admin/insights")
			if got, want := kpis(t, body), "views=8 visitors=7 presaves=3 signups=1 conversion=57.1% clicks=1"; got != want {
				t.Fatalf("workspace: %s\nwant %s", got, want)
			}
			if n := strings.Count(body, `data-testid="per-link-row"`); n != 2 {
				t.Fatalf("%d per-link rows", n)
			}
			if !strings.Contains(body, fmt.Sprintf(`href="/admin/links/%d/insights?days=30"`, other.ID)) || !strings.Contains(body, `aria-current="page">Insights</a>`) {
				t.Fatal("workspace page: no link to the b-side or no nav entry")
			}

			// The Share tab's KPIs lead here.
			_, body = admin.Get(fmt.Sprintf("/admin/links/%d/share", l.ID))
			if !strings.Contains(body, `data-testid="insights-link"`) || !strings.Contains(body, `href="`+base+`"`) {
				t.Fatal("no link from the Share tab's KPIs to the insights")
			}

			// Someone else's workspace sees nothing of it.
			stranger := app.CreateOwner("other@example.com", "Other Label")
			sc := app.NewClient()
			sc.Login(stranger)
			if res, _ := sc.Get(base); res.StatusCode != http.StatusNotFound {
				t.Fatalf("stranger: %d", res.StatusCode)
			}
			_, body = sc.Get("/admin/insights")
			if got, want := kpis(t, body), "views=0 visitors=0 presaves=0 signups=0 conversion=— clicks=0"; got != want {
				t.Fatalf("stranger's workspace: %s", got)
			}
			if res, _ := app.NewClient().Get(base); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("signed out: %d", res.StatusCode)
			}
		})
	}
}
