package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/platform/apple/appletest"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/platform/tidal/tidaltest"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// smartLinkApp has a released link (with artwork) found on Spotify, Apple
// Music and TIDAL, with the artist's YouTube address, and a second link
// still before its release.
func smartLinkApp(t *testing.T) (*testapp.App, *models.Link) {
	t.Helper()
	app, l := landingApp(t, testapp.Options{Spotify: true, Apple: true, Tidal: true})
	ctx := context.Background()
	l.State, l.ReleaseAt = models.LinkReleased, time.Now().Add(-2*time.Hour).Truncate(time.Minute)
	l.SourceKind, l.SourceValue = models.SourceISRC, "USRC17607839"
	if err := store.UpdateLink(ctx, app.DB, l); err != nil {
		t.Fatal(err)
	}
	app.Spotify.AddTrack(spotifytest.Track{ID: "4uLU6hMCjMI75M1A2tKUQC", Name: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839"})
	app.Apple.AddSong(appletest.Song{ID: "1577502912", Name: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839"}, time.Time{})
	app.Tidal.AddTrack(tidaltest.Track{ID: "75413017", Title: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839"}, time.Time{})
	if _, err := app.Release.Resolver.Check(ctx, l, false); err != nil {
		t.Fatal(err)
	}
	if err := store.SetManualURL(ctx, app.DB, l.ID, "youtube", "https://youtu.be/dQw4w9WgXcQ"); err != nil {
		t.Fatal(err)
	}
	return app, l
}

func hrefs(t *testing.T, ctx context.Context) []string {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('[data-listen] a.listen-btn')).map(a => a.getAttribute('href'))`))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// On a phone, a released link is the smart link: a "Listen on" button per
// platform where the release is, each through /{slug}/go/{platform}, a Save
// next to Spotify; and the platform the fan picked on a pre-save page comes first.
func TestSmartLinkPhone(t *testing.T) {
	app, l := smartLinkApp(t)
	o, err := store.LinkForFan(context.Background(), app.DB, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	soon := app.Link(o.WorkspaceID, "next-single", models.LinkLive, time.Now().Add(48*time.Hour))
	ctx := browsertest.New(t, browsertest.Phone)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/night-drive"),
		chromedp.WaitVisible(`[data-testid="listen"]`),
	), "open smart link")
	want := []string{"/night-drive/go/spotify", "/night-drive/go/apple_music", "/night-drive/go/tidal", "/night-drive/go/youtube"}
	if got := hrefs(t, ctx); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("buttons %v, want %v", got, want)
	}
	// Apple Music is configured, so it saves directly too (MusicKit in the page).
	for _, sel := range []string{`[data-testid="save-spotify"]`, `[data-testid="save-apple_music"]`, `[data-testid="out-now"]`, `[data-testid="artwork"]`} {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('`+sel+`') && document.querySelector('`+sel+`').getBoundingClientRect().height > 0`))
		if err != nil || !ok {
			t.Errorf("%s is not shown: %v", sel, err)
		}
	}
	for _, sel := range []string{`[data-testid="countdown"]`, `[data-testid="signup-form"]`} {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('`+sel+`') === null`))
		if err != nil || !ok {
			t.Errorf("%s should not be on the smart link", sel)
		}
	}
	// Buttons fit the phone's width (no sideways scrolling).
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || wide {
		t.Errorf("the page scrolls sideways on a phone: %v", err)
	}
	browsertest.Screenshot(t, ctx, "smartlink-phone")

	// The fan picks YouTube (an email-signup platform here) on another release's pre-save page…
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/"+soon.Slug),
		chromedp.WaitVisible(`[data-testid="platform-youtube"]`),
		chromedp.Click(`[data-testid="platform-youtube"]`),
		chromedp.WaitVisible(`#email`),
	), "pick YouTube")
	// …and this smart link now puts YouTube first, the page itself unchanged.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/night-drive"),
		chromedp.WaitVisible(`.listen-item.preferred`),
	), "reopen smart link")
	want = []string{"/night-drive/go/youtube", "/night-drive/go/spotify", "/night-drive/go/apple_music", "/night-drive/go/tidal"}
	if got := hrefs(t, ctx); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after picking YouTube: %v, want %v", got, want)
	}
	cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil || cookies != "" {
		t.Errorf("the fan's page set cookies %q: %v", cookies, err)
	}
	browsertest.Screenshot(t, ctx, "smartlink-phone-preferred")
}

func TestSmartLinkDesktopAndPlatformsTab(t *testing.T) {
	app, l := smartLinkApp(t)
	ctx := browsertest.New(t, browsertest.Desktop)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/night-drive"),
		chromedp.WaitVisible(`[data-testid="listen"]`),
	), "open smart link")
	browsertest.Screenshot(t, ctx, "smartlink-desktop")

	// landingApp's owner, with CreateOwner's password.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/login"),
		logIn("owner@example.com", "correct horse battery"),
		chromedp.WaitVisible(`[data-testid="workspace-name"]`),
		chromedp.Navigate(fmt.Sprintf("%s/admin/links/%d/platforms", app.URL, l.ID)),
		chromedp.WaitVisible(`[data-testid="platforms-form"]`),
	), "log in, open Platforms")
	browsertest.Screenshot(t, ctx, "platforms-desktop")
	must(t, chromedp.Do(ctx,
		chromedp.SendKeys(`#url_soundcloud`, "https://evil.example/night-drive"),
		chromedp.Click(`[data-testid="save-platforms"]`),
		chromedp.WaitVisible(`[data-testid="url_soundcloud-error"]`),
	), "refused address")
	browsertest.Screenshot(t, ctx, "platforms-desktop-error")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Phone[0], browsertest.Phone[1])), "phone")
	browsertest.Screenshot(t, ctx, "platforms-phone-error")
}
