package handlers_test

import (
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

const shareTrack = "spotify:track:4uLU6hMCjMI75M1A2tKUQC"

// shareLink is a live link with a Spotify source, released in three days.
func shareLink(t *testing.T, app *testapp.App, wid int64, slug string) *models.Link {
	t.Helper()
	l := app.Link(wid, slug, models.LinkLive, app.Clock.Now().Add(72*time.Hour))
	l.SourceKind, l.SourceValue = models.SourceSpotifyTrack, shareTrack
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	return l
}

// fansPresave makes n real pre-saves through the stand-in, one fan each.
func fansPresave(t *testing.T, app *testapp.App, slug string, from, n int) []string {
	t.Helper()
	var users []string
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("fan%02d", i)
		app.Spotify.AddUser(spotifytest.User{ID: id, DisplayName: fmt.Sprintf("Fan %02d", i), Email: id + "@example.net"})
		app.Spotify.SetCurrentUser(id)
		c := app.NewClient()
		k := startConsent(t, app, c, slug, true)
		k.finish(t, c)
		if k.final.StatusCode != http.StatusSeeOther {
			t.Fatalf("pre-save of %s: %d\n%s", id, k.final.StatusCode, k.body)
		}
		users = append(users, id)
	}
	return users
}

// rowPresave inserts a pre-save in any state directly.
func rowPresave(t *testing.T, app *testapp.App, l *models.Link, name, state, lastErr string) {
	t.Helper()
	now := app.Clock.Now()
	p := &models.Presave{WorkspaceID: l.WorkspaceID, LinkID: l.ID, Platform: "spotify", PlatformUserID: "u-" + name,
		DisplayName: name, ConsentVersion: "v1", ConsentedAt: now.Add(-time.Hour), Scope: "user-library-modify",
		State: state, RevokeTokenHash: "hash-" + name, LastError: lastErr, CreatedAt: now, UpdatedAt: now}
	if err := store.UpsertPresave(context.Background(), app.DB, p); err != nil {
		t.Fatal(err)
	}
	if lastErr != "" {
		if _, err := app.DB.NewUpdate().Model((*models.Presave)(nil)).Set("last_error = ?", lastErr).Where("id = ?", p.ID).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func kpi(t *testing.T, body, state string) string {
	t.Helper()
	marker := `data-testid="kpi-` + state + `-value">`
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no %s KPI in\n%s", state, body)
	}
	rest := body[i+len(marker):]
	return rest[:strings.Index(rest, "<")]
}

func wantKPIs(t *testing.T, body string, pending, delivered, failed, revoked int) {
	t.Helper()
	got := fmt.Sprintf("%s/%s/%s/%s", kpi(t, body, "pending"), kpi(t, body, "delivered"), kpi(t, body, "failed"), kpi(t, body, "revoked"))
	want := fmt.Sprintf("%d/%d/%d/%d", pending, delivered, failed, revoked)
	if got != want {
		t.Fatalf("KPIs pending/delivered/failed/revoked = %s, want %s", got, want)
	}
}

func deliverJobs(t *testing.T, app *testapp.App) int {
	t.Helper()
	n, err := app.DB.NewSelect().Table("jobs").Where("kind = ?", "presave.deliver").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestShareTab(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			app := testapp.New(t, testapp.Options{Spotify: true, Postgres: pg})
			o := app.CreateOwner("artist@example.com", "Mara Lune")
			l := shareLink(t, app, o.Workspace.ID, "night-drive")
			admin := app.NewClient()
			admin.Login(o)
			base := fmt.Sprintf("/admin/links/%d", l.ID)

			// Empty: says what to do first, and does not poll.
			res, body := admin.Get(base + "/share")
			if res.StatusCode != 200 || !strings.Contains(body, "No pre-saves yet — share") || !strings.Contains(body, app.URL+"/night-drive") {
				t.Fatalf("empty share tab: %d\n%s", res.StatusCode, body)
			}
			if !strings.Contains(body, `data-testid="tab-share" aria-current="page"`) {
				t.Fatal("the Share tab is not the active tab")
			}
			if strings.Contains(body, `hx-trigger="every 2s"`) || strings.Contains(body, `data-testid="expiring"`) {
				t.Fatal("an empty panel polls or warns")
			}

			fansPresave(t, app, "night-drive", 1, 3)
			rowPresave(t, app, l, "Dana Delivered", models.PresaveDelivered, "")
			rowPresave(t, app, l, "Fay Failed", models.PresaveFailed, "The release was not found on Spotify.")
			rowPresave(t, app, l, "Remy Revoked", models.PresaveRevoked, "")
			rowPresave(t, app, l, "Rita Revoked", models.PresaveRevoked, "")

			res, body = admin.Get(base + "/share")
			if res.StatusCode != 200 {
				t.Fatalf("share tab: %d", res.StatusCode)
			}
			wantKPIs(t, body, 3, 1, 1, 2)
			if !strings.Contains(body, "4 of 7 · 57%") || !strings.Contains(body, `hx-trigger="every 30s"`) {
				t.Fatalf("progress or polling missing\n%s", body)
			}
			if !strings.Contains(body, `value="`+app.URL+`/night-drive"`) || !strings.Contains(body, base+"/qr.png") {
				t.Fatal("share URL or QR code missing")
			}
			if n := strings.Count(body, `data-testid="presave-row"`); n != 7 {
				t.Fatalf("%d rows listed, want 7", n)
			}
			if !strings.Contains(body, "fan01@example.net") || !strings.Contains(body, "The release was not found on Spotify.") {
				t.Fatal("email or last error not listed")
			}

			// The partial alone.
			res, body = admin.Get(base + "/share/stats")
			if res.StatusCode != 200 || strings.Contains(body, "<html") {
				t.Fatalf("stats partial: %d\n%s", res.StatusCode, body)
			}
			wantKPIs(t, body, 3, 1, 1, 2)

			// Filter by state and search by name or email (bookmarkable query parameters).
			_, body = admin.Get(base + "/share?state=revoked")
			if n := strings.Count(body, `data-testid="presave-row"`); n != 2 || !strings.Contains(body, "Remy Revoked") {
				t.Fatalf("state filter: %d rows", n)
			}
			_, body = admin.Get(base + "/share?q=FAN02%40example")
			if n := strings.Count(body, `data-testid="presave-row"`); n != 1 || !strings.Contains(body, "Fan 02") {
				t.Fatalf("email search: %d rows", n)
			}
			_, body = admin.Get(base + "/share?q=rita&state=revoked")
			if n := strings.Count(body, `data-testid="presave-row"`); n != 1 || !strings.Contains(body, "Rita Revoked") {
				t.Fatalf("name search with state: %d rows", n)
			}
			_, body = admin.Get(base + "/share?q=nobody")
			if !strings.Contains(body, "No pre-saves match") {
				t.Fatal("no-match state missing")
			}

			// Once nothing is pending and nothing queued, the partial stops polling.
			if _, err := app.DB.NewUpdate().Model((*models.Presave)(nil)).Set("state = ?", models.PresaveDelivered).
				Where("state = ?", models.PresavePending).Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
			_, body = admin.Get(base + "/share/stats")
			wantKPIs(t, body, 0, 4, 1, 2)
			if strings.Contains(body, "hx-trigger") || !strings.Contains(body, "7 of 7 · 100%") {
				t.Fatalf("finished panel still polls\n%s", body)
			}
		})
	}
}

func TestShareExpiringAuthorizations(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true})
	o := app.CreateOwner("artist@example.com", "Mara Lune")
	// Released in 7 months: consent given today ends a month before the release.
	l := app.Link(o.Workspace.ID, "far-away", models.LinkLive, app.Clock.Now().AddDate(0, 7, 0))
	fansPresave(t, app, "far-away", 1, 2)
	admin := app.NewClient()
	admin.Login(o)
	_, body := admin.Get(fmt.Sprintf("/admin/links/%d/share", l.ID))
	if !strings.Contains(body, `data-testid="expiring"`) || !strings.Contains(body, "2 pre-saves&#39; authorization will expire before the release") {
		t.Fatalf("no expiry warning\n%s", body)
	}
}

func TestShareQRCode(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("artist@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(time.Hour))
	admin := app.NewClient()
	admin.Login(o)
	res, body := admin.Get(fmt.Sprintf("/admin/links/%d/qr.png", l.ID))
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" ||
		!strings.HasPrefix(body, "\x89PNG\r\n\x1a\n") || len(body) < 500 {
		t.Fatalf("qr.png: %d %q, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(body))
	}
	cfg, err := png.DecodeConfig(strings.NewReader(body))
	if err != nil || cfg.Width != 512 || cfg.Height != 512 {
		t.Fatalf("qr.png decodes as %+v, %v", cfg, err)
	}
	res, _ = admin.Get(fmt.Sprintf("/admin/links/%d/qr.png?download=1", l.ID))
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, `attachment; filename="night-drive-qr.png"`) {
		t.Fatalf("download disposition = %q", cd)
	}
}

func TestShareIsScopedToTheWorkspace(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true})
	o := app.CreateOwner("artist@example.com", "Mara Lune")
	other := app.CreateOwner("label@example.com", "Other Label")
	l := shareLink(t, app, other.Workspace.ID, "their-link")
	fansPresave(t, app, "their-link", 1, 2)
	admin := app.NewClient()
	admin.Login(o)
	base := fmt.Sprintf("/admin/links/%d", l.ID)
	for _, p := range []string{"/share", "/share/stats", "/qr.png"} {
		if res, _ := admin.Get(base + p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s of another workspace: %d", p, res.StatusCode)
		}
	}
	res, _ := admin.PostForm("/admin/links", base+"/deliver", nil)
	if res.StatusCode != http.StatusNotFound || deliverJobs(t, app) != 0 {
		t.Fatalf("deliver of another workspace: %d, %d jobs", res.StatusCode, deliverJobs(t, app))
	}
	// The API, with this workspace's token.
	a := newAPI(t, app, app.APIToken(o.Workspace.ID))
	a.do(http.MethodPost, fmt.Sprintf("/api/v1/links/%d/deliver", l.ID), "").wantError(t, http.StatusNotFound, "not_found", "")
	a.do(http.MethodGet, fmt.Sprintf("/api/v1/links/%d/presaves", l.ID), "").wantError(t, http.StatusNotFound, "not_found", "")
	if deliverJobs(t, app) != 0 {
		t.Fatal("a cross-workspace call enqueued jobs")
	}
}

func TestShareDeliverNow(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true})
	o := app.CreateOwner("artist@example.com", "Mara Lune")
	l := shareLink(t, app, o.Workspace.ID, "night-drive")
	fansPresave(t, app, "night-drive", 1, 3)
	rowPresave(t, app, l, "Remy Revoked", models.PresaveRevoked, "")
	admin := app.NewClient()
	admin.Login(o)
	path := fmt.Sprintf("/admin/links/%d/deliver", l.ID)
	csrf := admin.CSRF(fmt.Sprintf("/admin/links/%d/share", l.ID))

	// Without the CSRF token: refused, nothing queued.
	if res, _ := admin.Do(http.MethodPost, path, url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); res.StatusCode < 400 || deliverJobs(t, app) != 0 {
		t.Fatalf("deliver without CSRF: %d", res.StatusCode)
	}

	// htmx press, before the release time: exactly the 3 pending ones.
	hx := http.Header{"HX-Request": {"true"}, "X-CSRF-Token": {csrf}}
	res, body := admin.Do(http.MethodPost, path, url.Values{}, hx)
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("HX-Trigger"), "Delivering 3 pre-saves") {
		t.Fatalf("deliver now: %d %q\n%s", res.StatusCode, res.Header.Get("HX-Trigger"), body)
	}
	if !strings.Contains(body, `id="share-stats"`) || !strings.Contains(body, `hx-trigger="every 2s"`) {
		t.Fatalf("deliver now does not answer with the polling KPIs\n%s", body)
	}
	if n := deliverJobs(t, app); n != 3 {
		t.Fatalf("%d jobs after deliver now, want 3", n)
	}
	// A second press adds nothing.
	res, _ = admin.Do(http.MethodPost, path, url.Values{}, hx)
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("HX-Trigger"), "Nothing new to deliver") || deliverJobs(t, app) != 3 {
		t.Fatalf("second press: %d %q, %d jobs", res.StatusCode, res.Header.Get("HX-Trigger"), deliverJobs(t, app))
	}
	// Without htmx (a plain form), back to the tab with a notice.
	res, _ = admin.PostForm("/admin/links", path, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != fmt.Sprintf("/admin/links/%d/share?enqueued=0", l.ID) {
		t.Fatalf("plain form: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	// The list shows each queued row's attempts (0 until a worker claims it).
	_, body = admin.Get(fmt.Sprintf("/admin/links/%d/share?state=pending", l.ID))
	if strings.Count(body, `data-testid="attempts">0 attempts<`) != 3 {
		t.Fatalf("queued rows do not show their attempts\n%s", body)
	}
}

func TestShareDeliverDraftRefused(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true})
	o := app.CreateOwner("artist@example.com", "Mara Lune")
	l := shareLink(t, app, o.Workspace.ID, "night-drive")
	fansPresave(t, app, "night-drive", 1, 2)
	for _, state := range []string{models.LinkDraft, models.LinkArchived} {
		l.State = state
		if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
			t.Fatal(err)
		}
		admin := app.NewClient()
		admin.Login(o)
		_, page := admin.Get(fmt.Sprintf("/admin/links/%d/share", l.ID))
		if !strings.Contains(page, `data-testid="deliver-unavailable"`) || strings.Contains(page, `data-testid="deliver-confirm"`) {
			t.Fatalf("%s: deliver button offered", state)
		}
		res, body := admin.PostForm("/admin/links", fmt.Sprintf("/admin/links/%d/deliver", l.ID), nil)
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, map[string]string{
			models.LinkDraft: "this link is a draft", models.LinkArchived: "archived"}[state]) {
			t.Fatalf("%s: deliver answered %d\n%s", state, res.StatusCode, body)
		}
		a := newAPI(t, app, app.APIToken(o.Workspace.ID))
		a.do(http.MethodPost, fmt.Sprintf("/api/v1/links/%d/deliver", l.ID), "").wantError(t, http.StatusConflict, "not_deliverable", "state")
		if deliverJobs(t, app) != 0 {
			t.Fatalf("%s: jobs enqueued", state)
		}
	}
}

func TestAPIDeliverAndPresaveCounts(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true})
	o := app.CreateOwner("artist@example.com", "Mara Lune")
	l := shareLink(t, app, o.Workspace.ID, "night-drive")
	fansPresave(t, app, "night-drive", 1, 2)
	rowPresave(t, app, l, "Fay Failed", models.PresaveFailed, "gone")
	a := newAPI(t, app, app.APIToken(o.Workspace.ID))

	var counts map[string]int
	r := a.do(http.MethodGet, fmt.Sprintf("/api/v1/links/%d/presaves", l.ID), "")
	r.decode(t, &counts)
	if r.Status != 200 || fmt.Sprint(counts) != "map[delivered:0 failed:1 pending:2 revoked:0 total:3]" {
		t.Fatalf("counts: %d %v", r.Status, counts)
	}
	var out map[string]int
	r = a.do(http.MethodPost, fmt.Sprintf("/api/v1/links/%d/deliver", l.ID), "")
	r.decode(t, &out)
	if r.Status != http.StatusAccepted || out["enqueued"] != 2 || len(out) != 1 {
		t.Fatalf("deliver: %d %s", r.Status, r.Body)
	}
	r = a.do(http.MethodPost, fmt.Sprintf("/api/v1/links/%d/deliver", l.ID), "")
	r.decode(t, &out)
	if r.Status != http.StatusAccepted || out["enqueued"] != 0 || deliverJobs(t, app) != 2 {
		t.Fatalf("second deliver: %d %s", r.Status, r.Body)
	}
	a.do(http.MethodGet, "/api/v1/links/999999/presaves", "").wantError(t, http.StatusNotFound, "not_found", "")
}

// With the real workers: deliver now reaches every fan's library once, and the panel shows it.
func TestShareDeliverNowDelivers(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			app := testapp.New(t, testapp.Options{Spotify: true, Deliver: true, Postgres: pg})
			o := app.CreateOwner("artist@example.com", "Mara Lune")
			l := shareLink(t, app, o.Workspace.ID, "night-drive")
			users := fansPresave(t, app, "night-drive", 1, 4)
			admin := app.NewClient()
			admin.Login(o)
			res, _ := admin.PostForm(fmt.Sprintf("/admin/links/%d/share", l.ID), fmt.Sprintf("/admin/links/%d/deliver", l.ID), nil)
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("deliver now: %d", res.StatusCode)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				n, err := store.PresaveCounts(context.Background(), app.DB, o.Workspace.ID, l.ID)
				if err != nil {
					t.Fatal(err)
				}
				if n[models.PresaveDelivered] == len(users) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("not delivered within 10 s: %v", n)
				}
				time.Sleep(50 * time.Millisecond)
			}
			for _, u := range users {
				if n := app.Spotify.Saves(u, shareTrack); n != 1 {
					t.Errorf("%s: saved %d times", u, n)
				}
			}
			if app.Spotify.Duplicates() != 0 {
				t.Fatalf("duplicates %d", app.Spotify.Duplicates())
			}
			_, body := admin.Get(fmt.Sprintf("/admin/links/%d/share/stats", l.ID))
			wantKPIs(t, body, 0, 4, 0, 0)
			_, body = admin.Get(fmt.Sprintf("/admin/links/%d/share?state=delivered", l.ID))
			if strings.Count(body, `data-testid="presave-row"`) != 4 || strings.Count(body, `data-testid="attempts">1 attempt<`) != 4 {
				t.Fatalf("delivered rows do not show one attempt each\n%s", body)
			}
		})
	}
}

// Members (not only owners) of the workspace may deliver now.
func TestShareDeliverNowByMember(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true})
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	l := shareLink(t, app, o.Workspace.ID, "night-drive")
	fansPresave(t, app, "night-drive", 1, 2)
	ctx := context.Background()
	pw := "member password 123"
	hash, err := auth.NewHasher(bcrypt.MinCost).Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	u := &models.User{Email: "member@example.com", Name: "Member", PasswordHash: hash, CreatedAt: app.Clock.Now()}
	if err := store.CreateUser(ctx, app.DB, u); err != nil {
		t.Fatal(err)
	}
	if err := store.AddMember(ctx, app.DB, &models.Member{WorkspaceID: o.Workspace.ID, UserID: u.ID, Role: models.RoleMember, CreatedAt: app.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	c := app.NewClient()
	c.Login(testapp.Owner{Email: u.Email, Password: pw, User: u, Workspace: o.Workspace})
	res, _ := c.PostForm(fmt.Sprintf("/admin/links/%d/share", l.ID), fmt.Sprintf("/admin/links/%d/deliver", l.ID), nil)
	if res.StatusCode != http.StatusSeeOther || deliverJobs(t, app) != 2 {
		t.Fatalf("member's deliver now: %d, %d jobs", res.StatusCode, deliverJobs(t, app))
	}
	_, body := c.Get(res.Header.Get("Location"))
	if !strings.Contains(body, "Delivering 2 pre-saves.") {
		t.Fatal("no notice after a plain-form deliver now")
	}
}

func TestSharePresaveListPages(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("artist@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(time.Hour))
	for i := 0; i < 51; i++ {
		rowPresave(t, app, l, fmt.Sprintf("Fan %02d", i), models.PresaveFailed, "")
	}
	admin := app.NewClient()
	admin.Login(o)
	base := fmt.Sprintf("/admin/links/%d/share", l.ID)
	_, body := admin.Get(base + "?state=failed")
	if n := strings.Count(body, `data-testid="presave-row"`); n != 50 || !strings.Contains(body, "1–50 of 51 pre-saves") ||
		!strings.Contains(body, base+"?page=2&amp;state=failed") {
		t.Fatalf("page 1: %d rows\n%s", n, body)
	}
	_, body = admin.Get(base + "?state=failed&page=2")
	if n := strings.Count(body, `data-testid="presave-row"`); n != 1 {
		t.Fatalf("page 2: %d rows", n)
	}
	// A stale bookmark past the end lands on the last page, filters kept.
	res, _ := admin.Get(base + "?state=failed&q=fan&page=9")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != base+"?page=2&q=fan&state=failed" {
		t.Fatalf("past the end: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}
