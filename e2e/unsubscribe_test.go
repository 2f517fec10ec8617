package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/broadcast"
	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// mailedFans signs the fans up for the link and sends its broadcast through
// the outbox; it returns each fan's unsubscribe path from their email.
func mailedFans(t *testing.T, app *testapp.App, l *models.Link, fans ...string) map[string]string {
	t.Helper()
	ctx, now := context.Background(), app.Clock.Now()
	for _, f := range fans {
		s := &models.Subscriber{WorkspaceID: l.WorkspaceID, Email: f, Platform: "spotify", Status: models.SubscriberActive, CreatedAt: now, UpdatedAt: now}
		must(t, store.UpsertSubscriber(ctx, app.DB, s), "subscriber")
		must(t, store.UpsertSignup(ctx, app.DB, &models.Signup{WorkspaceID: l.WorkspaceID, LinkID: l.ID, SubscriberID: s.ID,
			Platform: "spotify", ConsentVersion: "signup-v1", ConsentedAt: now, CreatedAt: now}), "signup")
	}
	b, err := app.Broadcast.Save(ctx, l, 0, broadcast.Draft{Subject: "Out now", Body: "It's here.", Format: models.FormatMarkdown}, false)
	must(t, err, "save broadcast")
	must(t, app.Broadcast.Start(ctx, b), "start broadcast")
	q := &jobs.Queue{DB: app.DB, Now: app.Clock.Now}
	js, err := q.Claim(ctx, []string{broadcast.KindSend}, 1)
	if err != nil || len(js) != 1 {
		t.Fatalf("claim: %v %d", err, len(js))
	}
	must(t, app.Broadcast.Work(ctx, js[0]), "send")
	out := map[string]string{}
	for _, f := range fans {
		ms, _, err := store.ListOutbox(ctx, app.DB, l.WorkspaceID, store.OutboxFilter{Recipient: f, Limit: 1})
		if err != nil || len(ms) != 1 {
			t.Fatalf("outbox %s: %v", f, err)
		}
		m, err := store.OutboxMessage(ctx, app.DB, ms[0].MessageID)
		must(t, err, "outbox message")
		out[f] = strings.TrimSuffix(strings.TrimPrefix(m.Headers["List-Unsubscribe"], "<"+app.URL), ">")
	}
	return out
}

// A fan follows the email's unsubscribe link, unsubscribes, changes their
// mind; a fan whose address bounced is told it can't be mailed.
func TestUnsubscribePages(t *testing.T) {
	for name, vp := range map[string][2]int64{"phone": browsertest.Phone, "desktop": browsertest.Desktop} {
		t.Run(name, func(t *testing.T) {
			app, l := landingApp(t)
			paths := mailedFans(t, app, l, "fan@example.com", "a.rather.long.address.for.a.phone@example-mail-provider.com")
			long := paths["a.rather.long.address.for.a.phone@example-mail-provider.com"]
			must(t, store.Suppress(context.Background(), app.DB, "a.rather.long.address.for.a.phone@example-mail-provider.com",
				models.SuppressedBounce, "gone", app.Clock.Now()), "suppress")
			ctx := browsertest.New(t, vp)

			must(t, chromedp.Do(ctx, chromedp.Navigate(app.URL+paths["fan@example.com"]), chromedp.WaitVisible(`[data-testid=unsubscribe-submit]`)), "open")
			settle(t, ctx)
			browsertest.Screenshot(t, ctx, "unsubscribe-"+name+"-ask")
			must(t, chromedp.Do(ctx, chromedp.Click(`[data-testid=unsubscribe-submit]`), chromedp.WaitVisible(`[data-testid=unsubscribe-done]`)), "unsubscribe")
			settle(t, ctx)
			browsertest.Screenshot(t, ctx, "unsubscribe-"+name+"-done")
			must(t, chromedp.Do(ctx, chromedp.Click(`[data-testid=resubscribe-submit]`), chromedp.WaitVisible(`[data-testid=resubscribe-done]`)), "resubscribe")
			settle(t, ctx)
			browsertest.Screenshot(t, ctx, "unsubscribe-"+name+"-resubscribed")

			must(t, chromedp.Do(ctx, chromedp.Navigate(app.URL+long), chromedp.WaitVisible(`[data-testid=unsubscribe-submit]`),
				chromedp.Click(`[data-testid=unsubscribe-submit]`), chromedp.WaitVisible(`[data-testid=resubscribe-submit]`),
				chromedp.Click(`[data-testid=resubscribe-submit]`), chromedp.WaitVisible(`[data-testid=resubscribe-bounced]`)), "bounced")
			settle(t, ctx)
			browsertest.Screenshot(t, ctx, "unsubscribe-"+name+"-bounced")

			must(t, chromedp.Do(ctx, chromedp.Navigate(app.URL+"/unsubscribe/not-a-token"), chromedp.WaitVisible(`[data-testid=error-message]`)), "404")
			browsertest.Screenshot(t, ctx, "unsubscribe-"+name+"-unknown")

			// Nothing overflows sideways on a phone.
			must(t, chromedp.Do(ctx, chromedp.Navigate(app.URL+long), chromedp.WaitVisible(`[data-testid=unsubscribe]`)), "reopen")
			wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
			must(t, err, "overflow")
			if wide {
				t.Error("the page scrolls sideways")
			}
		})
	}
}
