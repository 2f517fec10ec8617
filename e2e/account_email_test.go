package e2e

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropday/dropday/internal/broadcast"
	"github.com/dropday/dropday/internal/browsertest"
	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// both takes a screenshot at desktop width, then at phone size, and goes back to desktop.
func both(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, name+"-desktop")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Phone[0], browsertest.Phone[1])), "phone")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, name+"-phone")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Desktop[0], browsertest.Desktop[1])), "desktop")
}

// The artist opens the Outbox: the test email of a broadcast and an
// invitation are there, a new email appears without a reload, and a message
// shows as the fan would see it.
func TestOutboxInTheBrowser(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("mara@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
	ctx := context.Background()
	b, err := app.Broadcast.Save(ctx, l, o.User.ID, broadcast.Draft{Subject: "Night Drive is out now",
		Body: "It's here. **Night Drive** is out everywhere — thank you for waiting with me.\n\nPlay it loud.", Format: models.FormatMarkdown}, false)
	must(t, err, "save broadcast")
	must(t, app.Broadcast.SendTest(ctx, b, l, "mara@example.com"), "test email")
	app.Clock.Advance(3 * time.Minute)

	c := app.NewClient()
	c.Login(o)
	res, _ := c.PostForm("/admin/members", "/admin/members", url.Values{"email": {"tour.manager@example.net"}, "role": {"member"}})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("invite: %d", res.StatusCode)
	}

	bctx := browsertest.New(t, browsertest.Desktop)
	must(t, chromedp.Do(bctx,
		chromedp.Navigate(app.URL+"/admin/outbox"),
		logIn(o.Email, o.Password),
		chromedp.WaitVisible(`[data-testid="outbox-table"]`),
	), "log in to the Outbox")
	rows, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=outbox-row]').length`))
	if err != nil || rows != 2 {
		t.Fatalf("rows = %d, %v", rows, err)
	}
	both(t, bctx, "outbox-list")

	// A new email appears by itself (the list polls), without a reload.
	_, err = chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__marker = "outbox"; true`))
	must(t, err, "mark the page")
	app.Clock.Advance(time.Minute)
	_, err = app.AccountMail.Sender.Send(ctx, mail.Message{From: "dropday <dropday@localhost>", To: []string{"late.fan@example.net"},
		Subject: "Arrived while you watched", Text: "Hello", Tags: []mail.Tag{mail.WorkspaceTag(o.Workspace.ID)}})
	must(t, err, "send")
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelectorAll('[data-testid=outbox-row]').length === 3`,
		chromedp.WithPollingTimeout(12*time.Second))); err != nil {
		t.Fatalf("the new email did not appear: %v", err)
	}
	same, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__marker === "outbox"`))
	if err != nil || !same {
		t.Fatalf("the page reloaded: %v", err)
	}

	// The broadcast's test email, as the fan sees it.
	must(t, chromedp.Do(bctx,
		chromedp.Click(`//a[contains(., "Night Drive is out now")]`),
		chromedp.WaitVisible(`[data-testid="email-frame"]`),
	), "open the message")
	loaded := `(() => { const f = document.querySelector('[data-testid=email-frame]'); try { return !!f.contentDocument && f.contentDocument.readyState === 'complete' && f.contentDocument.body.innerText.includes('Night Drive'); } catch (e) { return 'blocked'; } })()`
	// The frame is sandboxed without same-origin: the page cannot read it, which is the point.
	v, err := chromedp.Run(bctx, chromedp.Evaluate[any](loaded))
	if err != nil {
		t.Fatal(err)
	}
	if v == true {
		t.Fatal("the admin page can read into the email frame: it is not sandboxed")
	}
	headers, err := chromedp.Run(bctx, chromedp.Text(`[data-testid="outbox-headers"]`))
	if err != nil || !strings.Contains(headers, "List-Unsubscribe") {
		t.Fatalf("headers = %q, %v", headers, err)
	}
	frameLoaded(t, bctx)
	both(t, bctx, "outbox-message")

	// The invitation email.
	must(t, chromedp.Do(bctx,
		chromedp.Navigate(app.URL+"/admin/outbox"),
		chromedp.Click(`//a[contains(., "invited you")]`),
		chromedp.WaitVisible(`[data-testid="email-frame"]`),
	), "open the invitation")
	frameLoaded(t, bctx)
	both(t, bctx, "outbox-invitation")

	// The members page after an invitation: sent, and the link to pass on.
	must(t, chromedp.Do(bctx,
		chromedp.Navigate(app.URL+"/admin/members"),
		chromedp.SendKeys("#member-email", "press@example.net"),
		chromedp.Click(`[data-testid="add-member"] button[type="submit"]`),
		chromedp.WaitVisible(`[data-testid="invite-sent"]`),
	), "invite through the page")
	sent, err := chromedp.Run(bctx, chromedp.Text(`[data-testid="invite-sent"]`))
	if err != nil || sent != "Invitation sent to press@example.net" {
		t.Fatalf("invite-sent = %q, %v", sent, err)
	}
	both(t, bctx, "members-invite-sent")
}

// frameLoaded waits until the email frame's document has loaded (the parent
// cannot look inside the sandbox, but the resource timing shows the load).
func frameLoaded(t *testing.T, ctx context.Context) {
	t.Helper()
	js := `performance.getEntriesByType('resource').some(e => e.initiatorType === 'iframe' && e.name.endsWith(new URL(document.querySelector('[data-testid=email-frame]').src).pathname))`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the email frame did not load: %v", err)
	}
}

var resetRE = regexp.MustCompile(`/password/reset/[A-Za-z0-9_-]{43}`)

// Someone who forgot their password asks for a link, opens it from the email
// and sets a new one, then logs in with it.
func TestPasswordResetInTheBrowser(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("mara@example.com", "Mara Lune")
	bctx := browsertest.New(t, browsertest.Desktop)
	must(t, chromedp.Do(bctx,
		chromedp.Navigate(app.URL+"/login"),
		chromedp.Click(`[data-testid="forgot-link"]`),
		chromedp.WaitVisible(`[data-testid="forgot-form"]`),
	), "forgot page")
	both(t, bctx, "forgot")
	must(t, chromedp.Do(bctx,
		chromedp.SendKeys("#email", o.Email),
		chromedp.Click(`[data-testid="forgot-form"] button[type="submit"]`),
		chromedp.WaitVisible(`[data-testid="forgot-sent"]`),
	), "ask for a link")
	both(t, bctx, "forgot-sent")
	app.AccountMail.Wait()

	var text string
	must(t, app.DB.NewSelect().Table("outbox_messages").Column("text").Where("recipient = ?", o.Email).Scan(context.Background(), &text), "reset email")
	link := resetRE.FindString(text)
	if link == "" {
		t.Fatalf("no link in\n%s", text)
	}
	must(t, chromedp.Do(bctx,
		chromedp.Navigate(app.URL+link),
		chromedp.WaitVisible(`[data-testid="reset-form"]`),
	), "reset page")
	both(t, bctx, "reset")
	// The browser would refuse a short password itself; the server's answer is what is tested.
	_, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.querySelector('#password').removeAttribute('minlength'); true`))
	must(t, err, "drop minlength")
	must(t, chromedp.Do(bctx,
		chromedp.SendKeys("#password", "short"),
		chromedp.Click(`[data-testid="reset-form"] button[type="submit"]`),
		chromedp.WaitVisible(`[data-testid="password-error"]`),
	), "too short")
	both(t, bctx, "reset-error")
	must(t, chromedp.Do(bctx,
		chromedp.SendKeys("#password", "a brand new password"),
		chromedp.Click(`[data-testid="reset-form"] button[type="submit"]`),
		chromedp.WaitVisible(`[data-testid="login-notice"]`),
	), "new password")
	both(t, bctx, "reset-done-login")
	must(t, chromedp.Do(bctx,
		chromedp.SendKeys("#email", o.Email),
		chromedp.SendKeys("#password", "a brand new password"),
		chromedp.Click(`[data-testid="login-form"] button[type="submit"]`),
		chromedp.WaitVisible(`[data-testid="links-empty"]`),
	), "log in with the new password")

	// The link again: used up.
	must(t, chromedp.Do(bctx,
		chromedp.Navigate(app.URL+link),
		chromedp.WaitVisible(`[data-testid="reset-invalid"]`),
	), "used link")
	both(t, bctx, "reset-invalid")
}
