package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// With YouTube's daily quota used up, the artist sees the banner on the
// Share and Platforms tabs, at phone and desktop sizes; a link without a
// YouTube video address says it is needed; the fan's landing page offers
// YouTube Music pre-save.
func TestYouTubeQuotaBannerAndAddressNote(t *testing.T) {
	app := testapp.New(t, testapp.Options{YouTube: true})
	o := app.CreateOwner("mara@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
	ctx0 := context.Background()
	// One fan pre-saved on YouTube Music (through the router and the stand-in).
	c := app.NewClient()
	res, _ := c.Do(http.MethodPost, "/night-drive/presave/youtube_music", url.Values{}, nil)
	res2, err := c.Client.Get(res.Header.Get("Location"))
	must(t, err, "consent")
	res2.Body.Close()
	if res, body := c.Get(strings.TrimPrefix(res2.Header.Get("Location"), app.URL)); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d\n%s", res.StatusCode, body)
	}
	// The quota ran out: resumes at midnight Pacific (09:00 in Berlin).
	until := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	must(t, store.PutSetting(ctx0, app.DB, release.PauseKey("youtube_music"), until.Format(time.RFC3339)), "pause")

	for _, vp := range []struct {
		name string
		size [2]int64
	}{{"phone", browsertest.Phone}, {"desktop", browsertest.Desktop}} {
		t.Run(vp.name, func(t *testing.T) {
			ctx := browsertest.New(t, vp.size)
			must(t, chromedp.Do(ctx,
				chromedp.Navigate(app.URL+"/night-drive"),
				chromedp.WaitVisible(`[data-testid="presave-youtube_music"]`),
			), "landing page")
			browsertest.Screenshot(t, ctx, "youtube-landing-"+vp.name)
			must(t, chromedp.Do(ctx,
				chromedp.Navigate(fmt.Sprintf("%s/admin/links/%d/share", app.URL, l.ID)),
				logIn(o.Email, o.Password),
				chromedp.WaitVisible(`[data-testid="youtube-quota-banner"]`),
			), "share tab")
			banner, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="youtube-quota-banner"]`))
			must(t, err, "banner")
			if !strings.Contains(banner, "YouTube's daily quota is used up; deliveries resume at 09:00 your time") {
				t.Fatalf("banner: %q", banner)
			}
			browsertest.Screenshot(t, ctx, "youtube-share-"+vp.name)
			must(t, chromedp.Do(ctx,
				chromedp.Navigate(fmt.Sprintf("%s/admin/links/%d/platforms", app.URL, l.ID)),
				chromedp.WaitVisible(`[data-testid="youtube-needs-url"]`),
			), "platforms tab")
			note, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="youtube-needs-url"]`))
			must(t, err, "note")
			if !strings.Contains(note, "paste the release's video address") {
				t.Fatalf("note: %q", note)
			}
			browsertest.Screenshot(t, ctx, "youtube-platforms-"+vp.name)
		})
	}
}
