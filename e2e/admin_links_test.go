package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// coverPNG writes a 600×600 cover with a soft gradient and a disc, so the
// thumbnails in screenshots look like artwork rather than a flat block.
func coverPNG(t *testing.T) string {
	t.Helper()
	const side = 600
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			c := color.RGBA{uint8(40 + x*120/side), uint8(20 + y*60/side), uint8(120 + (x+y)*100/(2*side)), 255}
			dx, dy := x-side/2, y-side/2
			if r2 := dx*dx + dy*dy; r2 < 170*170 && r2 > 30*30 {
				c = color.RGBA{245, 170, 90, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cover.png")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
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
		if _, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="`+f+`-error"]`, chromedp.AtLeast(0))); err != nil {
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
		chromedp.SetUploadFiles("#artwork", []string{coverPNG(t)}),
		chromedp.Click(`[data-testid="save-link"]`),
		chromedp.WaitVisible(`[data-testid="notice"]`),
		chromedp.WaitVisible(`[data-testid="current-artwork"]`),
	), "submit good form")
	if url, _ := chromedp.Run(ctx, chromedp.Text(`[data-testid="public-url"]`)); url != app.URL+"/mara-lune-night-drive" {
		t.Fatalf("public URL = %q", url)
	}

	// A few more links so the list shows every state.
	release := time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC)
	app.Link(o.Workspace.ID, "tides-album", models.LinkDraft, release.AddDate(0, 2, 0)).Title = "Tides"
	app.Link(o.Workspace.ID, "paper-moon", models.LinkReleased, release.AddDate(0, -3, 0))
	app.Link(o.Workspace.ID, "old-demo", models.LinkArchived, release.AddDate(-1, 0, 0))

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
