package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/platform/tidal/tidaltest"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// On a phone, a fan opens a live link, picks TIDAL among the direct
// platforms, chooses their account on TIDAL's (stand-in) consent page,
// allows, and sees the confirmation; the pre-save is stored for that account.
func TestPresavePhoneTidal(t *testing.T) {
	app, l := landingApp(t, testapp.Options{Spotify: true, Tidal: true})
	app.Tidal.SetConsentPage(true)
	app.Tidal.AddUser(tidaltest.User{ID: "190211", Username: "Robin", Email: "robin@example.com"})
	ctx := browsertest.New(t, browsertest.Phone)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=presave-tidal]`)); err != nil {
		t.Fatal(err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "tidal-phone-landing")

	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=presave-tidal]`), chromedp.WaitVisible(`[data-testid=consent-agree]`)); err != nil {
		t.Fatal(err)
	}
	scopes, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=consent-scopes]`))
	if err != nil || !strings.Contains(scopes, "Add to your collection") {
		t.Fatalf("consent page scopes = %q, %v", scopes, err)
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(`[data-testid=consent-user]`, "190211")); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "tidal-phone-consent")
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=consent-agree]`), chromedp.WaitVisible(`[data-testid=presave-done]`)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=presave-done]`))
	if err != nil || !strings.Contains(text, "Night Drive") || !strings.Contains(text, "TIDAL") || !strings.Contains(text, "Undo") {
		t.Fatalf("confirmation = %q, %v", text, err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "tidal-phone-done")

	var p models.Presave
	if err := app.DB.NewSelect().Model(&p).Scan(context.Background()); err != nil || p.Platform != "tidal" || p.PlatformUserID != "190211" ||
		p.State != models.PresavePending || p.Credential == nil {
		t.Fatalf("pre-save after consent: %+v, %v", p, err)
	}
}

// The same on a desktop: the landing page with both direct platforms, the
// consent page and the confirmation.
func TestPresaveDesktopTidal(t *testing.T) {
	app, l := landingApp(t, testapp.Options{Spotify: true, Tidal: true})
	app.Tidal.SetConsentPage(true)
	ctx := browsertest.New(t, browsertest.Desktop)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=presave-tidal]`)); err != nil {
		t.Fatal(err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "tidal-desktop-landing")
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=presave-tidal]`), chromedp.WaitVisible(`[data-testid=consent-agree]`)); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "tidal-desktop-consent")
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=consent-agree]`), chromedp.WaitVisible(`[data-testid=presave-done]`)); err != nil {
		t.Fatal(err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "tidal-desktop-done")
}
