package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/testapp"
)

// In demo mode every page, admin included, carries the ribbon without hiding the layout.
func TestDemoRibbonAdmin(t *testing.T) {
	app := testapp.New(t, testapp.Options{Demo: true})
	o := app.CreateOwner("demo@dropday.test", "Demo Records")
	for _, vp := range []struct {
		name string
		size [2]int64
	}{{"desktop", browsertest.Desktop}, {"phone", browsertest.Phone}} {
		ctx := browsertest.New(t, vp.size)
		must(t, chromedp.Do(ctx,
			chromedp.Navigate(app.URL+"/admin/links"),
			chromedp.WaitVisible(`[data-testid="demo-ribbon"]`),
			chromedp.SendKeys("#email", o.Email),
			chromedp.SendKeys("#password", o.Password),
			chromedp.Click(`[data-testid="login-form"] button[type="submit"]`),
			chromedp.WaitVisible(`[data-testid="links-empty"]`),
			chromedp.WaitVisible(`[data-testid="demo-ribbon"]`),
		), "log in")
		// The ribbon must not cover the workspace name.
		overlap, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			const r = document.querySelector('[data-testid=demo-ribbon]').getBoundingClientRect();
			const w = document.querySelector('[data-testid=workspace-name]').getBoundingClientRect();
			return w.top < r.bottom;
		})()`))
		browsertest.Screenshot(t, ctx, "demo-admin-"+vp.name)
		for _, page := range []string{"members", "settings"} {
			must(t, chromedp.Do(ctx, chromedp.Navigate(app.URL+"/admin/"+page), chromedp.WaitVisible(`main h1`)), page)
			browsertest.Screenshot(t, ctx, "admin-"+page+"-"+vp.name)
			if over, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); err != nil || over {
				t.Errorf("%s on %s scrolls sideways (%v)", page, vp.name, err)
			}
		}
		if err != nil || overlap {
			dbg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify([document.querySelector('[data-testid=demo-ribbon]').getBoundingClientRect(), document.querySelector('[data-testid=workspace-name]').getBoundingClientRect(), getComputedStyle(document.body).paddingTop])`))
			t.Fatalf("%s: the ribbon covers the workspace switcher (%v) %s", vp.name, err, dbg)
		}
	}
}
