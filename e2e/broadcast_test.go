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

// The artist writes the release-day email of a link with 250 subscribers,
// previews it, sends a test to themself, sends it now, confirms, and watches
// the progress bar reach 100 % and the state turn to Sent without a reload;
// the Broadcasts page lists it with its numbers.
func TestBroadcastSendNow(t *testing.T) {
	app := testapp.New(t, testapp.Options{Deliver: true})
	o := app.CreateOwner("mara@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
	ctx0, now := context.Background(), app.Clock.Now()
	for i := range 250 {
		s := &models.Subscriber{WorkspaceID: o.Workspace.ID, Email: fmt.Sprintf("fan%03d@example.net", i), Platform: "spotify",
			Status: models.SubscriberActive, CreatedAt: now, UpdatedAt: now}
		must(t, store.UpsertSubscriber(ctx0, app.DB, s), "subscriber")
		must(t, store.UpsertSignup(ctx0, app.DB, &models.Signup{WorkspaceID: o.Workspace.ID, LinkID: l.ID, SubscriberID: s.ID,
			Platform: "spotify", ConsentVersion: "signup-v1", ConsentedAt: now, CreatedAt: now}), "signup")
	}

	ctx := browsertest.New(t, browsertest.Desktop)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/admin/broadcasts"),
		logIn(o.Email, o.Password),
		chromedp.WaitVisible(`[data-testid="broadcasts-empty"]`),
	), "log in to the Broadcasts page")
	shots(t, ctx, "broadcasts-empty")

	tab := fmt.Sprintf("%s/admin/links/%d/broadcast", app.URL, l.ID)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(tab),
		chromedp.WaitVisible(`[data-testid="broadcast-form"]`),
	), "open the Broadcast tab")
	audience, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="audience"]`))
	if err != nil || !strings.Contains(audience, "Goes to 250 subscribers of this link") {
		t.Fatalf("audience line = %q, %v", audience, err)
	}
	must(t, chromedp.Do(ctx,
		chromedp.SendKeys("#subject", "Night Drive is out now"),
		chromedp.SendKeys("#body", "It's here. **Night Drive** is out everywhere.\n\nThank you for waiting with me."),
		chromedp.Click(`[data-testid="save-draft"]`),
		chromedp.WaitVisible(`[data-testid="notice"]`),
		chromedp.WaitVisible(`[data-testid="email-frame"]`),
	), "write and save the draft")

	// The preview frame shows the saved body; the text part sits beside it.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](
		`(() => { const f = document.querySelector('[data-testid="email-frame"]'); return !!f && f.getBoundingClientRect().height > 300; })()`,
		chromedp.WithPollingTimeout(15*time.Second)))
	must(t, err, "frame laid out")
	frameText := ""
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if frameText = previewFrameText(t, ctx); strings.Contains(frameText, "Night Drive is out everywhere.") {
			break
		}
	}
	if !strings.Contains(frameText, "Night Drive is out everywhere.") || !strings.Contains(frameText, "Listen on Spotify") {
		t.Fatalf("the preview frame shows %q", frameText)
	}
	text, _ := chromedp.Run(ctx, chromedp.Text(`[data-testid="email-text"]`))
	if !strings.Contains(text, "**Night Drive** is out everywhere.") {
		t.Fatalf("text part = %q", text)
	}
	shots(t, ctx, "broadcast-compose")
	frameShot(t, ctx, "broadcast-preview-frame")

	// A test to the artist, answered with a toast.
	must(t, chromedp.Do(ctx, chromedp.Click(`[data-testid="send-test"]`), chromedp.WaitVisible(`#toasts .toast`)), "send a test")
	if toastText, _ := chromedp.Run(ctx, chromedp.Text(`#toasts .toast`)); toastText != "Test sent to mara@example.com" {
		t.Fatalf("toast = %q", toastText)
	}

	// Send now asks first, naming the audience.
	must(t, chromedp.Do(ctx, chromedp.Click(`[data-testid="send-now"]`), chromedp.WaitVisible(`[data-testid="send-confirm"]`)), "open the confirmation")
	q, _ := chromedp.Run(ctx, chromedp.Text(`[data-testid="send-now-question"]`))
	if !strings.Contains(q, "to 250 subscribers now?") || app.CountRows("broadcast_recipients") != 0 {
		t.Fatalf("confirmation = %q, %d recipients before confirming", q, app.CountRows("broadcast_recipients"))
	}
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, "broadcast-desktop-confirm")
	must(t, chromedp.Do(ctx,
		chromedp.Click(`[data-testid="send-confirm"]`),
		chromedp.WaitVisible(`[data-testid="broadcast-status"]`),
	), "confirm")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__marker = "status-page"; true`)); err != nil {
		t.Fatal(err)
	}

	// The bar fills by itself and the state turns to Sent; polling stops.
	done := `document.querySelector('[data-testid="progress-text"]').textContent === "250 of 250 · 100%" &&
		document.querySelector('[data-testid="broadcast-state"]').textContent === "Sent" &&
		!document.getElementById('broadcast-status').hasAttribute('hx-trigger')`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](done, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		p, _ := chromedp.Run(ctx, chromedp.Text(`[data-testid="progress-text"]`))
		t.Fatalf("did not reach Sent: progress %q: %v", p, err)
	}
	same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__marker === "status-page"`))
	if err != nil || !same {
		t.Fatalf("the page reloaded (marker lost): %v", err)
	}
	// The controls went away with the state (out of band), and the numbers are in.
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="pause"], [data-testid="cancel"]').length`)); n != 0 {
		t.Fatal("pause and cancel are still offered after sending")
	}
	if v, _ := chromedp.Run(ctx, chromedp.Text(`[data-testid="bkpi-sent-value"]`)); v != "250" {
		t.Fatalf("sent = %q", v)
	}
	var fans int
	must(t, app.DB.NewSelect().Table("outbox_messages").ColumnExpr("COUNT(*)").Where("recipient LIKE ?", "fan%@example.net").Scan(ctx0, &fans), "outbox")
	if fans != 250 {
		t.Fatalf("%d fans' emails in the outbox", fans)
	}
	shots(t, ctx, "broadcast-sent")

	must(t, chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/admin/broadcasts"),
		chromedp.WaitVisible(`[data-testid="broadcasts-table"]`),
	), "the Broadcasts page")
	row, _ := chromedp.Run(ctx, chromedp.Text(`[data-testid="broadcast-row"]`))
	if !strings.Contains(row, "Night Drive") || !strings.Contains(row, "Sent") || !strings.Contains(row, "250") {
		t.Fatalf("row = %q", row)
	}
	shots(t, ctx, "broadcasts-list")
}

// previewFrameText reads the text in the sandboxed preview frame: through its
// own target when Chrome isolates it in another process, else from its node.
func previewFrameText(t *testing.T, ctx context.Context) string {
	t.Helper()
	infos, err := chromedp.Targets(ctx)
	must(t, err, "targets")
	for _, info := range infos {
		if info.Type == "iframe" && strings.Contains(info.URL, "/broadcast/preview.html") {
			// Not cancelled here: cancelling a context of chromedp closes its
			// target, and closing the frame's would tear it out of the page.
			fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
			t.Cleanup(cancel)
			text, _ := chromedp.Run(fctx, chromedp.Text("body"))
			return text
		}
	}
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(`[data-testid="email-frame"]`))
	if err != nil || len(nodes) == 0 {
		return ""
	}
	tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	text, _ := chromedp.Run(tctx, chromedp.Text("body", chromedp.FromNode(nodes[0])))
	return text
}

// frameShot saves the viewport with the preview frame scrolled into it: a
// full-page capture leaves an out-of-process frame blank.
func frameShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="preview"]').scrollIntoView(); true`))
	must(t, err, "scroll to the preview")
	settle(t, ctx)
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	must(t, err, "capture")
	p := filepath.Join(browsertest.Dir(t), name+".png")
	must(t, os.WriteFile(p, png, 0o644), "write "+p)
	t.Logf("screenshot: %s", p)
}

// shots saves the page at desktop and phone widths (then back to desktop).
func shots(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Desktop[0], browsertest.Desktop[1])), "desktop")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, name+"-desktop")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Phone[0], browsertest.Phone[1])), "phone")
	settle(t, ctx)
	browsertest.Screenshot(t, ctx, name+"-phone")
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Desktop[0], browsertest.Desktop[1])), "desktop")
}
