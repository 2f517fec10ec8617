package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// A fan on a phone pre-saves on Deezer through the stand-in's consent page
// (the site's CSP lets the form go there); the artist then reads the
// presave panel and the Insights with their numbers per platform, on a
// phone and a desktop, without sideways scrolling.
func TestDeezerPresaveAndPlatformKPIs(t *testing.T) {
	app, l := landingApp(t, testapp.Options{Spotify: true, Deezer: true, DeezerDirect: true})
	app.Deezer.SetConsentPage(true)
	ctx := browsertest.New(t, browsertest.Phone)
	must(t, chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=presave-deezer]`)), "landing")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "deezer-phone-landing")
	must(t, chromedp.Do(ctx, chromedp.Click(`[data-testid=presave-deezer]`), chromedp.WaitVisible(`[data-testid=consent-agree]`)), "to Deezer's consent")
	browsertest.Screenshot(t, ctx, "deezer-phone-consent")
	must(t, chromedp.Do(ctx, chromedp.Click(`[data-testid=consent-agree]`), chromedp.WaitVisible(`[data-testid=presave-done]`)), "consent")
	text, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=presave-done]`))
	if err != nil || !strings.Contains(text, "Deezer") {
		t.Fatalf("confirmation = %q, %v", text, err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "deezer-phone-done")

	// More fans, in every state, on Spotify and Deezer.
	ctx0 := context.Background()
	now := app.Clock.Now()
	states := []string{models.PresaveDelivered, models.PresavePending, models.PresaveFailed, models.PresaveDelivered, models.PresaveRevoked}
	for i := range 23 {
		platform := []string{"spotify", "deezer", "spotify"}[i%3]
		at := now.Add(-time.Duration(i) * 90 * time.Minute)
		p := &models.Presave{WorkspaceID: l.WorkspaceID, LinkID: l.ID, Platform: platform, PlatformUserID: fmt.Sprintf("fan%d", i),
			DisplayName: fmt.Sprintf("Fan %d", i), ConsentVersion: "v1", ConsentedAt: at, State: models.PresavePending,
			RevokeTokenHash: fmt.Sprintf("h%d", i), CreatedAt: at, UpdatedAt: at}
		must(t, store.UpsertPresave(ctx0, app.DB, p), "presave")
		_, err := app.DB.NewUpdate().Model((*models.Presave)(nil)).Set("state = ?", states[i%len(states)]).Where("id = ?", p.ID).Exec(ctx0)
		must(t, err, "state")
		if i%4 == 0 {
			signupAt(t, app, l, fmt.Sprintf("fan%d@example.net", i), "apple_music", at)
		}
	}

	must(t, chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/admin/links/%d/share", app.URL, l.ID)),
		logIn("owner@example.com", "correct horse battery"),
		chromedp.WaitVisible(`[data-testid="platform-kpis"]`),
	), "log in to the share tab")
	for _, page := range []struct{ path, wait, name string }{
		{"/share", `[data-testid="platform-kpis"]`, "platform-kpis-share"},
		{"/insights", `[data-testid="platforms-table"]`, "platform-kpis-insights"},
	} {
		for _, vp := range []struct {
			name string
			size [2]int64
		}{{"phone", browsertest.Phone}, {"desktop", browsertest.Desktop}} {
			must(t, chromedp.Do(ctx, chromedp.EmulateViewport(vp.size[0], vp.size[1]),
				chromedp.Navigate(fmt.Sprintf("%s/admin/links/%d%s", app.URL, l.ID, page.path)), chromedp.WaitVisible(page.wait)), page.name)
			if over, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); err != nil || over {
				t.Errorf("%s on a %s is wider than the screen", page.path, vp.name)
			}
			settle(t, ctx)
			browsertest.Screenshot(t, ctx, page.name+"-"+vp.name)
			if vp.name == "phone" {
				must(t, chromedp.Do(ctx, chromedp.ScrollIntoView(page.wait)), "scroll")
				settle(t, ctx)
				viewportShot(t, ctx, page.name+"-phone-table")
			}
		}
	}
	// The Deezer row counts the fan who just pre-saved (pending) and the eight seeded ones.
	row, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=platform-row-deezer] [data-testid=pp-presaves]').textContent`))
	if err != nil || row != "9" {
		t.Fatalf("Deezer pre-saves on Insights: %q, %v", row, err)
	}
}
