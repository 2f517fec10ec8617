package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/testapp"
)

// phoneThenDesktop takes a screenshot at phone size and at desktop width, and goes back to the phone.
func phoneThenDesktop(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, name+"-phone")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Desktop[0], browsertest.Desktop[1])), "desktop")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, name+"-desktop")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Phone[0], browsertest.Phone[1])), "phone")
}

// A fan on a phone pre-saves, opens the privacy page from the landing page,
// then erases their data with the token of their undo link; the artist's
// subscriber list no longer shows them, and the audit log says what happened.
func TestPrivacyFanErasesTheirData(t *testing.T) {
	app, l := landingApp(t, testapp.Options{Spotify: true})
	ctx := browsertest.New(t, browsertest.Phone)

	// The pre-save, with "also email me" (the stand-in shares the fan's email).
	must(t, chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=presave-spotify]`),
		chromedp.Click(`[data-testid=presave-spotify]`), chromedp.WaitVisible(`[data-testid=presave-done]`)), "pre-save")
	undo, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=undo]').href`))
	if err != nil || !strings.Contains(undo, "/revoke/") {
		t.Fatalf("undo link: %q %v", undo, err)
	}

	// The privacy page, from the landing page's footer.
	must(t, chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=privacy-link]`),
		chromedp.Click(`[data-testid=privacy-link]`), chromedp.WaitVisible(`[data-testid=privacy-page]`)), "privacy page")
	text, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=privacy-page]`))
	if err != nil || !strings.Contains(text, "Mara Lune") || !strings.Contains(text, "Spotify") || !strings.Contains(text, "30 days") ||
		!strings.Contains(text, "undo link") {
		t.Fatalf("privacy page says: %q %v", text, err)
	}
	phoneThenDesktop(t, ctx, "privacy-page")

	// The artist finds the fan on the Fans page (a separate browser session).
	admin := browsertest.New(t, browsertest.Desktop)
	must(t, chromedp.Do(admin, chromedp.Navigate(app.URL+"/login"), logIn("owner@example.com", "correct horse battery"), chromedp.WaitVisible(`.shell`)), "admin login")
	must(t, chromedp.Do(admin, chromedp.Navigate(app.URL+"/admin/subscribers"), chromedp.WaitVisible(`[data-testid=subscriber-row]`)), "subscriber list")
	must(t, chromedp.Do(admin, chromedp.Navigate(app.URL+"/admin/fans"), chromedp.WaitVisible(`[data-testid=fan-search]`),
		chromedp.SendKeys("#fan-q", "fan1@example.test"), chromedp.Submit("#fan-q"), chromedp.WaitVisible(`[data-testid=fan-found]`)), "fans page")
	both(t, admin, "admin-fans")

	// The fan opens their undo link, and from it their data.
	must(t, chromedp.Do(ctx, chromedp.Navigate(undo), chromedp.WaitVisible(`[data-testid=your-data]`),
		chromedp.Click(`[data-testid=your-data]`), chromedp.WaitVisible(`[data-testid=fan-data]`)), "data page")
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=fan-item]').length`))
	if err != nil || n != 3 {
		t.Fatalf("data page shows %d records (%v), want pre-save, subscription, signup", n, err)
	}
	phoneThenDesktop(t, ctx, "privacy-fan-data")
	// Erase: the page asks first.
	must(t, chromedp.Do(ctx, chromedp.Click(`[data-testid=fan-erase-open]`), chromedp.WaitVisible(`[data-testid=fan-erase-submit]`)), "ask")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "privacy-fan-erase-ask-phone")
	must(t, chromedp.Do(ctx, chromedp.Click(`[data-testid=fan-erase-submit]`), chromedp.WaitVisible(`[data-testid=fan-erased]`)), "erase")
	phoneThenDesktop(t, ctx, "privacy-fan-erased")
	if n := app.CountRows("presaves") + app.CountRows("subscribers") + app.CountRows("signups"); n != 0 {
		t.Fatalf("%d rows left after the erasure", n)
	}

	// The artist's list no longer shows the fan; the audit log shows the erasure.
	must(t, chromedp.Do(admin, chromedp.Navigate(app.URL+"/admin/subscribers"), chromedp.WaitVisible(`[data-testid=subscribers-empty]`)), "list after erasure")
	must(t, chromedp.Do(admin, chromedp.Navigate(app.URL+"/admin/audit"), chromedp.WaitVisible(`[data-testid=audit-table]`)), "audit log")
	rows, err := chromedp.Run(admin, chromedp.Text(`[data-testid=audit-table]`))
	if err != nil || !strings.Contains(rows, "Fan data erased") || !strings.Contains(rows, "fan") {
		t.Fatalf("audit log: %q %v", rows, err)
	}
	both(t, admin, "admin-audit")

	// The owner names the controller: the privacy page says it at once.
	must(t, chromedp.Do(admin, chromedp.Navigate(app.URL+"/admin/settings"), chromedp.WaitVisible(`[data-testid=privacy-form]`),
		chromedp.SendKeys("#controller_name", "Mara Lune Music Ltd"), chromedp.SendKeys("#contact_email", "privacy@maralune.example"),
		chromedp.Submit("#controller_name"), chromedp.WaitVisible(`[data-testid=privacy-saved]`)), "privacy settings")
	must(t, chromedp.Do(admin, chromedp.ScrollIntoView(`[data-testid=privacy-settings]`)), "scroll")
	both(t, admin, "admin-settings-privacy")
	must(t, chromedp.Do(ctx, chromedp.Navigate(app.URL+"/privacy/"+l.Slug), chromedp.WaitVisible(`[data-testid=privacy-contact]`)), "privacy page again")
	if who, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=privacy-controller]`)); err != nil || who != "Mara Lune Music Ltd" {
		t.Fatalf("controller on the privacy page: %q %v", who, err)
	}
}
