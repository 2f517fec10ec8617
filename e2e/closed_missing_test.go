package e2e

import (
	"context"
	"fmt"
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

// A fan on a page this instance still holds in its cache signs up for a
// link archived meanwhile (on another instance, or straight in the
// database): nothing is stored, and the form says signups have closed
// (htmx swaps the 410 answer in place).
func TestSignupOnAClosedLinkSaysSo(t *testing.T) {
	app, l := landingApp(t, testapp.Options{Env: map[string]string{"DROPDAY_PAGE_CACHE_TTL": "1m"}})
	for _, vp := range []struct {
		name string
		size [2]int64
	}{{"phone", browsertest.Phone}, {"desktop", browsertest.Desktop}} {
		t.Run(vp.name, func(t *testing.T) {
			if _, err := app.DB.NewUpdate().Model((*models.Link)(nil)).Set("state = ?", models.LinkLive).Where("id = ?", l.ID).Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx := browsertest.New(t, vp.size)
			must(t, chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=signup-form]`)), "landing page")
			// Archived behind this instance's back: its cached page still shows the form.
			if _, err := app.DB.NewUpdate().Model((*models.Link)(nil)).Set("state = ?", models.LinkArchived).Where("id = ?", l.ID).Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
			must(t, chromedp.Do(ctx,
				chromedp.Click(`[data-testid=platform-spotify]`),
				chromedp.WaitVisible(`#email`),
				chromedp.SendKeys(`#email`, "late@example.com"),
				chromedp.Click(`[data-testid=signup-submit]`),
				chromedp.WaitVisible(`[data-testid=signup-error]`),
			), "signup")
			msg, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=signup-error]`))
			must(t, err, "message")
			if !strings.Contains(msg, "Signups for this release have closed") {
				t.Fatalf("message: %q", msg)
			}
			browsertest.Screenshot(t, ctx, "signup-closed-"+vp.name)
			if n := app.CountRows("subscribers"); n != 0 {
				t.Fatalf("%d subscribers stored for an archived link", n)
			}
		})
	}
}

// After the look-up window, a link found on Spotify but given no YouTube
// address, with YouTube Music direct, shows "Still missing on YouTube Music"
// on its Platforms tab.
func TestPlatformsTabNamesAMissingYouTubeAddress(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true, YouTube: true, Env: map[string]string{"DROPDAY_RESOLVE_WINDOW": "1h"}})
	o := app.CreateOwner("mara@example.com", "Mara Lune")
	ctx0 := context.Background()
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkReleased, app.Clock.Now().Add(-3*time.Hour))
	l.SourceKind, l.SourceValue = models.SourceISRC, "USRC17607839"
	if err := store.UpdateLink(ctx0, app.DB, l); err != nil {
		t.Fatal(err)
	}
	app.Spotify.AddTrack(spotifytest.Track{ID: "4uLU6hMCjMI75M1A2tKUQC", Name: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839"})
	if _, err := app.Release.Resolver.Check(ctx0, l, false); err != nil {
		t.Fatal(err)
	}
	for _, vp := range []struct {
		name string
		size [2]int64
	}{{"phone", browsertest.Phone}, {"desktop", browsertest.Desktop}} {
		t.Run(vp.name, func(t *testing.T) {
			ctx := browsertest.New(t, vp.size)
			must(t, chromedp.Do(ctx,
				chromedp.Navigate(fmt.Sprintf("%s/admin/links/%d/platforms", app.URL, l.ID)),
				logIn(o.Email, o.Password),
				chromedp.WaitVisible(`[data-testid="missing-banner"]`),
			), "platforms tab")
			banner, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="missing-banner"]`))
			must(t, err, "banner")
			if !strings.Contains(banner, "Still missing on YouTube Music") || strings.Contains(banner, "Spotify") ||
				!strings.Contains(banner, "YouTube Music has no look-up: paste the release's address") || strings.Contains(banner, "dropday looked") {
				t.Fatalf("banner: %q", banner)
			}
			browsertest.Screenshot(t, ctx, "platforms-missing-youtube-"+vp.name)
		})
	}
}
