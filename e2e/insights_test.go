package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// Headless Chromium calls itself HeadlessChrome, which the analytics rightly
// skip as a robot: the fan browses as a phone's Safari.
const phoneSafari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"

// A fan opens the released page a few times and clicks through to Spotify
// (a local stand-in page); the artist's Insights tab on a phone then shows the
// views and the click in its SVG charts, with the numbers in tables.
func TestInsightsPage(t *testing.T) {
	listen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Stand-in</title><p data-testid="stand-in">Night Drive on the Spotify stand-in</p>`)
	}))
	t.Cleanup(listen.Close)

	app := testapp.New(t)
	ctx0 := context.Background()
	o := app.CreateOwner("mara@example.com", "Mara Lune")
	now := app.Clock.Now()
	app.Clock.Set(now.AddDate(0, 0, -12))
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, now.Add(-time.Hour))
	l2 := app.Link(o.Workspace.ID, "b-side", models.LinkLive, now.Add(72*time.Hour))
	l2.Title = "Second Single With a Longer Title"
	must(t, store.UpdateLink(ctx0, app.DB, l2), "title")
	must(t, store.RecordFound(ctx0, app.DB, l.ID, "spotify", listen.URL+"/album/night-drive", []string{"spotify:album:x"}, now), "found")
	// Pre-saves and signups over the last days, on several platforms.
	platforms := []string{"spotify", "spotify", "deezer", "apple_music", "tidal", "spotify"}
	for i := range 40 {
		at := now.AddDate(0, 0, -(i*i)/140).Add(-time.Duration(i*17%300) * time.Minute)
		p := &models.Presave{WorkspaceID: l.WorkspaceID, LinkID: l.ID, Platform: platforms[i%len(platforms)], PlatformUserID: fmt.Sprintf("fan%d", i),
			ConsentVersion: "v1", ConsentedAt: at, State: models.PresavePending, RevokeTokenHash: fmt.Sprintf("h%d", i), CreatedAt: at, UpdatedAt: at}
		must(t, store.UpsertPresave(ctx0, app.DB, p), "presave")
		if i%3 == 0 {
			signupAt(t, app, l, fmt.Sprintf("fan%d@example.net", i), "apple_music", at)
		}
	}
	// Earlier days' views, recorded as the page would (several visitors a day, some from Instagram).
	for d := 10; d >= 1; d-- {
		app.Clock.Set(now.AddDate(0, 0, -d))
		for v := range 3 + (10-d)*2 {
			r := httptest.NewRequest(http.MethodGet, "/night-drive?utm_source=newsletter", nil)
			r.Header.Set("User-Agent", fmt.Sprintf("%s v%d", phoneSafari, v))
			if v%2 == 0 {
				r.Header.Set("Referer", "https://www.instagram.com/")
				r.URL.RawQuery = ""
			}
			app.Analytics.View(r, l.ID, fmt.Sprintf("198.51.100.%d", v))
		}
		must(t, app.Analytics.Flush(ctx0), "flush")
	}
	app.Clock.Set(now)

	ctx := browsertest.New(t, browsertest.Phone)
	_, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: phoneSafari})
	must(t, err, "user agent")
	for range 3 {
		must(t, chromedp.Do(ctx, chromedp.Navigate(app.URL+"/night-drive"), chromedp.WaitVisible(`h1`)), "the fan's page")
	}
	// The released page is the smart link: its "Listen on Spotify" button goes
	// through the click route and lands on the stand-in's page.
	must(t, chromedp.Do(ctx,
		chromedp.WaitVisible(`[data-listen] a.listen-btn[href="/night-drive/go/spotify"]`),
		chromedp.Click(`[data-listen] a.listen-btn[href="/night-drive/go/spotify"]`),
		chromedp.WaitVisible(`[data-testid="stand-in"]`),
	), "click Listen on Spotify")
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if loc != listen.URL+"/album/night-drive" {
		t.Fatalf("the click landed on %q", loc)
	}

	must(t, chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/admin/links/%d/insights", app.URL, l.ID)),
		logIn(o.Email, o.Password),
		chromedp.WaitVisible(`[data-testid="insights-kpis"]`),
	), "log in to the insights")
	// The click is in the chart (an SVG bar with its title) and in the KPIs.
	click, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=clicks-chart] svg rect title').textContent`))
	if err != nil || click != "Spotify: 1 click" {
		t.Fatalf("clicks chart: %q, %v", click, err)
	}
	today, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid=views-chart-svg] title')].map(t => t.textContent).filter(s => s.startsWith('Sat 21 Nov')).join('|')`))
	if err != nil || today != "Sat 21 Nov: 3 views|Sat 21 Nov: 1 unique visitor" {
		t.Fatalf("today's bars: %q, %v", today, err)
	}
	row, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelector('[data-testid=views-chart-table] tbody tr').cells].map(c => c.textContent).join('|')`))
	if err != nil || row != "Sat 21 Nov|3|1" {
		t.Fatalf("the table's first row: %q, %v", row, err)
	}
	kpi, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=kpi-clicks-value]').textContent`))
	if kpi != "1" {
		t.Fatalf("clicks KPI %q", kpi)
	}
	overflow, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if overflow {
		t.Error("the insights page is wider than a phone")
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "insights-phone")
	viewportShot(t, ctx, "insights-phone-top")
	must(t, chromedp.Do(ctx, colorScheme("dark")), "dark")
	settle(t, ctx)
	viewportShot(t, ctx, "insights-phone-dark-top")
	must(t, chromedp.Do(ctx, colorScheme("light")), "light")

	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Desktop[0], browsertest.Desktop[1]),
		chromedp.Navigate(fmt.Sprintf("%s/admin/links/%d/insights", app.URL, l.ID)), chromedp.WaitVisible(`[data-testid="insights-kpis"]`)), "desktop")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "insights-desktop")
	// The period picker keeps its choice in the URL.
	must(t, chromedp.Do(ctx, chromedp.Click(`[data-testid=period] a[href$="days=7"]`), chromedp.WaitVisible(`[data-testid=period] a[href$="days=7"][aria-current=page]`)), "7 days")
	loc, _ = chromedp.Run(ctx, chromedp.Location())
	if !strings.HasSuffix(loc, "/insights?days=7") {
		t.Fatalf("period URL %q", loc)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "insights-desktop-7days")
	must(t, chromedp.Do(ctx, colorScheme("dark")), "dark")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "insights-desktop-dark")
	must(t, chromedp.Do(ctx, colorScheme("light")), "light")

	// The workspace's page, from the navigation.
	must(t, chromedp.Do(ctx, chromedp.Click(`nav[aria-label=Admin] a[href="/admin/insights"]`), chromedp.WaitVisible(`[data-testid="per-link-table"]`)), "workspace insights")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "insights-workspace-desktop")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Phone[0], browsertest.Phone[1]), chromedp.Reload(), chromedp.WaitVisible(`[data-testid="per-link-table"]`)), "workspace on a phone")
	overflow, _ = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if overflow {
		t.Error("the workspace insights page is wider than a phone")
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "insights-workspace-phone")
}
