package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// coverFile writes the shared test cover to a temp file, for upload forms.
func coverFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cover.png")
	if err := os.WriteFile(p, coverPNG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// logIn fills and sends the admin login form, from a page that shows it (an
// admin page asked for before logging in, or /login).
func logIn(email, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(`[data-testid="login-form"]`),
		chromedp.SendKeys("#email", email),
		chromedp.SendKeys("#password", password),
		chromedp.Click(`[data-testid="login-form"] button[type="submit"]`),
	)
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestAdminLinks(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("mara@example.com", "Mara Lune")
	ctx := browsertest.New(t, browsertest.Desktop)

	// Log in through the real form.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/admin/links"),
		chromedp.WaitVisible(`[data-testid="login-form"]`),
	), "open login")
	browsertest.Screenshot(t, ctx, "admin-login")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Phone[0], browsertest.Phone[1]), colorScheme("dark")), "phone")
	browsertest.Screenshot(t, ctx, "admin-login-phone-dark")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Desktop[0], browsertest.Desktop[1]), colorScheme("light")), "desktop")
	must(t, chromedp.Do(ctx,
		chromedp.SendKeys("#email", o.Email),
		chromedp.SendKeys("#password", o.Password),
		chromedp.Click(`[data-testid="login-form"] button[type="submit"]`),
		chromedp.WaitVisible(`[data-testid="links-empty"]`),
	), "log in")
	browsertest.Screenshot(t, ctx, "admin-links-empty")

	// The new-link form, first sent with mistakes.
	must(t, chromedp.Do(ctx,
		chromedp.Click(`[data-testid="new-link"]`),
		chromedp.WaitVisible(`[data-testid="link-form"]`),
	), "open form")
	browsertest.Screenshot(t, ctx, "admin-link-form")
	must(t, chromedp.Do(ctx,
		chromedp.SendKeys("#title", "Night Drive"),
		chromedp.SetValue("#time_zone", "Mars/Olympus"),
		chromedp.SendKeys("#source", "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M"),
		chromedp.Click(`[data-testid="save-link"]`),
		chromedp.WaitVisible(`[data-testid="form-error"]`),
	), "submit bad form")
	for _, f := range []string{"artist", "release_date", "time_zone", "source"} {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
			`document.querySelector('[data-testid="`+f+`-error"]') !== null && document.getElementById("`+f+`").getAttribute("aria-invalid") === "true"`))
		if err != nil || !ok {
			t.Fatalf("no inline error for %s: %v", f, err)
		}
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value("#title")); v != "Night Drive" {
		t.Fatalf("title not kept after errors: %q", v)
	}
	if n := app.CountRows("links"); n != 0 {
		t.Fatalf("a bad form wrote %d links", n)
	}
	browsertest.Screenshot(t, ctx, "admin-link-form-errors")

	// Correct it, add artwork and send again.
	must(t, chromedp.Do(ctx,
		chromedp.SendKeys("#artist", "Mara Lune"),
		chromedp.SetValue("#subtitle", "The first single from Tides"),
		chromedp.SetValue("#release_date", "2026-12-05"),
		chromedp.SetValue("#release_time", "00:00"),
		chromedp.SetValue("#time_zone", "Europe/Berlin"),
		chromedp.SetValue("#source", "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy"),
		chromedp.SetValue("#state", "live"),
		chromedp.SetUploadFiles("#artwork", []string{coverFile(t)}),
		chromedp.Click(`[data-testid="save-link"]`),
		chromedp.WaitVisible(`[data-testid="notice"]`),
		chromedp.WaitVisible(`[data-testid="current-artwork"]`),
	), "submit good form")
	if url, _ := chromedp.Run(ctx, chromedp.Text(`[data-testid="public-url"]`)); url != app.URL+"/mara-lune-night-drive" {
		t.Fatalf("public URL = %q", url)
	}

	// A few more links so the list shows every state.
	release := time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC)
	more := []struct{ slug, title, state string }{
		{"tides-album", "Tides (Deluxe)", models.LinkDraft},
		{"paper-moon", "Paper Moon", models.LinkReleased},
		{"old-demo", "Demo Tape 2024", models.LinkArchived},
	}
	for i, m := range more {
		l := app.Link(o.Workspace.ID, m.slug, m.state, release.AddDate(0, 2-2*i, 0))
		l.Title = m.title
		must(t, store.UpdateLink(context.Background(), app.DB, l), "retitle")
		if m.state == models.LinkReleased {
			for j := 0; j < 3; j++ {
				signup(t, app, l, fmt.Sprintf("fan%d@example.com", j))
			}
		}
	}

	must(t, chromedp.Do(ctx,
		chromedp.Click(`.sidebar nav a[href="/admin/links"]`),
		chromedp.WaitVisible(`[data-testid="links-table"]`),
	), "open list")
	row := `tr[data-slug="mara-lune-night-drive"]`
	pill, err := chromedp.Run(ctx, chromedp.Text(row+` [data-testid="state-pill"]`))
	must(t, err, "pill")
	when, err := chromedp.Run(ctx, chromedp.Text(row+` [data-testid="release-time"]`))
	must(t, err, "release time")
	if pill != "Live" || when != "Sat 5 Dec 2026, 00:00 CET" {
		t.Fatalf("row shows pill %q, time %q", pill, when)
	}
	if src, _ := chromedp.Run(ctx, chromedp.AttributeValue(row+` img.thumb`, "src")); !strings.Contains(src.Value, "/160.jpg") {
		t.Fatalf("thumbnail src = %q", src.Value)
	}
	browsertest.Screenshot(t, ctx, "admin-links-list")

	// The edit page and the Subscribers tab of a link with signups.
	must(t, chromedp.Do(ctx,
		chromedp.Click(`tr[data-slug="paper-moon"] a.row-title`),
		chromedp.WaitVisible(`[data-testid="link-form"]`),
		chromedp.Click(`nav.tabs a[href$="/subscribers"]`),
		chromedp.WaitVisible(`[data-testid="subscribers-table"]`),
	), "subscribers tab")
	browsertest.Screenshot(t, ctx, "admin-link-subscribers")

	// Dark theme.
	must(t, chromedp.Do(ctx,
		colorScheme("dark"),
		chromedp.Navigate(app.URL+"/admin/links"),
		chromedp.WaitVisible(`[data-testid="links-table"]`),
	), "dark list")
	browsertest.Screenshot(t, ctx, "admin-links-list-dark")
	must(t, chromedp.Do(ctx,
		chromedp.Click(`tr[data-slug="mara-lune-night-drive"] a.row-title`),
		chromedp.WaitVisible(`[data-testid="link-form"]`),
	), "dark edit")
	browsertest.Screenshot(t, ctx, "admin-link-edit-dark")
	must(t, chromedp.Do(ctx,
		colorScheme("light"),
	), "light again")

	// The same pages on a phone.
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Phone[0], browsertest.Phone[1]),
		chromedp.Navigate(app.URL+"/admin/links"),
		chromedp.WaitVisible(`[data-testid="links-table"]`),
	), "phone list")
	browsertest.Screenshot(t, ctx, "admin-links-list-phone")
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/admin/links/new"),
		chromedp.WaitVisible(`[data-testid="link-form"]`),
	), "phone form")
	browsertest.Screenshot(t, ctx, "admin-link-form-phone")
}

func signup(t *testing.T, app *testapp.App, l *models.Link, email string) {
	t.Helper()
	ctx := context.Background()
	now := app.Clock.Now()
	sub := &models.Subscriber{WorkspaceID: l.WorkspaceID, Email: email, Platform: "apple_music",
		Status: models.SubscriberActive, CreatedAt: now, UpdatedAt: now}
	must(t, store.UpsertSubscriber(ctx, app.DB, sub), "subscriber")
	must(t, store.UpsertSignup(ctx, app.DB, &models.Signup{WorkspaceID: l.WorkspaceID, LinkID: l.ID,
		SubscriberID: sub.ID, Platform: sub.Platform, IP: "203.0.113.7", UserAgent: "test",
		ConsentVersion: "2026-11", ConsentedAt: now, CreatedAt: now}), "signup")
}

// colorScheme makes the page see prefers-color-scheme: scheme.
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}
