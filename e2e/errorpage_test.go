package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/testapp"
)

// The error page shows the request's id, small, below the message, so a fan
// can quote it to the artist; it fits a phone and a desktop.
func TestErrorPageShowsRequestID(t *testing.T) {
	app := testapp.New(t)
	for _, v := range []struct {
		name string
		size [2]int64
	}{{"phone", browsertest.Phone}, {"desktop", browsertest.Desktop}} {
		ctx := browsertest.New(t, v.size)
		if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/no-such-release"),
			chromedp.WaitVisible(`[data-testid=error-request-id]`)); err != nil {
			t.Fatal(err)
		}
		id, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=error-request-id] code`))
		if err != nil {
			t.Fatal(err)
		}
		overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if len(strings.TrimSpace(id)) != 16 {
			t.Errorf("%s: request id %q on the page", v.name, id)
		}
		if overflow {
			t.Errorf("%s: the error page scrolls sideways", v.name)
		}
		browsertest.Screenshot(t, ctx, "error-404-"+v.name)
	}
}
