package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/platform/apple/appletest"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// A fan picks Apple Music: the page loads the (stand-in's) MusicKit JS only
// then, authorize() opens the consent popup, the fan allows, and the page
// posts the Music User Token and shows the confirmation. On a phone and on
// a desktop, each its own fan.
func TestApplePreAddBrowser(t *testing.T) {
	app, l := landingApp(t, testapp.Options{Apple: true})
	app.Apple.AddUser(appletest.User{Name: "robin", Storefront: "gb"})
	for i, vp := range []struct {
		name string
		size [2]int64
	}{{"phone", browsertest.Phone}, {"desktop", browsertest.Desktop}} {
		t.Run(vp.name, func(t *testing.T) {
			ctx := browsertest.New(t, vp.size)
			if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=presave-apple_music]`)); err != nil {
				t.Fatal(err)
			}
			loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.MusicKit !== "undefined"`))
			if err != nil || loaded {
				t.Fatalf("MusicKit JS loaded before the fan picked Apple Music (%v)", err)
			}
			settle(t, ctx)
			browsertest.Screenshot(t, ctx, "apple-"+vp.name+"-landing")

			popup := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool {
				return strings.Contains(info.URL, "/musickit/authorize")
			})
			if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=presave-apple_music]`)); err != nil {
				t.Fatal(err)
			}
			var id target.ID
			select {
			case id = <-popup:
			case <-time.After(20 * time.Second):
				status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('[data-inpage-status]')||{}).textContent||''`))
				t.Fatalf("MusicKit's consent popup did not open; the page says %q", status)
			}
			pctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
			defer cancel()
			if err := chromedp.Do(pctx, chromedp.WaitVisible(`[data-testid=musickit-allow]`)); err != nil {
				t.Fatal(err)
			}
			browsertest.Screenshot(t, pctx, "apple-"+vp.name+"-consent")
			if err := chromedp.Do(pctx, chromedp.Click(`[data-testid=musickit-allow]`)); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.WaitVisible(`[data-testid=presave-done]`)); err != nil {
				t.Fatal(err)
			}
			text, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=presave-done]`))
			if err != nil || !strings.Contains(text, "Night Drive") || !strings.Contains(text, "Apple Music library") {
				t.Fatalf("confirmation = %q, %v", text, err)
			}
			settle(t, ctx)
			browsertest.Screenshot(t, ctx, "apple-"+vp.name+"-done")

			var ps []models.Presave
			if err := app.DB.NewSelect().Model(&ps).Where("platform = 'apple_music'").Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(ps) != i+1 || ps[i].Storefront != "gb" || ps[i].Credential == nil || ps[i].State != models.PresavePending {
				t.Fatalf("pre-saves after the %s fan: %+v", vp.name, ps)
			}
		})
	}

	// A fan who presses "Don't Allow" is told nothing was saved, and can try again.
	t.Run("denied", func(t *testing.T) {
		ctx := browsertest.New(t, browsertest.Phone)
		if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"+l.Slug), chromedp.WaitVisible(`[data-testid=presave-apple_music]`)); err != nil {
			t.Fatal(err)
		}
		popup := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return strings.Contains(info.URL, "/musickit/authorize") })
		if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=presave-apple_music]`)); err != nil {
			t.Fatal(err)
		}
		var id target.ID
		select {
		case id = <-popup:
		case <-time.After(20 * time.Second):
			t.Fatal("no consent popup")
		}
		pctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
		defer cancel()
		if err := chromedp.Do(pctx, chromedp.WaitVisible(`[data-testid=musickit-deny]`), chromedp.Click(`[data-testid=musickit-deny]`)); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(document.querySelector('[data-inpage-status]')||{}).textContent.includes("nothing was saved")`,
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("no refusal message: %v", err)
		}
		enabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.querySelector('[data-testid=presave-apple_music]').disabled`))
		if err != nil || !enabled {
			t.Fatalf("the button stays disabled after a refusal (%v)", err)
		}
		settle(t, ctx)
		browsertest.Screenshot(t, ctx, "apple-phone-denied")
		if n := app.CountRows("presaves"); n != 2 {
			t.Fatalf("a refusal changed the pre-saves: %d", n)
		}
	})
}
