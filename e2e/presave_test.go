package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// A fan on a phone pre-saves through Spotify's (stand-in) consent page, sees
// the confirmation, then undoes it with the one-click link.
func TestPresavePhoneSpotify(t *testing.T) {
	app, l := landingApp(t, testapp.Options{Spotify: true})
	app.Spotify.SetConsentPage(true)
	ctx := browsertest.New(t, browsertest.Phone)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=presave-spotify]`)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`/^\d+$/.test(document.querySelector('[data-unit=d]').textContent)`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatal(err)
	}
	if hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid=inapp-note]').hidden`)); err != nil || !hidden {
		t.Fatalf("the in-app notice shows in a normal browser: %v", err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "presave-phone-landing")

	// Spotify's consent screen, then back.
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=presave-spotify]`), chromedp.WaitVisible(`[data-testid=consent-agree]`)); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "presave-phone-consent")
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=consent-agree]`), chromedp.WaitVisible(`[data-testid=presave-done]`)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=presave-done]`))
	if err != nil || !strings.Contains(text, "Night Drive") || !strings.Contains(text, "Spotify library") || !strings.Contains(text, "your time") || !strings.Contains(text, "Undo") {
		t.Fatalf("confirmation = %q, %v", text, err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "presave-phone-done")
	var p models.Presave
	if err := app.DB.NewSelect().Model(&p).Scan(context.Background()); err != nil || p.State != models.PresavePending || p.Credential == nil {
		t.Fatalf("pre-save after consent: %+v, %v", p, err)
	}

	// Undo: the page asks first, then cancels and destroys the credential.
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=undo]`), chromedp.WaitVisible(`[data-testid=revoke-submit]`)); err != nil {
		t.Fatal(err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "presave-phone-revoke")
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=revoke-submit]`), chromedp.WaitVisible(`[data-testid=revoke-done]`)); err != nil {
		t.Fatal(err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "presave-phone-revoked")
	if err := app.DB.NewSelect().Model(&p).WherePK().Scan(context.Background()); err != nil || p.State != models.PresaveRevoked || p.Credential != nil {
		t.Fatalf("pre-save after undo: %+v, %v", p, err)
	}
}

// Inside Instagram's browser the page warns that the login may fail and points to the email option.
func TestPresaveInAppBrowserNotice(t *testing.T) {
	app, l := landingApp(t, testapp.Options{Spotify: true})
	ctx := browsertest.New(t, browsertest.Phone)
	ua := "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 350.0.0.0"
	if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=inapp-note]`)); err != nil {
		t.Fatal(err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "presave-phone-inapp")
}

func TestPresaveDesktop(t *testing.T) {
	app, l := landingApp(t, testapp.Options{Spotify: true})
	ctx := browsertest.New(t, browsertest.Desktop)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=presave-spotify]`)); err != nil {
		t.Fatal(err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "presave-desktop-landing")
}
