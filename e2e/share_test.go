package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// presaveOverHTTP is one fan pressing "Pre-save on Spotify" and consenting at the stand-in.
func presaveOverHTTP(t *testing.T, app *testapp.App, slug, user string) {
	t.Helper()
	app.Spotify.SetCurrentUser(user)
	c := app.NewClient()
	res, _ := c.Do(http.MethodPost, "/"+slug+"/presave/spotify", url.Values{"email_opt_in": {"1"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("pre-save button: %d", res.StatusCode)
	}
	res, err := c.Client.Get(res.Header.Get("Location")) // auto-consent redirects back
	must(t, err, "consent")
	res.Body.Close()
	cb := res.Header.Get("Location")
	if !strings.HasPrefix(cb, app.URL+"/oauth/spotify/callback") {
		t.Fatalf("consent answered %d → %q", res.StatusCode, cb)
	}
	res, body := c.Get(strings.TrimPrefix(cb, app.URL))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d\n%s", res.StatusCode, body)
	}
}

func kpiValue(t *testing.T, ctx context.Context, state string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="kpi-`+state+`-value"]`))
	must(t, err, "read KPI "+state)
	return v
}

// The artist opens the Share tab of a live link, presses deliver now, confirms,
// and watches the KPIs move to delivered without the page reloading.
func TestShareDeliverNow(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true, Deliver: true})
	o := app.CreateOwner("mara@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
	l.SourceKind, l.SourceValue = models.SourceSpotifyTrack, "spotify:track:4uLU6hMCjMI75M1A2tKUQC"
	st := l
	must(t, store.UpdateLink(context.Background(), app.DB, st), "source")

	// Five fans: three fine, one who later revokes dropday at Spotify, one a dev-mode stranger.
	names := []string{"Ana Ruiz", "Ben Okafor", "Chloé Martin", "Dev Patel", "Eli Novak"}
	for i, n := range names {
		id := fmt.Sprintf("fan%d", i+1)
		app.Spotify.AddUser(spotifytest.User{ID: id, DisplayName: n, Email: strings.ToLower(strings.Fields(n)[0]) + "@example.net"})
		app.Clock.Advance(7 * time.Minute)
		presaveOverHTTP(t, app, l.Slug, id)
	}
	app.Spotify.RevokeUser("fan4")
	app.Spotify.SetAllowlisted("fan5", false)

	ctx := browsertest.New(t, browsertest.Desktop)
	share := fmt.Sprintf("%s/admin/links/%d/share", app.URL, l.ID)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(share),
		logIn(o.Email, o.Password),
		chromedp.WaitVisible(`[data-testid="share-stats"]`),
	), "log in to the share tab")
	if p := kpiValue(t, ctx, "pending"); p != "5" {
		t.Fatalf("pending before = %q", p)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__marker = "share-page"; true`)); err != nil {
		t.Fatal(err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "share-desktop-before")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Phone[0], browsertest.Phone[1])), "phone")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "share-phone-before")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Desktop[0], browsertest.Desktop[1])), "desktop")

	// Deliver now asks first.
	must(t, chromedp.Do(ctx,
		chromedp.Click(`[data-testid="deliver-now"]`),
		chromedp.WaitVisible(`[data-testid="deliver-confirm"]`),
	), "open the confirmation")
	if n := app.CountRows("jobs"); n != 0 {
		t.Fatalf("%d jobs before confirming", n)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "share-desktop-confirm")
	must(t, chromedp.Do(ctx, chromedp.Click(`[data-testid="deliver-confirm"]`)), "confirm")

	// The KPIs move by themselves: 3 delivered, 1 failed, 1 revoked, none pending.
	done := `document.querySelector('[data-testid="kpi-pending-value"]').textContent === "0" &&
		document.querySelector('[data-testid="kpi-delivered-value"]').textContent === "3" &&
		document.querySelector('[data-testid="kpi-failed-value"]').textContent === "1" &&
		document.querySelector('[data-testid="kpi-revoked-value"]').textContent === "1"`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](done, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("KPIs did not reach delivered: pending %s delivered %s failed %s revoked %s: %v",
			kpiValue(t, ctx, "pending"), kpiValue(t, ctx, "delivered"), kpiValue(t, ctx, "failed"), kpiValue(t, ctx, "revoked"), err)
	}
	same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`window.__marker === "share-page" && performance.getEntriesByType('navigation').length === 1`))
	if err != nil || !same {
		t.Fatalf("the page reloaded (marker lost): %v", err)
	}
	toastText, err := chromedp.Run(ctx, chromedp.Text(`#toasts .toast`))
	if err != nil || toastText != "Delivering 5 pre-saves" {
		t.Fatalf("toast = %q, %v", toastText, err)
	}
	if open, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('.deliver-card details').open`)); open {
		t.Fatal("the confirmation stayed open")
	}
	// Polling stops once everything is final.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.getElementById('share-stats').hasAttribute('hx-trigger')`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("still polling after the run: %v", err)
	}
	progress, _ := chromedp.Run(ctx, chromedp.Text(`[data-testid="progress-text"]`))
	if progress != "5 of 5 · 100%" {
		t.Fatalf("progress = %q", progress)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "share-desktop-after")

	// The list (reloaded on purpose now) shows each row's outcome and reason.
	must(t, chromedp.Do(ctx, chromedp.Navigate(share), chromedp.WaitVisible(`[data-testid="presaves-table"]`)), "reload")
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`[...document.querySelectorAll('[data-testid=presave-row]')].map(r => r.dataset.state).sort().join(",")`))
	if err != nil || rows != "delivered,delivered,delivered,failed,revoked" {
		t.Fatalf("rows = %q, %v", rows, err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "share-desktop-after-list")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Phone[0], browsertest.Phone[1])), "phone")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "share-phone-after")
	must(t, chromedp.Do(ctx, colorScheme("dark")), "dark")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "share-phone-after-dark")
}
