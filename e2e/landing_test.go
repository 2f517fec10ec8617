// Package e2e drives dropday in headless Chromium, as a fan or an artist would.
package e2e

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dropday/dropday/internal/artwork"
	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// landingApp runs dropday with a live link releasing in about three days of
// real time (the browser's clock is real, not the app's test clock), with artwork.
func landingApp(t *testing.T, opts ...testapp.Options) (*testapp.App, *models.Link) {
	t.Helper()
	app := testapp.New(t, opts...)
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, time.Now().Add(3*24*time.Hour+5*time.Hour).Truncate(time.Hour))
	st := &artwork.Store{Dir: filepath.Join(app.Config.DataDir, "artwork"), MaxBytes: app.Config.MaxArtworkBytes}
	key, err := st.Save(bytes.NewReader(coverPNG(t)))
	if err != nil {
		t.Fatal(err)
	}
	l.Artwork = key
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	return app, l
}

// coverPNG draws a colourful stand-in cover: a dusk gradient, a sun and a road.
func coverPNG(t *testing.T) []byte {
	t.Helper()
	const n = 800
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for y := 0; y < n; y++ {
		f := float64(y) / n
		sky := color.RGBA{uint8(40 + 200*f), uint8(20 + 60*f), uint8(120 - 40*f), 255}
		for x := 0; x < n; x++ {
			c := sky
			dx, dy := float64(x-n/2), float64(y-n*11/20)
			if d := math.Hypot(dx, dy); d < 170 && y < n*11/20 {
				c = color.RGBA{255, uint8(200 - 80*f), 90, 255}
			}
			if y > n*11/20 {
				// The road: dark ground with a bright centre line narrowing to the horizon.
				w := float64(y-n*11/20) / float64(n*9/20)
				c = color.RGBA{uint8(30 + 20*w), 18, uint8(50 + 30*w), 255}
				if math.Abs(dx) < 4+10*w && (y/18)%2 == 0 {
					c = color.RGBA{255, 220, 120, 255}
				}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLandingPhone(t *testing.T) {
	app, l := landingApp(t)
	ctx := browsertest.New(t, browsertest.Phone)
	// The fan is in New York: the page must speak their time, not Berlin's.
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=signup-form]`)); err != nil {
		t.Fatal(err)
	}
	// The countdown fills in: digits, not the server's "--".
	days, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const d = document.querySelector('[data-unit=d]').textContent; return /^\d+$/.test(d) ? d : null })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil || days != "03" {
		t.Fatalf("countdown days = %q, %v; want 03", days, err)
	}
	when, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=release-time]`))
	ny, _ := time.LoadLocation("America/New_York")
	local := l.ReleaseAt.In(ny)
	if err != nil || !strings.HasPrefix(when, "Out "+local.Format("Mon 2 Jan")+", ") || !strings.HasSuffix(when, " your time") ||
		!(strings.Contains(when, local.Format("15:04")) || strings.Contains(when, local.Format("3:04"))) {
		t.Fatalf("release line = %q, %v; want the New York time of %v", when, err, local)
	}
	// The artwork loaded (a broken image has no natural width).
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector('[data-testid=artwork]').naturalWidth`)); err != nil || w != 640 {
		t.Fatalf("artwork natural width = %d, %v", w, err)
	}
	// About 280 px wide on a 390 px phone.
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('[data-testid=artwork]').getBoundingClientRect().width`)); err != nil || w < 260 || w > 300 {
		t.Fatalf("artwork is %.0f px wide, %v", w, err)
	}
	// Nothing overflows sideways.
	if over, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); err != nil || over {
		t.Fatalf("page scrolls sideways: %v, %v", over, err)
	}
	browsertest.Screenshot(t, ctx, "landing-phone")

	// Pick a platform: the email step opens right under it.
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=platform-soundcloud]`), chromedp.WaitVisible(`#email`)); err != nil {
		t.Fatal(err)
	}
	under, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid=platform-soundcloud]').nextElementSibling.matches('[data-email-step]')`))
	if err != nil || !under {
		t.Fatalf("email step is not under the chosen platform: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(`#email`, "fan@example.com")); err != nil {
		t.Fatal(err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "landing-phone-email")
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=signup-submit]`), chromedp.WaitVisible(`[data-testid=signup-done]`)); err != nil {
		t.Fatal(err)
	}
	done, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=signup-done]`))
	if err != nil || !strings.Contains(done, "fan@example.com") || !strings.Contains(done, "Night Drive") {
		t.Fatalf("confirmation = %q, %v", done, err)
	}
	// The page itself stayed (htmx swapped the form in place).
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`[data-testid=countdown]`)); err != nil {
		t.Fatal(err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "landing-phone-done")

	var platform string
	err = app.DB.NewSelect().Table("subscribers").Column("platform").Where("email = ?", "fan@example.com").Scan(context.Background(), &platform)
	if err != nil || platform != "soundcloud" {
		t.Fatalf("subscriber platform = %q, %v", platform, err)
	}
	if n := app.CountRows("signups"); n != 1 {
		t.Fatalf("signups = %d, want 1", n)
	}
}

// A bad email is answered inline, in place, and the fan can fix it.
func TestLandingPhoneInlineError(t *testing.T) {
	app, l := landingApp(t)
	ctx := browsertest.New(t, browsertest.Phone)
	err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/"+l.Slug),
		chromedp.Click(`[data-testid=platform-spotify]`),
		chromedp.WaitVisible(`#email`),
		// "fan@example" passes the browser's own check but not ours.
		chromedp.SendKeys(`#email`, "fan@example"),
		chromedp.Click(`[data-testid=signup-submit]`),
		chromedp.WaitVisible(`[data-testid=email-error]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "landing-phone-error")
	if n := app.CountRows("subscribers"); n != 0 {
		t.Fatalf("a bad email wrote %d subscribers", n)
	}
	err = chromedp.Do(ctx,
		chromedp.Clear(`#email`),
		chromedp.SendKeys(`#email`, "fan@example.com"),
		chromedp.Click(`[data-testid=signup-submit]`),
		chromedp.WaitVisible(`[data-testid=signup-done]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := app.CountRows("subscribers"); n != 1 {
		t.Fatalf("subscribers = %d, want 1", n)
	}
}

// settle waits until transitions and entrance animations are over (the
// countdown's tick never is), so screenshots show the final look.
func settle(t *testing.T, ctx context.Context) {
	t.Helper()
	js := `document.getAnimations().every(a => a.playState !== 'running' || a.animationName === 'tick')`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatalf("page still animating: %v", err)
	}
}

func TestLandingDesktop(t *testing.T) {
	app, l := landingApp(t)
	ctx := browsertest.New(t, browsertest.Desktop)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`/^\d+$/.test(document.querySelector('[data-unit=s]').textContent)`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatal(err)
	}
	// A centred card, not stretched across the screen.
	w, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('[data-testid=landing]').getBoundingClientRect().width`))
	if err != nil || w > 520 {
		t.Fatalf("card is %.0f px wide, %v", w, err)
	}
	browsertest.Screenshot(t, ctx, "landing-desktop")
}

// Without artwork the page draws a placeholder, never a broken image.
func TestLandingPhoneNoArtwork(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "no-art", models.LinkLive, time.Now().Add(50*time.Hour))
	ctx := browsertest.New(t, browsertest.Phone)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=artwork-placeholder]`)); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "landing-phone-no-artwork")
}

// An archived link ends kindly, with the release still recognisable.
func TestLandingEnded(t *testing.T) {
	app, l := landingApp(t)
	l.State = models.LinkArchived
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t, browsertest.Phone)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=ended-message]`)); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "landing-phone-ended")
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/no-such-release"), chromedp.WaitVisible(`[data-testid=error-message]`)); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "landing-phone-404")
}

// Without JavaScript: the release moment in the artist's zone, the email step
// opened by CSS alone, a normal form post and the whole page back.
func TestLandingPhoneWithoutJavaScript(t *testing.T) {
	app, l := landingApp(t)
	ctx := browsertest.New(t, browsertest.Phone)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=signup-form]`)); err != nil {
		t.Fatal(err)
	}
	when, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=release-time]`))
	if err != nil || !strings.HasSuffix(when, "(Europe/Berlin)") {
		t.Fatalf("release line = %q, %v", when, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(`[data-testid=platform-deezer]`),
		chromedp.WaitVisible(`#email`),
		chromedp.SendKeys(`#email`, "nojs@example.com"),
	)
	if err != nil {
		t.Fatal(err)
	}
	// settle needs JavaScript in the page; here the button's 150 ms transition just gets time to end.
	if err := chromedp.Do(ctx, chromedp.Sleep(400*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "landing-phone-nojs")
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=signup-submit]`), chromedp.WaitVisible(`[data-testid=signup-done]`)); err != nil {
		t.Fatal(err)
	}
	var platform string
	err = app.DB.NewSelect().Table("subscribers").Column("platform").Where("email = ?", "nojs@example.com").Scan(context.Background(), &platform)
	if err != nil || platform != "deezer" {
		t.Fatalf("subscriber platform = %q, %v", platform, err)
	}
}

// When the server refuses (here: the link was archived while the page was
// open), the fan sees a message instead of a button that does nothing.
func TestLandingPhoneServerRefuses(t *testing.T) {
	app, l := landingApp(t)
	ctx := browsertest.New(t, browsertest.Phone)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=signup-form]`)); err != nil {
		t.Fatal(err)
	}
	l.State = models.LinkArchived
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(ctx,
		chromedp.Click(`[data-testid=platform-tidal]`),
		chromedp.WaitVisible(`#email`),
		chromedp.SendKeys(`#email`, "fan@example.com"),
		chromedp.Click(`[data-testid=signup-submit]`),
		chromedp.WaitVisible(`form.signup .form-error`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := app.CountRows("subscribers"); n != 0 {
		t.Fatalf("subscribers = %d, want 0", n)
	}
}

// prefers-reduced-motion: the digits still count down, but nothing moves.
func TestLandingReducedMotion(t *testing.T) {
	app, l := landingApp(t)
	ctx := browsertest.New(t, browsertest.Phone)
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug)); err != nil {
		t.Fatal(err)
	}
	// Wait for a tick of the seconds, then check that it was not animated.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('[data-unit=s]').classList.contains('tick')`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatal(err)
	}
	name, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('[data-unit=s]')).animationName`))
	if err != nil || name != "none" {
		t.Fatalf("seconds animation = %q, %v; want none", name, err)
	}
}

// The keyboard alone: Tab into the platforms, arrow to one, Tab to the email
// field under it, type, Enter.
func TestLandingKeyboard(t *testing.T) {
	app, l := landingApp(t)
	ctx := browsertest.New(t, browsertest.Phone)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=signup-form]`)); err != nil {
		t.Fatal(err)
	}
	focused := func() string {
		t.Helper()
		id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
		t.Fatal(err)
	}
	if id := focused(); id != "platform-spotify" {
		t.Fatalf("first Tab focused %q, want the first platform", id)
	}
	// The focus ring shows on the button the radio stands for.
	ring, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('[data-testid=platform-spotify]')).outlineStyle`))
	if err != nil || ring != "solid" {
		t.Fatalf("focus ring = %q, %v", ring, err)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown)); err != nil {
		t.Fatal(err)
	}
	if id := focused(); id != "platform-deezer" {
		t.Fatalf("arrows moved to %q, want platform-deezer (focus must stay in the list)", id)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
		t.Fatal(err)
	}
	if id := focused(); id != "email" {
		t.Fatalf("Tab after choosing went to %q, want the email field", id)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("keys@example.com"+kb.Enter), chromedp.WaitVisible(`[data-testid=signup-done]`)); err != nil {
		t.Fatal(err)
	}
	var platform string
	err = app.DB.NewSelect().Table("subscribers").Column("platform").Where("email = ?", "keys@example.com").Scan(context.Background(), &platform)
	if err != nil || platform != "deezer" {
		t.Fatalf("subscriber platform = %q, %v", platform, err)
	}
}

// After the release time the same page says "Out now" and keeps the signup.
func TestLandingPhoneOutNow(t *testing.T) {
	app, l := landingApp(t)
	l.ReleaseAt = time.Now().Add(-2 * time.Hour)
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	app.Clock.Set(time.Now())
	ctx := browsertest.New(t, browsertest.Phone)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=out-now]`), chromedp.WaitVisible(`[data-testid=signup-form]`)); err != nil {
		t.Fatal(err)
	}
	when, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=release-time]`))
	if err != nil || !strings.HasPrefix(when, "Released ") || !strings.HasSuffix(when, "your time") {
		t.Fatalf("release line = %q, %v", when, err)
	}
	browsertest.Screenshot(t, ctx, "landing-phone-out-now")
}
