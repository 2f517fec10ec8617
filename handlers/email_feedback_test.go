package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/broadcast"
	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/mail/resendtest"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

func eachDB(t *testing.T, fn func(t *testing.T, pg bool)) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) { fn(t, pg) })
	}
}

// mailLink is a workspace's released link with the given fans signed up through it.
func mailLink(t *testing.T, app *testapp.App, slug string, fans ...string) *models.Link {
	t.Helper()
	o := app.CreateOwner("artist-"+slug+"@example.com", "Mara Lune "+slug)
	l := app.Link(o.Workspace.ID, slug, models.LinkLive, app.Clock.Now().Add(-time.Hour))
	for _, f := range fans {
		signUp(t, app, l, f)
	}
	return l
}

func signUp(t *testing.T, app *testapp.App, l *models.Link, email string) *models.Subscriber {
	t.Helper()
	ctx, now := context.Background(), app.Clock.Now()
	s := &models.Subscriber{WorkspaceID: l.WorkspaceID, Email: email, Platform: "spotify", Status: models.SubscriberActive,
		CreatedAt: now, UpdatedAt: now}
	if err := store.UpsertSubscriber(ctx, app.DB, s); err != nil {
		t.Fatal(err)
	}
	if err := store.UpsertSignup(ctx, app.DB, &models.Signup{WorkspaceID: l.WorkspaceID, LinkID: l.ID, SubscriberID: s.ID,
		Platform: "spotify", ConsentVersion: "signup-v1", ConsentedAt: now, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return s
}

// sendBroadcast writes and starts the link's broadcast through the real
// engine, then works its send job to the end, here and now.
func sendBroadcast(t *testing.T, app *testapp.App, l *models.Link) *models.Broadcast {
	t.Helper()
	ctx := context.Background()
	b, err := app.Broadcast.Save(ctx, l, 0, broadcast.Draft{Subject: "Night Drive is out", Body: "It's here.",
		Format: models.FormatMarkdown}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Broadcast.Start(ctx, b); err != nil {
		t.Fatal(err)
	}
	q := &jobs.Queue{DB: app.DB, Now: app.Clock.Now}
	js, err := q.Claim(ctx, []string{broadcast.KindSend}, 1)
	if err != nil || len(js) != 1 {
		t.Fatalf("claim the send job: %v %d", err, len(js))
	}
	if err := app.Broadcast.Work(ctx, js[0]); err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := q.Complete(ctx, js[0]); err != nil {
		t.Fatal(err)
	}
	if b, err = store.BroadcastByID(ctx, app.DB, b.ID); err != nil || b.State != models.BroadcastSent {
		t.Fatalf("broadcast after its job: %+v %v", b, err)
	}
	return b
}

// recipients lists a broadcast's recipients by address.
func recipients(t *testing.T, app *testapp.App, b *models.Broadcast) map[string]models.Recipient {
	t.Helper()
	var rs []models.Recipient
	if err := app.DB.NewSelect().Model(&rs).Where("broadcast_id = ?", b.ID).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := map[string]models.Recipient{}
	for _, r := range rs {
		out[r.Email] = r
	}
	return out
}

// unsubscribePath reads the one-click URL from the List-Unsubscribe header
// of the email the outbox kept for addr, and checks RFC 8058's pair.
func unsubscribePath(t *testing.T, app *testapp.App, addr string) string {
	t.Helper()
	ctx := context.Background()
	// The newest message to addr, whichever workspace's Outbox it is in.
	m := new(models.OutboxMessage)
	if err := app.DB.NewSelect().Model(m).Where("recipient = ?", addr).OrderExpr("id DESC").Limit(1).Scan(ctx); err != nil {
		t.Fatalf("outbox for %s: %v", addr, err)
	}
	if m.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe-Post = %q", m.Headers["List-Unsubscribe-Post"])
	}
	h := m.Headers["List-Unsubscribe"]
	prefix := "<" + app.URL + "/unsubscribe/"
	if !strings.HasPrefix(h, prefix) || !strings.HasSuffix(h, ">") {
		t.Fatalf("List-Unsubscribe = %q", h)
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, "<"+app.URL), ">")
}

func subscriberStatus(t *testing.T, app *testapp.App, l *models.Link, email string) string {
	t.Helper()
	var s models.Subscriber
	if err := app.DB.NewSelect().Model(&s).Where("workspace_id = ? AND email = ?", l.WorkspaceID, email).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s.Status
}

func suppression(t *testing.T, app *testapp.App, email string) string {
	t.Helper()
	sp, err := store.SuppressionFor(context.Background(), app.DB, email)
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return sp.Reason
}

// oneClick is a mail provider's RFC 8058 POST: from its server, with no
// cookie, no CSRF token and no Origin.
func oneClick(t *testing.T, app *testapp.App, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, app.URL+path, strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return app.NewClient().Send(req)
}

func TestUnsubscribeOneClick(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		app := testapp.New(t, testapp.Options{Postgres: pg})
		l := mailLink(t, app, "night-drive", "fan@example.com", "other@example.com")
		sendBroadcast(t, app, l)
		path := unsubscribePath(t, app, "fan@example.com")

		// GET shows the button and changes nothing: mail scanners fetch links.
		fan := app.NewClient()
		for range 2 {
			res, body := fan.Get(path)
			if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="unsubscribe-submit"`) ||
				!strings.Contains(body, "Mara Lune") || !strings.Contains(body, "fan@example.com") {
				t.Fatalf("unsubscribe page: %d\n%s", res.StatusCode, body)
			}
			if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Referrer-Policy") != "no-referrer" ||
				res.Header.Get("X-Robots-Tag") != "noindex" {
				t.Fatalf("private page headers: %v", res.Header)
			}
		}
		if st := subscriberStatus(t, app, l, "fan@example.com"); st != models.SubscriberActive {
			t.Fatalf("GET changed the status to %s", st)
		}

		// The provider's bare one-click POST.
		res, body := oneClick(t, app, path)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="unsubscribe-done"`) ||
			!strings.Contains(body, "You're unsubscribed from Mara Lune's emails") {
			t.Fatalf("one-click: %d\n%s", res.StatusCode, body)
		}
		if st := subscriberStatus(t, app, l, "fan@example.com"); st != models.SubscriberUnsubscribed {
			t.Fatalf("after one-click: %s", st)
		}
		if st := subscriberStatus(t, app, l, "other@example.com"); st != models.SubscriberActive {
			t.Fatalf("another fan was unsubscribed too: %s", st)
		}
		// A second POST is harmless; the GET now offers to resubscribe.
		if res, body := oneClick(t, app, path); res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="unsubscribe-done"`) {
			t.Fatalf("second one-click: %d", res.StatusCode)
		}
		if res, body := fan.Get(path); res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="resubscribe-submit"`) ||
			strings.Contains(body, `data-testid="unsubscribe-submit"`) {
			t.Fatalf("page once unsubscribed: %d\n%s", res.StatusCode, body)
		}

		// Unknown or garbled tokens: a clear 404, nothing changes.
		before := subscriberStatus(t, app, l, "other@example.com")
		for _, p := range []string{"/unsubscribe/not-a-token", path + "x", path[:len(path)-4]} {
			res, body := fan.Get(p)
			if res.StatusCode != http.StatusNotFound || !strings.Contains(body, "This unsubscribe link is not valid") {
				t.Fatalf("GET %s: %d\n%s", p, res.StatusCode, body)
			}
			if res, _ := oneClick(t, app, p); res.StatusCode != http.StatusNotFound {
				t.Fatalf("POST %s: %d", p, res.StatusCode)
			}
			if res, _ := fan.Do(http.MethodPost, p+"/resubscribe", url.Values{}, nil); res.StatusCode != http.StatusNotFound {
				t.Fatalf("resubscribe %s: %d", p, res.StatusCode)
			}
		}
		if subscriberStatus(t, app, l, "other@example.com") != before || subscriberStatus(t, app, l, "fan@example.com") != models.SubscriberUnsubscribed {
			t.Fatal("a bad token changed a subscriber")
		}
	})
}

// The page's own form (a browser, with Origin) works too, and resubscribing
// from the confirmation puts the fan back.
func TestUnsubscribeFormAndResubscribe(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		app := testapp.New(t, testapp.Options{Postgres: pg})
		l := mailLink(t, app, "night-drive", "fan@example.com")
		sendBroadcast(t, app, l)
		path := unsubscribePath(t, app, "fan@example.com")
		fan := app.NewClient()
		browser := http.Header{"Origin": {app.URL}, "Sec-Fetch-Site": {"same-origin"}}
		res, body := fan.Do(http.MethodPost, path, url.Values{"List-Unsubscribe": {"One-Click"}}, browser)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `action="`+path+`/resubscribe"`) {
			t.Fatalf("form unsubscribe: %d\n%s", res.StatusCode, body)
		}
		if st := subscriberStatus(t, app, l, "fan@example.com"); st != models.SubscriberUnsubscribed {
			t.Fatalf("status %s", st)
		}
		// Resubscribe only from our own page.
		if res, _ := fan.Do(http.MethodPost, path+"/resubscribe", url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site resubscribe: %d", res.StatusCode)
		}
		if st := subscriberStatus(t, app, l, "fan@example.com"); st != models.SubscriberUnsubscribed {
			t.Fatalf("a cross-site resubscribe changed the status to %s", st)
		}
		res, body = fan.Do(http.MethodPost, path+"/resubscribe", url.Values{}, browser)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="resubscribe-done"`) {
			t.Fatalf("resubscribe: %d\n%s", res.StatusCode, body)
		}
		if st := subscriberStatus(t, app, l, "fan@example.com"); st != models.SubscriberActive {
			t.Fatalf("after resubscribe: %s", st)
		}
	})
}

// A complaint suppression is lifted by resubscribing (the fan asked); a
// bounce suppression is kept, and the page says the address can't be mailed.
func TestResubscribeLiftsComplaintNotBounce(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		app := testapp.New(t, testapp.Options{Postgres: pg})
		l := mailLink(t, app, "night-drive", "complained@example.com", "bounced@example.com")
		sendBroadcast(t, app, l)
		ctx, now := context.Background(), app.Clock.Now()
		for addr, reason := range map[string]string{"complained@example.com": models.SuppressedComplaint, "bounced@example.com": models.SuppressedBounce} {
			if err := store.Suppress(ctx, app.DB, addr, reason, "test", now); err != nil {
				t.Fatal(err)
			}
		}
		browser := http.Header{"Origin": {app.URL}}
		fan := app.NewClient()

		path := unsubscribePath(t, app, "complained@example.com")
		oneClick(t, app, path)
		res, body := fan.Do(http.MethodPost, path+"/resubscribe", url.Values{}, browser)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="resubscribe-done"`) {
			t.Fatalf("resubscribe after a complaint: %d\n%s", res.StatusCode, body)
		}
		if r := suppression(t, app, "complained@example.com"); r != "" {
			t.Fatalf("complaint suppression kept: %q", r)
		}

		path = unsubscribePath(t, app, "bounced@example.com")
		oneClick(t, app, path)
		res, body = fan.Do(http.MethodPost, path+"/resubscribe", url.Values{}, browser)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="resubscribe-bounced"`) ||
			!strings.Contains(body, "we can't send") {
			t.Fatalf("resubscribe after a bounce: %d\n%s", res.StatusCode, body)
		}
		if r := suppression(t, app, "bounced@example.com"); r != models.SuppressedBounce {
			t.Fatalf("bounce suppression = %q, want kept", r)
		}
		if st := subscriberStatus(t, app, l, "bounced@example.com"); st != models.SubscriberActive {
			t.Fatalf("status %s", st)
		}
	})
}

// An unsubscribed fan and a suppressed fan are left out of the workspace's
// next broadcast (another link's), and so are they after a complaint.
func TestUnsubscribedAndSuppressedLeftOutOfNextBroadcast(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		app := testapp.New(t, testapp.Options{Postgres: pg})
		fans := []string{"stays@example.com", "leaves@example.com", "bounced@example.com"}
		l := mailLink(t, app, "night-drive", fans...)
		first := sendBroadcast(t, app, l)
		if n := len(recipients(t, app, first)); n != 3 {
			t.Fatalf("first broadcast: %d recipients", n)
		}
		oneClick(t, app, unsubscribePath(t, app, "leaves@example.com"))
		if err := store.Suppress(context.Background(), app.DB, "bounced@example.com", models.SuppressedBounce, "gone", app.Clock.Now()); err != nil {
			t.Fatal(err)
		}

		// The next release of the same workspace, the same fans signed up again.
		next := app.Link(l.WorkspaceID, "second-single", models.LinkLive, app.Clock.Now().Add(-time.Hour))
		for _, f := range fans {
			if err := store.UpsertSignup(context.Background(), app.DB, &models.Signup{WorkspaceID: l.WorkspaceID, LinkID: next.ID,
				SubscriberID: recipients(t, app, first)[f].SubscriberID, Platform: "spotify", ConsentVersion: "signup-v1",
				ConsentedAt: app.Clock.Now(), CreatedAt: app.Clock.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		got := recipients(t, app, sendBroadcast(t, app, next))
		if len(got) != 1 || got["stays@example.com"].ID == 0 {
			t.Fatalf("next broadcast went to %v, want only stays@example.com", keys(got))
		}
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// webhookApp sends through Resend's stand-in, whose webhooks dropday verifies.
func webhookApp(t *testing.T, pg bool) (*testapp.App, *resendtest.Server) {
	t.Helper()
	rs := resendtest.New(resendtest.Options{Rate: -1})
	t.Cleanup(rs.Close)
	app := testapp.New(t, testapp.Options{Postgres: pg, Env: map[string]string{
		"DROPDAY_MAIL_DRIVER":           "resend",
		"DROPDAY_RESEND_API_KEY":        rs.APIKey(),
		"DROPDAY_RESEND_BASE_URL":       rs.URL,
		"DROPDAY_RESEND_WEBHOOK_SECRET": rs.WebhookSecret(),
	}})
	rs.SetClock(app.Clock.Now)
	return app, rs
}

func emit(t *testing.T, app *testapp.App, rs *resendtest.Server, ev resendtest.Event, opts ...resendtest.EmitOption) resendtest.Delivery {
	t.Helper()
	d, err := rs.Emit(context.Background(), app.URL+"/webhooks/resend", ev, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func emitOK(t *testing.T, app *testapp.App, rs *resendtest.Server, ev resendtest.Event) {
	t.Helper()
	if d := emit(t, app, rs, ev); d.Status != http.StatusOK {
		t.Fatalf("%s: %d", ev.Type, d.Status)
	}
}

func recipientState(t *testing.T, app *testapp.App, id int64) string {
	t.Helper()
	var r models.Recipient
	if err := app.DB.NewSelect().Model(&r).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r.State
}

func TestResendWebhookMovesState(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		app, rs := webhookApp(t, pg)
		l := mailLink(t, app, "night-drive", "fan@example.com")
		r := recipients(t, app, sendBroadcast(t, app, l))["fan@example.com"]
		if r.State != models.RecipientSent || r.MessageID == "" {
			t.Fatalf("recipient after sending: %+v", r)
		}
		steps := []struct{ event, want string }{
			{resendtest.EventDelivered, models.RecipientDelivered},
			{resendtest.EventOpened, models.RecipientOpened},
			{resendtest.EventDelivered, models.RecipientOpened}, // late: no step back
			{resendtest.EventClicked, models.RecipientClicked},
			{resendtest.EventOpened, models.RecipientClicked},
		}
		for i, s := range steps {
			d := emit(t, app, rs, resendtest.Event{Type: s.event, EmailID: r.MessageID})
			if d.Status != http.StatusOK {
				t.Fatalf("step %d %s: %d", i, s.event, d.Status)
			}
			if got := recipientState(t, app, r.ID); got != s.want {
				t.Fatalf("step %d %s: state %s, want %s", i, s.event, got, s.want)
			}
		}
		if n := count(t, app, "webhook_events"); n != len(steps) {
			t.Fatalf("webhook_events = %d, want %d", n, len(steps))
		}
		// An email dropday does not know (a test email, say) is recorded and ignored.
		body := `{"type":"email.delivered","created_at":"2026-11-21T12:00:00.000Z","data":{"email_id":"not-ours"}}`
		if res, out := signedPost(t, app, rs, "msg_unknown", body); res.StatusCode != http.StatusOK || !strings.Contains(out, "ignored") {
			t.Fatalf("unknown email: %d %s", res.StatusCode, out)
		}
		if n := count(t, app, "webhook_events"); n != len(steps)+1 || recipientState(t, app, r.ID) != models.RecipientClicked {
			t.Fatalf("unknown email: events %d", n)
		}
	})
}

// signedPost posts body signed as Resend would, now.
func signedPost(t *testing.T, app *testapp.App, rs *resendtest.Server, id, body string) (*http.Response, string) {
	t.Helper()
	sig, err := resendtest.Sign(rs.WebhookSecret(), id, app.Clock.Now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, app.URL+"/webhooks/resend", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("svix-id", id)
	req.Header.Set("svix-timestamp", fmt.Sprint(app.Clock.Now().Unix()))
	req.Header.Set("svix-signature", sig)
	return app.NewClient().Send(req)
}

func TestResendWebhookRefusesBadDeliveries(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		app, rs := webhookApp(t, pg)
		l := mailLink(t, app, "night-drive", "fan@example.com")
		r := recipients(t, app, sendBroadcast(t, app, l))["fan@example.com"]
		ev := resendtest.Event{Type: resendtest.EventComplained, EmailID: r.MessageID}
		for name, opt := range map[string]resendtest.EmitOption{
			"wrong secret":       resendtest.WithSecret(resendtest.NewWebhookSecret()),
			"6 minutes old":      resendtest.WithTimestamp(app.Clock.Now().Add(-6 * time.Minute)),
			"6 minutes from now": resendtest.WithTimestamp(app.Clock.Now().Add(6 * time.Minute)),
		} {
			if d := emit(t, app, rs, ev, opt); d.Status != http.StatusUnauthorized {
				t.Fatalf("%s: %d", name, d.Status)
			}
		}
		// No signature headers at all, and a valid signature over a body that is not JSON.
		req, _ := http.NewRequest(http.MethodPost, app.URL+"/webhooks/resend", strings.NewReader(`{"type":"email.complained"}`))
		res, body := app.NewClient().Send(req)
		var out struct {
			Error struct{ Code, Message string }
		}
		if res.StatusCode != http.StatusUnauthorized || json.Unmarshal([]byte(body), &out) != nil || out.Error.Code != "bad_signature" {
			t.Fatalf("unsigned: %d %s", res.StatusCode, body)
		}
		if res, body := signedPost(t, app, rs, "msg_junk", "not json"); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("signed junk: %d %s", res.StatusCode, body)
		}
		if n := count(t, app, "webhook_events"); n != 0 || count(t, app, "suppressions") != 0 ||
			recipientState(t, app, r.ID) != models.RecipientSent || subscriberStatus(t, app, l, "fan@example.com") != models.SubscriberActive {
			t.Fatalf("a refused delivery changed something (events %d)", n)
		}
		// 4 min 59 s old is still inside the tolerance.
		if d := emit(t, app, rs, resendtest.Event{Type: resendtest.EventDelivered, EmailID: r.MessageID},
			resendtest.WithTimestamp(app.Clock.Now().Add(-5*time.Minute+time.Second))); d.Status != http.StatusOK {
			t.Fatalf("inside the tolerance: %d", d.Status)
		}
	})
}

func TestResendWebhookWithoutSecret(t *testing.T) {
	app := testapp.New(t)
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/webhooks/resend", strings.NewReader(`{}`))
	res, body := app.NewClient().Send(req)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "DROPDAY_RESEND_WEBHOOK_SECRET") {
		t.Fatalf("no secret: %d %s", res.StatusCode, body)
	}
}

// Svix retries with the same id: the second delivery changes nothing, even
// when the state has moved on in between.
func TestResendWebhookReplayIgnored(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		app, rs := webhookApp(t, pg)
		l := mailLink(t, app, "night-drive", "fan@example.com", "two@example.com")
		rcp := recipients(t, app, sendBroadcast(t, app, l))
		r := rcp["fan@example.com"]
		d := emit(t, app, rs, resendtest.Event{Type: resendtest.EventBounced, EmailID: r.MessageID})
		if d.Status != http.StatusOK || recipientState(t, app, r.ID) != models.RecipientBounced {
			t.Fatalf("bounce: %d %s", d.Status, recipientState(t, app, r.ID))
		}
		// Lift the suppression by hand; a replay of the bounce must not put it back.
		if _, err := store.Unsuppress(context.Background(), app.DB, "fan@example.com", models.SuppressedBounce); err != nil {
			t.Fatal(err)
		}
		again := emit(t, app, rs, resendtest.Event{Type: resendtest.EventBounced, EmailID: r.MessageID}, resendtest.WithID(d.ID))
		if again.Status != http.StatusOK || suppression(t, app, "fan@example.com") != "" || count(t, app, "webhook_events") != 1 {
			t.Fatalf("replay: %d, suppression %q", again.Status, suppression(t, app, "fan@example.com"))
		}
		// The same id about another email is still the same delivery: dropped.
		two := rcp["two@example.com"]
		emit(t, app, rs, resendtest.Event{Type: resendtest.EventComplained, EmailID: two.MessageID}, resendtest.WithID(d.ID))
		if recipientState(t, app, two.ID) != models.RecipientSent || subscriberStatus(t, app, l, "two@example.com") != models.SubscriberActive {
			t.Fatal("a replayed id changed another recipient")
		}
	})
}

func TestResendWebhookBouncesAndComplaints(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		app, rs := webhookApp(t, pg)
		l := mailLink(t, app, "night-drive", "hard@example.com", "soft@example.com", "spam@example.com")
		rcp := recipients(t, app, sendBroadcast(t, app, l))

		emitOK(t, app, rs, resendtest.Event{Type: resendtest.EventBounced, EmailID: rcp["hard@example.com"].MessageID,
			Bounce: &resendtest.Bounce{Type: "Permanent", SubType: "General", Message: "no such user"}})
		emitOK(t, app, rs, resendtest.Event{Type: resendtest.EventBounced, EmailID: rcp["soft@example.com"].MessageID,
			Bounce: &resendtest.Bounce{Type: "Transient", SubType: "MailboxFull", Message: "mailbox full"}})
		emitOK(t, app, rs, resendtest.Event{Type: resendtest.EventDelivered, EmailID: rcp["spam@example.com"].MessageID})
		emitOK(t, app, rs, resendtest.Event{Type: resendtest.EventComplained, EmailID: rcp["spam@example.com"].MessageID})

		if got := suppression(t, app, "hard@example.com"); got != models.SuppressedBounce {
			t.Errorf("hard bounce suppression = %q", got)
		}
		if got := suppression(t, app, "soft@example.com"); got != "" {
			t.Errorf("soft bounce suppressed the address: %q", got)
		}
		if got := suppression(t, app, "spam@example.com"); got != models.SuppressedComplaint {
			t.Errorf("complaint suppression = %q", got)
		}
		if st := subscriberStatus(t, app, l, "spam@example.com"); st != models.SubscriberUnsubscribed {
			t.Errorf("complainer status %s", st)
		}
		for addr, want := range map[string]string{"hard@example.com": models.RecipientBounced, "soft@example.com": models.RecipientBounced,
			"spam@example.com": models.RecipientComplained} {
			if got := recipientState(t, app, rcp[addr].ID); got != want {
				t.Errorf("%s: %s, want %s", addr, got, want)
			}
		}
		// Late events after a complaint or a bounce move nothing.
		emitOK(t, app, rs, resendtest.Event{Type: resendtest.EventOpened, EmailID: rcp["spam@example.com"].MessageID})
		emitOK(t, app, rs, resendtest.Event{Type: resendtest.EventClicked, EmailID: rcp["hard@example.com"].MessageID})
		if recipientState(t, app, rcp["spam@example.com"].ID) != models.RecipientComplained ||
			recipientState(t, app, rcp["hard@example.com"].ID) != models.RecipientBounced {
			t.Error("a late event overwrote a complaint or a bounce")
		}
		var r models.Recipient
		if err := app.DB.NewSelect().Model(&r).Where("id = ?", rcp["hard@example.com"].ID).Scan(context.Background()); err != nil ||
			!strings.Contains(r.Error, "no such user") {
			t.Errorf("bounce reason not kept: %q %v", r.Error, err)
		}
		// The next broadcast leaves out the hard bounce and the complainer, not the soft bounce.
		next := app.Link(l.WorkspaceID, "second-single", models.LinkLive, app.Clock.Now().Add(-time.Hour))
		for _, a := range []string{"hard@example.com", "soft@example.com", "spam@example.com"} {
			signUp(t, app, next, a)
		}
		// signUp re-activates the complainer (a fresh consent); the complaint suppression still holds.
		got := recipients(t, app, sendBroadcast(t, app, next))
		if len(got) != 1 || got["soft@example.com"].ID == 0 {
			t.Fatalf("next broadcast went to %v", keys(got))
		}
	})
}
