package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

var dbs = map[bool]string{false: "sqlite", true: "postgres"}

// bcFixture is a signed-in owner and a live link with n email subscribers.
type bcFixture struct {
	app   *testapp.App
	owner testapp.Owner
	admin *testapp.Client
	link  *models.Link
	base  string // the tab
}

func newBroadcastFixture(t *testing.T, pg bool, subscribers int) *bcFixture {
	t.Helper()
	app := testapp.New(t, testapp.Options{Postgres: pg})
	o := app.CreateOwner("artist@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
	seedSubscribers(t, app, l, subscribers)
	c := app.NewClient()
	c.Login(o)
	return &bcFixture{app: app, owner: o, admin: c, link: l, base: fmt.Sprintf("/admin/links/%d/broadcast", l.ID)}
}

// seedSubscribers signs n fans up to the link, as the signup form does.
func seedSubscribers(t *testing.T, app *testapp.App, l *models.Link, n int) {
	t.Helper()
	ctx, now := context.Background(), app.Clock.Now()
	for i := range n {
		s := &models.Subscriber{WorkspaceID: l.WorkspaceID, Email: fmt.Sprintf("fan%03d@example.net", i), Platform: "spotify",
			Status: models.SubscriberActive, CreatedAt: now, UpdatedAt: now}
		if err := store.UpsertSubscriber(ctx, app.DB, s); err != nil {
			t.Fatal(err)
		}
		if err := store.UpsertSignup(ctx, app.DB, &models.Signup{WorkspaceID: l.WorkspaceID, LinkID: l.ID, SubscriberID: s.ID,
			Platform: "spotify", ConsentVersion: "signup-v1", ConsentedAt: now, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
}

func goodDraft() url.Values {
	return url.Values{"subject": {"Night Drive is out"}, "body": {"It's **here**. Thank you for waiting."},
		"format": {"markdown"}, "when": {"release"}, "action": {"draft"}}
}

func (f *bcFixture) post(t *testing.T, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	return f.admin.PostForm(f.base, path, form)
}

func (f *bcFixture) stored(t *testing.T) *models.Broadcast {
	t.Helper()
	b, err := store.BroadcastForLink(context.Background(), f.app.DB, f.link.WorkspaceID, f.link.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sendJobs(t *testing.T, app *testapp.App) int {
	t.Helper()
	n, err := app.DB.NewSelect().Table("jobs").Where("kind = ?", "broadcast.send").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// Every bad input answers 422 with its inline message and writes nothing,
// neither a new broadcast nor a change to the saved one.
func TestBroadcastDraftValidation(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbs[pg], func(t *testing.T) {
			f := newBroadcastFixture(t, pg, 3)
			cases := []struct {
				name, field string
				edit        func(url.Values)
				msg         string
			}{
				{"empty subject", "subject", func(v url.Values) { v.Set("subject", "  ") }, "Write a subject."},
				{"subject too long", "subject", func(v url.Values) { v.Set("subject", strings.Repeat("é", 201)) }, "Keep the subject under 200 characters."},
				{"newline in subject", "subject", func(v url.Values) { v.Set("subject", "Night\nDrive") }, "The subject must be one line."},
				{"empty body", "body", func(v url.Values) { v.Set("body", "\n ") }, "Write the message."},
				{"bad format", "format", func(v url.Values) { v.Set("format", "html") }, "Pick Markdown or plain text."},
				{"no when", "when", func(v url.Values) { v.Del("when") }, "Choose when it goes out"},
				{"later in the past", "send_at", func(v url.Values) {
					v.Set("when", "later")
					v.Set("send_date", "2026-11-21")
					v.Set("send_time", "12:59") // testapp.Start is 13:00 in Berlin
				}, "Pick a time in the future"},
				{"bad date", "send_at", func(v url.Values) {
					v.Set("when", "later")
					v.Set("send_date", "2026-02-30")
					v.Set("send_time", "10:00")
				}, "Enter the date as YYYY-MM-DD"},
				{"bad time", "send_at", func(v url.Values) {
					v.Set("when", "later")
					v.Set("send_date", "2026-12-01")
					v.Set("send_time", "noon")
				}, "Enter the time as HH:MM"},
			}
			check := func(t *testing.T, action string, wantRows int) {
				for _, tc := range cases {
					form := goodDraft()
					form.Set("action", action)
					tc.edit(form)
					res, body := f.post(t, f.base, form)
					if res.StatusCode != http.StatusUnprocessableEntity {
						t.Fatalf("%s (%s): status %d", tc.name, action, res.StatusCode)
					}
					if !strings.Contains(body, `data-testid="`+tc.field+`-error"`) || !strings.Contains(body, tc.msg) ||
						!strings.Contains(body, "nothing was saved") {
						t.Fatalf("%s (%s): no inline message %q\n%s", tc.name, action, tc.msg, body)
					}
					if n := f.app.CountRows("broadcasts"); n != wantRows {
						t.Fatalf("%s (%s): %d broadcasts", tc.name, action, n)
					}
					if n := f.app.CountRows("broadcast_recipients"); n != 0 {
						t.Fatalf("%s (%s): %d recipients", tc.name, action, n)
					}
				}
			}
			for _, action := range []string{"draft", "schedule", "send"} {
				check(t, action, 0)
			}
			// What was typed stays in the form.
			form := goodDraft()
			form.Set("subject", "")
			form.Set("body", "Keep <this> text")
			if _, body := f.post(t, f.base, form); !strings.Contains(body, "Keep &lt;this&gt; text</textarea>") {
				t.Fatal("the typed message was lost")
			}

			// A saved draft is not touched by a bad save.
			if res, _ := f.post(t, f.base, goodDraft()); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("good draft: %d", res.StatusCode)
			}
			before := f.stored(t)
			for _, action := range []string{"draft", "schedule", "send"} {
				check(t, action, 1)
			}
			after := f.stored(t)
			if after.Subject != before.Subject || after.State != models.BroadcastDraft || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Fatalf("a refused save changed the draft: %+v", after)
			}
			// An unknown button is a bad request, not a save.
			form = goodDraft()
			form.Set("action", "launch")
			if res, _ := f.post(t, f.base, form); res.StatusCode != http.StatusBadRequest {
				t.Fatalf("unknown action: %d", res.StatusCode)
			}
		})
	}
}

// Draft, then scheduled at the release (send_at NULL), then at a later time
// in the link's zone; the tab shows what was chosen.
func TestBroadcastSaveAndSchedule(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbs[pg], func(t *testing.T) {
			f := newBroadcastFixture(t, pg, 3)
			res, body := f.admin.Get(f.base)
			if res.StatusCode != 200 || !strings.Contains(body, `data-testid="tab-broadcast" aria-current="page"`) {
				t.Fatalf("tab: %d", res.StatusCode)
			}
			for _, want := range []string{
				"Goes to <strong>3 subscribers</strong> of this link (unsubscribed and bounced addresses are left out)",
				"Tue 24 Nov 2026, 13:00 CET", // the release time, in the link's zone
				`data-testid="preview-empty"`, `data-testid="outbox-note"`, `href="/admin/outbox"`,
				"Send this email to <strong>3 subscribers</strong> now?",
			} {
				if !strings.Contains(body, want) {
					t.Fatalf("tab lacks %q\n%s", want, body)
				}
			}

			res, _ = f.post(t, f.base, goodDraft())
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != f.base+"?done=draft" {
				t.Fatalf("save draft: %d %s", res.StatusCode, res.Header.Get("Location"))
			}
			b := f.stored(t)
			if b.State != models.BroadcastDraft || b.Subject != "Night Drive is out" || b.BodyFormat != "markdown" || b.SendAt != nil ||
				b.CreatedBy == nil || *b.CreatedBy != f.owner.User.ID {
				t.Fatalf("draft = %+v", b)
			}
			_, body = f.admin.Get(f.base + "?done=draft")
			if !strings.Contains(body, "Draft saved.") || !strings.Contains(body, `data-testid="email-frame"`) ||
				!strings.Contains(body, "It&#39;s **here**. Thank you for waiting.") { // the text part, as written
				t.Fatalf("after saving: no notice or preview\n%s", body)
			}

			// Schedule at the release time.
			form := goodDraft()
			form.Set("action", "schedule")
			res, _ = f.post(t, f.base, form)
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("schedule: %d", res.StatusCode)
			}
			var sendAt *time.Time
			if err := f.app.DB.NewSelect().Table("broadcasts").Column("send_at").Where("id = ?", b.ID).Scan(context.Background(), &sendAt); err != nil {
				t.Fatal(err)
			}
			if b = f.stored(t); b.State != models.BroadcastScheduled || sendAt != nil {
				t.Fatalf("scheduled = %s, send_at %v", b.State, sendAt)
			}
			_, body = f.admin.Get(res.Header.Get("Location"))
			if !strings.Contains(body, "Scheduled for Tue 24 Nov 2026, 13:00 CET.") || !strings.Contains(body, `data-testid="scheduled"`) {
				t.Fatalf("no scheduled notice\n%s", body)
			}

			// Schedule later: 5 Dec 09:30 Berlin is 08:30 UTC.
			form.Set("when", "later")
			form.Set("send_date", "2026-12-05")
			form.Set("send_time", "09:30")
			if res, _ = f.post(t, f.base, form); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("schedule later: %d", res.StatusCode)
			}
			b = f.stored(t)
			if b.State != models.BroadcastScheduled || b.SendAt == nil || !b.SendAt.Equal(time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC)) {
				t.Fatalf("scheduled later = %s %v", b.State, b.SendAt)
			}
			_, body = f.admin.Get(f.base)
			if !strings.Contains(body, "Scheduled for Sat 5 Dec 2026, 09:30 CET.") ||
				!strings.Contains(body, `value="2026-12-05"`) || !strings.Contains(body, `value="09:30"`) {
				t.Fatalf("the later time is not shown\n%s", body)
			}
			// Save draft takes it off the schedule.
			form.Set("action", "draft")
			f.post(t, f.base, form)
			if b = f.stored(t); b.State != models.BroadcastDraft {
				t.Fatalf("after save draft: %s", b.State)
			}
			if n := f.app.CountRows("broadcast_recipients") + sendJobs(t, f.app); n != 0 {
				t.Fatal("saving started something")
			}
		})
	}
}

// Send now fixes the recipients and starts once; a second press starts
// nothing; the tab turns into the live status, which polls while sending
// and brings the controls along only when the state changed; pause (with
// its reason), resume and cancel work and ask first.
func TestBroadcastSendNowAndControls(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbs[pg], func(t *testing.T) {
			f := newBroadcastFixture(t, pg, 5)
			form := goodDraft()
			form.Set("action", "send")
			res, _ := f.post(t, f.base, form)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != f.base+"?done=send" {
				t.Fatalf("send now: %d %s", res.StatusCode, res.Header.Get("Location"))
			}
			b := f.stored(t)
			if b.State != models.BroadcastSending || b.Total != 5 || f.app.CountRows("broadcast_recipients") != 5 || sendJobs(t, f.app) != 1 {
				t.Fatalf("after send now: %s total %d, %d recipients, %d jobs", b.State, b.Total, f.app.CountRows("broadcast_recipients"), sendJobs(t, f.app))
			}
			// A second press (a double click, or a stale tab) starts nothing.
			res, body := f.post(t, f.base, form)
			if res.StatusCode != http.StatusConflict || !strings.Contains(body, "This email has started going out") {
				t.Fatalf("second send: %d\n%s", res.StatusCode, body)
			}
			if f.app.CountRows("broadcast_recipients") != 5 || sendJobs(t, f.app) != 1 || f.stored(t).Subject != "Night Drive is out" {
				t.Fatal("a second press started it again or changed it")
			}

			_, body = f.admin.Get(f.base + "?done=send")
			for _, want := range []string{
				"Sending started.", `data-testid="broadcast-status"`, `hx-trigger="every 2s"`, "0 of 5 · 0%",
				`data-testid="pause"`, `data-testid="cancel"`, `data-testid="sent-subject">Night Drive is out`,
			} {
				if !strings.Contains(body, want) {
					t.Fatalf("status view lacks %q\n%s", want, body)
				}
			}
			if strings.Contains(body, `name="subject"`) || strings.Contains(body, `data-testid="broadcast-form"`) {
				t.Fatal("the text is still editable after the start")
			}
			// The partial: no controls while the state is the one the page has.
			_, part := f.admin.Get(f.base + "/status?state=sending")
			if !strings.Contains(part, `hx-trigger="every 2s"`) || strings.Contains(part, "hx-swap-oob") {
				t.Fatalf("partial while sending:\n%s", part)
			}

			// Pause: the page shows the reason and Resume; polling stops.
			res, _ = f.post(t, f.base+"/pause", nil)
			if res.StatusCode != http.StatusSeeOther || f.stored(t).State != models.BroadcastPaused {
				t.Fatalf("pause: %d %s", res.StatusCode, f.stored(t).State)
			}
			_, part = f.admin.Get(f.base + "/status?state=sending")
			if strings.Contains(part, "hx-trigger") || !strings.Contains(part, `hx-swap-oob="true"`) ||
				!strings.Contains(part, `data-testid="resume"`) || !strings.Contains(part, "Paused by artist@example.com.") {
				t.Fatalf("partial after pause:\n%s", part)
			}
			_, body = f.admin.Get(f.base + "?done=pause")
			if !strings.Contains(body, `data-testid="pause-reason"`) || !strings.Contains(body, `data-testid="resume"`) || strings.Contains(body, "hx-trigger") {
				t.Fatalf("paused view\n%s", body)
			}
			if res, _ = f.post(t, f.base+"/pause", nil); res.StatusCode != http.StatusConflict {
				t.Fatalf("second pause: %d", res.StatusCode)
			}
			res, _ = f.post(t, f.base+"/resume", nil)
			if res.StatusCode != http.StatusSeeOther || f.stored(t).State != models.BroadcastSending || sendJobs(t, f.app) != 2 {
				t.Fatalf("resume: %d %s, %d jobs", res.StatusCode, f.stored(t).State, sendJobs(t, f.app))
			}
			res, _ = f.post(t, f.base+"/cancel", nil)
			if res.StatusCode != http.StatusSeeOther || f.stored(t).State != models.BroadcastCancelled {
				t.Fatalf("cancel: %d %s", res.StatusCode, f.stored(t).State)
			}
			_, body = f.admin.Get(f.base)
			if strings.Contains(body, `data-testid="pause"`) || strings.Contains(body, `data-testid="cancel"`) ||
				strings.Contains(body, "hx-trigger") || !strings.Contains(body, "5 never went out") {
				t.Fatalf("cancelled view\n%s", body)
			}
		})
	}
}

// A link with no subscribers: the empty state, writing still works, send now is refused.
func TestBroadcastWithoutSubscribers(t *testing.T) {
	f := newBroadcastFixture(t, false, 0)
	_, body := f.admin.Get(f.base)
	if !strings.Contains(body, `data-testid="audience-empty"`) || !strings.Contains(body, `data-testid="broadcast-form"`) ||
		strings.Contains(body, `data-testid="send-now"`) {
		t.Fatalf("empty audience\n%s", body)
	}
	if res, _ := f.post(t, f.base, goodDraft()); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("draft without subscribers: %d", res.StatusCode)
	}
	form := goodDraft()
	form.Set("action", "send")
	res, body := f.post(t, f.base, form)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "no one to send to") ||
		f.stored(t).State != models.BroadcastDraft || sendJobs(t, f.app) != 0 {
		t.Fatalf("send to nobody: %d\n%s", res.StatusCode, body)
	}
}

// The test email lands in the outbox, addressed to the signed-in admin; the
// preview is the saved email under the sandboxing policy.
func TestBroadcastTestEmailAndPreview(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbs[pg], func(t *testing.T) {
			f := newBroadcastFixture(t, pg, 2)
			if res, _ := f.admin.Get(f.base + "/preview.html"); res.StatusCode != http.StatusNotFound {
				t.Fatalf("preview before any draft: %d", res.StatusCode)
			}
			if res, _ := f.post(t, f.base+"/test", nil); res.StatusCode != http.StatusConflict || f.app.CountRows("outbox_messages") != 0 {
				t.Fatalf("test before any draft: %d", res.StatusCode)
			}
			form := goodDraft()
			form.Set("body", "Out now. [Listen](https://example.org)\n\n<script>alert(1)</script>")
			f.post(t, f.base, form)

			form = url.Values{"_csrf": {f.admin.CSRF(f.base)}}
			res, _ := f.admin.Do(http.MethodPost, f.base+"/test", form, http.Header{"Hx-Request": {"true"}})
			if res.StatusCode != http.StatusNoContent || !strings.Contains(res.Header.Get("HX-Trigger"), "Test sent to artist@example.com") {
				t.Fatalf("test send: %d %q", res.StatusCode, res.Header.Get("HX-Trigger"))
			}
			var ms []models.OutboxMessage
			if err := f.app.DB.NewSelect().Model(&ms).Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(ms) != 1 || ms[0].Recipient != "artist@example.com" || ms[0].Subject != "[Test] Night Drive is out" ||
				!strings.Contains(ms[0].HTML, "Out now.") || !strings.Contains(ms[0].Text, "Out now.") {
				t.Fatalf("outbox = %+v", ms)
			}
			if f.app.CountRows("broadcast_recipients") != 0 || f.stored(t).State != models.BroadcastDraft {
				t.Fatal("a test send started the broadcast")
			}
			// Without htmx: back to the tab with the notice.
			res, _ = f.post(t, f.base+"/test", nil)
			if res.StatusCode != http.StatusSeeOther || f.app.CountRows("outbox_messages") != 2 {
				t.Fatalf("plain test send: %d", res.StatusCode)
			}
			if _, body := f.admin.Get(res.Header.Get("Location")); !strings.Contains(body, "Test sent to artist@example.com.") {
				t.Fatal("no notice after a plain test send")
			}

			res, html := f.admin.Get(f.base + "/preview.html")
			csp := res.Header.Get("Content-Security-Policy")
			if res.StatusCode != 200 || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "sandbox") ||
				!strings.Contains(csp, "frame-ancestors 'self'") || strings.Contains(csp, "script-src") {
				t.Fatalf("preview: %d, CSP %q", res.StatusCode, csp)
			}
			if !strings.Contains(html, "Out now.") || !strings.Contains(html, `href="https://example.org"`) ||
				strings.Contains(html, "<script>alert(1)") || !strings.Contains(html, "Listen on Spotify") {
				t.Fatalf("preview body:\n%s", html)
			}
		})
	}
}

// Another workspace's link is a 404 on every route, and nothing is written.
func TestBroadcastIsScopedToTheWorkspace(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbs[pg], func(t *testing.T) {
			f := newBroadcastFixture(t, pg, 2)
			f.post(t, f.base, goodDraft()) // theirs, with a draft
			other := f.app.CreateOwner("label@example.com", "Other Label")
			c := f.app.NewClient()
			c.Login(other)
			before := f.stored(t)
			for _, p := range []string{"", "/preview.html", "/status", "/status?state=draft"} {
				if res, _ := c.Get(f.base + p); res.StatusCode != http.StatusNotFound {
					t.Errorf("GET %s of another workspace: %d", p, res.StatusCode)
				}
			}
			for _, p := range []string{"", "/test", "/pause", "/resume", "/cancel"} {
				form := goodDraft()
				form.Set("action", "send")
				if res, _ := c.PostForm("/admin/links", f.base+p, form); res.StatusCode != http.StatusNotFound {
					t.Errorf("POST %s of another workspace: %d", p, res.StatusCode)
				}
			}
			after := f.stored(t)
			if after.State != models.BroadcastDraft || !after.UpdatedAt.Equal(before.UpdatedAt) ||
				f.app.CountRows("broadcasts") != 1 || f.app.CountRows("outbox_messages") != 0 || f.app.CountRows("broadcast_recipients") != 0 {
				t.Fatal("a cross-workspace request wrote something")
			}
			_, body := c.Get("/admin/broadcasts")
			if !strings.Contains(body, `data-testid="broadcasts-empty"`) || strings.Contains(body, "Night Drive is out") {
				t.Fatal("another workspace's broadcast is listed")
			}
		})
	}
}

// A member (not an owner) writes, tests and sends.
func TestBroadcastByMember(t *testing.T) {
	f := newBroadcastFixture(t, false, 2)
	ctx := context.Background()
	pw := "member password 123"
	hash, err := auth.NewHasher(bcrypt.MinCost).Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	u := &models.User{Email: "member@example.com", Name: "Member", PasswordHash: hash, CreatedAt: f.app.Clock.Now()}
	if err := store.CreateUser(ctx, f.app.DB, u); err != nil {
		t.Fatal(err)
	}
	if err := store.AddMember(ctx, f.app.DB, &models.Member{WorkspaceID: f.owner.Workspace.ID, UserID: u.ID, Role: models.RoleMember, CreatedAt: f.app.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	c := f.app.NewClient()
	c.Login(testapp.Owner{Email: u.Email, Password: pw, User: u, Workspace: f.owner.Workspace})
	if res, _ := c.Get(f.base); res.StatusCode != 200 {
		t.Fatalf("member's tab: %d", res.StatusCode)
	}
	if res, _ := c.PostForm(f.base, f.base, goodDraft()); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("member's draft: %d", res.StatusCode)
	}
	if res, _ := c.PostForm(f.base, f.base+"/test", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("member's test: %d", res.StatusCode)
	}
	var to string
	if err := f.app.DB.NewSelect().Table("outbox_messages").Column("recipient").Scan(ctx, &to); err != nil || to != "member@example.com" {
		t.Fatalf("member's test went to %q, %v", to, err)
	}
	form := goodDraft()
	form.Set("action", "send")
	if res, _ := c.PostForm(f.base, f.base, form); res.StatusCode != http.StatusSeeOther || f.stored(t).State != models.BroadcastSending {
		t.Fatalf("member's send now: %d", res.StatusCode)
	}
	if b := f.stored(t); b.CreatedBy == nil || *b.CreatedBy != u.ID {
		t.Fatal("created_by is not the member")
	}
}

// The Broadcasts page: the empty state, then one row per link with its
// state, time, recipients and rates from the recipients' latest states.
func TestBroadcastList(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbs[pg], func(t *testing.T) {
			f := newBroadcastFixture(t, pg, 4)
			res, body := f.admin.Get("/admin/broadcasts")
			if res.StatusCode != 200 || !strings.Contains(body, "No broadcasts yet — open a link and write its release-day email") ||
				!strings.Contains(body, `href="/admin/broadcasts" aria-current="page"`) {
				t.Fatalf("empty list: %d\n%s", res.StatusCode, body)
			}
			// A second link with a draft; the first sent, with events.
			l2 := f.app.Link(f.owner.Workspace.ID, "second", models.LinkLive, f.app.Clock.Now().Add(96*time.Hour))
			f.admin.PostForm(f.base, fmt.Sprintf("/admin/links/%d/broadcast", l2.ID), goodDraft())
			form := goodDraft()
			form.Set("action", "send")
			f.post(t, f.base, form)
			b := f.stored(t)
			ctx := context.Background()
			for i, st := range []string{models.RecipientClicked, models.RecipientOpened, models.RecipientDelivered, models.RecipientBounced} {
				if _, err := f.app.DB.NewUpdate().Table("broadcast_recipients").Set("state = ?", st).
					Where("broadcast_id = ? AND email = ?", b.ID, fmt.Sprintf("fan%03d@example.net", i)).Exec(ctx); err != nil {
					t.Fatal(err)
				}
			}
			_, body = f.admin.Get("/admin/broadcasts")
			if strings.Count(body, `data-testid="broadcast-row"`) != 2 {
				t.Fatalf("rows:\n%s", body)
			}
			row := body[strings.Index(body, `data-state="sending"`):]
			row = row[:strings.Index(row, "</tr>")]
			// sent 4, delivered 3 (75%), opened 2 of 3, clicked 1 of 3.
			for _, want := range []string{
				fmt.Sprintf(`href="/admin/links/%d/broadcast"`, f.link.ID), "Sending", ">4</td>",
				`data-testid="delivered-rate">75%`, `data-testid="opened-rate">66.7%`, `data-testid="clicked-rate">33.3%`,
				"Sat 21 Nov, 13:00 CET",
			} {
				if !strings.Contains(row, want) {
					t.Fatalf("sent row lacks %q\n%s", want, row)
				}
			}
			draft := body[strings.Index(body, `data-state="draft"`):]
			draft = draft[:strings.Index(draft, "</tr>")]
			if !strings.Contains(draft, "Not scheduled") || !strings.Contains(draft, `data-testid="delivered-rate">—`) {
				t.Fatalf("draft row\n%s", draft)
			}
			// The tab shows the same insights.
			_, body = f.admin.Get(f.base)
			for _, want := range []string{
				`data-testid="bkpi-delivered-value">3<`, `data-testid="bkpi-delivered-rate">75% `,
				`data-testid="bkpi-opened-value">2<`, `data-testid="bkpi-clicked-value">1<`,
				`data-testid="bkpi-bounced-rate">25% `, `data-testid="bkpi-complained-rate">0% `, "4 of 4 · 100%",
			} {
				if !strings.Contains(body, want) {
					t.Fatalf("insights lack %q", want)
				}
			}
		})
	}
}
