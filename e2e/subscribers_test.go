package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// signupAt records a fan's signup through a link directly in the store.
func signupAt(t *testing.T, app *testapp.App, l *models.Link, email, platform string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	s := &models.Subscriber{WorkspaceID: l.WorkspaceID, Email: email, Platform: platform, Status: models.SubscriberActive, CreatedAt: at, UpdatedAt: at}
	must(t, store.UpsertSubscriber(ctx, app.DB, s), "subscriber")
	must(t, store.UpsertSignup(ctx, app.DB, &models.Signup{WorkspaceID: l.WorkspaceID, LinkID: l.ID, SubscriberID: s.ID, Platform: platform,
		IP: "203.0.113.7", UserAgent: "Mozilla/5.0", ConsentVersion: "email-signup-v1", ConsentedAt: at, CreatedAt: at}), "signup")
}

// viewportShot saves what a phone shows first (a full page of 50 stacked rows is too tall to read).
func viewportShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	must(t, err, "screenshot "+name)
	must(t, os.WriteFile(filepath.Join(browsertest.Dir(t), name+".png"), png, 0o644), "save "+name)
}

// The artist opens Subscribers (empty, then filled), filters it, and opens a
// link's Subscribers tab with its chart; phone and desktop, light and dark.
func TestSubscribersPages(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("mara@example.com", "Mara Lune")
	ctx := browsertest.New(t, browsertest.Desktop)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/admin/subscribers"),
		logIn(o.Email, o.Password),
		chromedp.WaitVisible(`[data-testid="subscribers-empty"]`),
	), "log in to an empty list")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "subscribers-desktop-empty")

	app.Clock.Set(testapp.Start.AddDate(0, 0, -20))
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, testapp.Start.Add(72*time.Hour))
	app.Clock.Set(testapp.Start.AddDate(0, 0, -3))
	l2 := app.Link(o.Workspace.ID, "second-single", models.LinkLive, testapp.Start.Add(96*time.Hour))
	l2.Title = "A Much Longer Second Single Title"
	must(t, store.UpdateLink(context.Background(), app.DB, l2), "title")
	app.Clock.Set(testapp.Start)
	platforms := []string{"spotify", "apple_music", "deezer", "tidal", "youtube_music", "amazon_music", "other"}
	for i := 0; i < 64; i++ {
		// More signups towards the release, a few days with none.
		day := 19 - (i*i)/220
		if day == 12 {
			continue
		}
		at := testapp.Start.AddDate(0, 0, -day).Add(time.Duration(i*37%600) * time.Minute)
		signupAt(t, app, l, fmt.Sprintf("fan%02d.with.a.long.name@example.net", i), platforms[i%len(platforms)], at)
	}
	signupAt(t, app, l2, "fan63.with.a.long.name@example.net", "spotify", testapp.Start.Add(-time.Hour))
	signupAt(t, app, l2, "new.fan@example.org", "tidal", testapp.Start.Add(-30*time.Minute))
	_, err := app.DB.NewUpdate().Model((*models.Subscriber)(nil)).Set("status = ?", models.SubscriberUnsubscribed).
		Where("email LIKE ?", "fan1%").Exec(context.Background())
	must(t, err, "unsubscribe some")
	_, err = app.DB.NewInsert().Model(&models.Suppression{Email: "fan20.with.a.long.name@example.net", Reason: models.SuppressedBounce, CreatedAt: testapp.Start}).Exec(context.Background())
	must(t, err, "suppress")

	must(t, chromedp.Do(ctx, chromedp.Navigate(app.URL+"/admin/subscribers"), chromedp.WaitVisible(`[data-testid="subscribers-table"]`)), "list")
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=subscriber-row]').length`))
	if err != nil || rows != 50 {
		t.Fatalf("%d rows, %v", rows, err)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "subscribers-desktop")
	// The filter form is a plain GET: choosing and submitting gives a bookmarkable URL.
	must(t, chromedp.Do(ctx,
		chromedp.SetValue(`#sub-status`, "unsubscribed"),
		chromedp.Click(`[data-testid="subscriber-filter"] button[type="submit"]`),
		chromedp.WaitVisible(`[data-testid="clear-filter"]`),
	), "filter")
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.HasSuffix(loc, "/admin/subscribers?status=unsubscribed&link=&platform=&q=") {
		t.Fatalf("filtered URL %q", loc)
	}
	statuses, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...new Set([...document.querySelectorAll('[data-testid=subscriber-row]')].map(r => r.dataset.status))].join()`))
	if statuses != "unsubscribed" {
		t.Fatalf("filtered statuses %q", statuses)
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "subscribers-desktop-filtered")

	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Phone[0], browsertest.Phone[1]),
		chromedp.Navigate(app.URL+"/admin/subscribers"), chromedp.WaitVisible(`[data-testid="subscribers-table"]`)), "phone")
	overflow, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if overflow {
		t.Error("the subscriber list is wider than a phone")
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "subscribers-phone")
	viewportShot(t, ctx, "subscribers-phone-top")
	must(t, chromedp.Do(ctx, colorScheme("dark")), "dark")
	settle(t, ctx)
	viewportShot(t, ctx, "subscribers-phone-dark-top")
	must(t, chromedp.Do(ctx, colorScheme("light")), "light")

	tab := fmt.Sprintf("%s/admin/links/%d/subscribers", app.URL, l.ID)
	must(t, chromedp.Do(ctx, chromedp.Navigate(tab), chromedp.WaitVisible(`[data-testid="signup-chart"]`)), "link tab on a phone")
	overflow, _ = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if overflow {
		t.Error("the link's Subscribers tab is wider than a phone")
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "link-subscribers-phone")
	viewportShot(t, ctx, "link-subscribers-phone-top")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Desktop[0], browsertest.Desktop[1]), chromedp.Navigate(tab),
		chromedp.WaitVisible(`[data-testid="signup-chart"]`)), "link tab")
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.chart-bar').length`))
	if err != nil || bars != 21 { // created 20 days ago: 21 days
		t.Fatalf("%d bars, %v", bars, err)
	}
	must(t, chromedp.Do(ctx, chromedp.Click(`.chart-table summary`), chromedp.WaitVisible(`[data-testid="chart-table"]`)), "open the numbers")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "link-subscribers-desktop")
	must(t, chromedp.Do(ctx, colorScheme("dark")), "dark")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "link-subscribers-desktop-dark")
}
