package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// bothDBs runs f on SQLite and on PostgreSQL.
func bothDBs(t *testing.T, f func(t *testing.T, pg bool)) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) { f(t, pg) })
	}
}

// outbox returns every stored message, oldest first, whoever it was sent for.
func outbox(t *testing.T, app *testapp.App) []models.OutboxMessage {
	t.Helper()
	var ms []models.OutboxMessage
	if err := app.DB.NewSelect().Model(&ms).OrderExpr("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ms
}

var resetLinkRE = regexp.MustCompile(`/password/reset/([A-Za-z0-9_-]{43})`)

// forgot asks for a reset link for email and waits for the background work.
func forgot(t *testing.T, app *testapp.App, email string) (*http.Response, string) {
	t.Helper()
	res, body := app.NewClient().PostForm("/password/forgot", "/password/forgot", url.Values{"email": {email}})
	app.AccountMail.Wait()
	return res, body
}

// lastResetToken is the token in the newest reset email to email.
func lastResetToken(t *testing.T, app *testapp.App, email string) string {
	t.Helper()
	ms := outbox(t, app)
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Recipient == email {
			m := resetLinkRE.FindStringSubmatch(ms[i].Text)
			if m == nil || !strings.Contains(ms[i].HTML, app.URL+"/password/reset/"+m[1]) {
				t.Fatalf("no reset link in the email to %s:\n%s", email, ms[i].Text)
			}
			return m[1]
		}
	}
	t.Fatalf("no email to %s in the outbox", email)
	return ""
}

// loggedIn tells whether a client's session still opens the admin panel.
func loggedIn(t *testing.T, c *testapp.Client) bool {
	t.Helper()
	res, _ := c.Get("/admin/links")
	return res.StatusCode == http.StatusOK
}

func loginStatus(t *testing.T, app *testapp.App, email, pw string) int {
	t.Helper()
	res, _ := app.NewClient().PostForm("/login", "/login", url.Values{"email": {email}, "password": {pw}})
	return res.StatusCode
}

// stableHeaders are the response headers that must not differ between an
// address with an account and one without (cookies, the date and the request
// id differ per request anyway).
func stableHeaders(h http.Header) string {
	var keys []string
	for k := range h {
		switch k {
		case "Set-Cookie", "Date", "X-Request-Id":
			continue
		}
		keys = append(keys, k+": "+strings.Join(h[k], ","))
	}
	slices.Sort(keys)
	return strings.Join(keys, "\n")
}

// "Forgot your password" answers the same for an address with an account and
// one without; only the account gets an email, and it carries no workspace.
func TestForgotPasswordRevealsNothing(t *testing.T) {
	bothDBs(t, func(t *testing.T, pg bool) {
		app := testapp.New(t, testapp.Options{Postgres: pg})
		o := app.CreateOwner("owner@example.com", "Label")

		res, body := app.NewClient().Get("/login")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `href="/password/forgot"`) {
			t.Fatalf("login page has no forgot link: %d", res.StatusCode)
		}
		res, body = app.NewClient().Get("/password/forgot")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `name="_csrf"`) || !strings.Contains(body, `data-testid="forgot-form"`) {
			t.Fatalf("forgot page: %d", res.StatusCode)
		}

		known, knownBody := forgot(t, app, "Owner@Example.com")
		unknown, unknownBody := forgot(t, app, "nobody@example.com")
		if known.StatusCode != http.StatusOK || unknown.StatusCode != http.StatusOK {
			t.Fatalf("statuses %d / %d, want 200 both", known.StatusCode, unknown.StatusCode)
		}
		if knownBody != unknownBody {
			t.Fatalf("the answers differ:\n--- account\n%s\n--- no account\n%s", knownBody, unknownBody)
		}
		if a, b := stableHeaders(known.Header), stableHeaders(unknown.Header); a != b {
			t.Fatalf("the headers differ:\n%s\n---\n%s", a, b)
		}
		if !strings.Contains(knownBody, "If an account exists for that address, we&#39;ve sent a link") &&
			!strings.Contains(knownBody, "If an account exists for that address, we've sent a link") {
			t.Fatalf("the answer does not say what happens:\n%s", knownBody)
		}
		// With the outbox driver the page tells how to get back in anyway.
		if !strings.Contains(knownBody, "dropday user password") {
			t.Error("the outbox install's answer does not point to `dropday user password`")
		}

		ms := outbox(t, app)
		if len(ms) != 1 || ms[0].Recipient != o.Email || ms[0].WorkspaceID != nil {
			t.Fatalf("outbox after two requests: %+v", ms)
		}
		if !strings.Contains(ms[0].Subject, "Reset") || ms[0].HTML == "" || ms[0].Text == "" {
			t.Errorf("reset email: %q (html %d bytes, text %d bytes)", ms[0].Subject, len(ms[0].HTML), len(ms[0].Text))
		}
		if n := app.CountRows("password_resets"); n != 1 {
			t.Fatalf("%d password_resets rows, want 1", n)
		}
		// Only the hash of the token is stored.
		tok := lastResetToken(t, app, o.Email)
		var r models.PasswordReset
		if err := app.DB.NewSelect().Model(&r).Limit(1).Scan(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r.TokenHash == tok || len(r.TokenHash) != 64 || !r.ExpiresAt.Equal(app.Clock.Now().Add(time.Hour)) {
			t.Errorf("stored reset: %+v", r)
		}

		// A malformed address is a clear inline message, and nothing happens.
		res, body = app.NewClient().PostForm("/password/forgot", "/password/forgot", url.Values{"email": {"not an address"}})
		app.AccountMail.Wait()
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="email-error"`) || app.CountRows("password_resets") != 1 {
			t.Fatalf("malformed address: %d, %d resets", res.StatusCode, app.CountRows("password_resets"))
		}
		// Without the CSRF token the form is refused.
		res, _ = app.NewClient().Do(http.MethodPost, "/password/forgot", url.Values{"email": {o.Email}}, nil)
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("forgot without CSRF: %d", res.StatusCode)
		}
	})
}

func TestForgotPasswordRateLimited(t *testing.T) {
	app := testapp.New(t, testapp.Options{Env: map[string]string{"DROPDAY_LOGIN_RATE": "3"}})
	app.CreateOwner("owner@example.com", "Label")
	c := app.NewClient()
	for i := 0; i < 3; i++ {
		c.PostForm("/password/forgot", "/password/forgot", url.Values{"email": {"owner@example.com"}})
	}
	res, body := c.PostForm("/password/forgot", "/password/forgot", url.Values{"email": {"owner@example.com"}})
	app.AccountMail.Wait()
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many attempts") {
		t.Fatalf("4th request: %d", res.StatusCode)
	}
	if n := app.CountRows("password_resets"); n != 3 {
		t.Fatalf("%d resets, want 3 (the limited one adds none)", n)
	}
}

// A reset link sets a new password once, ends every session of the account,
// and older links of the same account stop working.
func TestPasswordReset(t *testing.T) {
	bothDBs(t, func(t *testing.T, pg bool) {
		app := testapp.New(t, testapp.Options{Postgres: pg})
		o := app.CreateOwner("owner@example.com", "Label")
		other := app.CreateOwner("other@example.com", "Other")
		laptop, phone, bystander := app.NewClient(), app.NewClient(), app.NewClient()
		laptop.Login(o)
		phone.Login(o)
		bystander.Login(other)

		forgot(t, app, o.Email)
		older := lastResetToken(t, app, o.Email)
		app.Clock.Advance(10 * time.Minute)
		forgot(t, app, o.Email)
		tok := lastResetToken(t, app, o.Email)
		if tok == older {
			t.Fatal("two requests gave the same token")
		}

		c := app.NewClient()
		path := "/password/reset/" + tok
		res, body := c.Get(path)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="reset-form"`) || !strings.Contains(body, o.Email) {
			t.Fatalf("reset page: %d", res.StatusCode)
		}
		if res.Header.Get("Referrer-Policy") != "no-referrer" || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("reset page headers: %v", res.Header)
		}

		// Too short: the message, and nothing changes (the link still works).
		res, body = c.PostForm(path, path, url.Values{"password": {"short"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="password-error"`) {
			t.Fatalf("short password: %d", res.StatusCode)
		}
		if !loggedIn(t, laptop) || loginStatus(t, app, o.Email, o.Password) != http.StatusSeeOther {
			t.Fatal("a refused reset changed something")
		}
		if res, _ := c.Get(path); res.StatusCode != http.StatusOK {
			t.Fatalf("the link stopped working after a refused password: %d", res.StatusCode)
		}

		res, _ = c.PostForm(path, path, url.Values{"password": {"a brand new password"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?reset=1" {
			t.Fatalf("reset: %d → %q", res.StatusCode, res.Header.Get("Location"))
		}
		if _, body := c.Get("/login?reset=1"); !strings.Contains(body, `data-testid="login-notice"`) {
			t.Error("the login page does not say the password changed")
		}
		// Every browser of the account is logged out; other accounts are not.
		if loggedIn(t, laptop) || loggedIn(t, phone) {
			t.Fatal("a session survived the reset")
		}
		if n, _ := app.DB.NewSelect().Table("sessions").Where("user_id = ?", o.User.ID).Count(context.Background()); n != 0 {
			t.Fatalf("%d sessions of the user left", n)
		}
		if !loggedIn(t, bystander) {
			t.Fatal("another account was logged out")
		}
		if loginStatus(t, app, o.Email, o.Password) != http.StatusUnauthorized {
			t.Fatal("the old password still works")
		}
		if loginStatus(t, app, o.Email, "a brand new password") != http.StatusSeeOther {
			t.Fatal("the new password does not work")
		}

		// The link works once; the older link was deleted with the change.
		for _, used := range []string{tok, older} {
			p := "/password/reset/" + used
			res, body := app.NewClient().Get(p)
			if res.StatusCode != http.StatusNotFound || !strings.Contains(body, "This link has expired or was already used — ask for a new one") {
				t.Fatalf("GET %s after the reset: %d", p[:25], res.StatusCode)
			}
			res, _ = app.NewClient().PostForm("/login", p, url.Values{"password": {"yet another password"}})
			if res.StatusCode != http.StatusNotFound {
				t.Fatalf("POST with a used link: %d", res.StatusCode)
			}
		}
		if loginStatus(t, app, o.Email, "yet another password") != http.StatusUnauthorized ||
			loginStatus(t, app, o.Email, "a brand new password") != http.StatusSeeOther {
			t.Fatal("a used link changed the password")
		}
		if res, _ := app.NewClient().Get("/password/reset/nonsense"); res.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown token: %d", res.StatusCode)
		}
	})
}

func TestPasswordResetExpires(t *testing.T) {
	bothDBs(t, func(t *testing.T, pg bool) {
		app := testapp.New(t, testapp.Options{Postgres: pg})
		o := app.CreateOwner("owner@example.com", "Label")
		browser := app.NewClient()
		browser.Login(o)
		forgot(t, app, o.Email)
		path := "/password/reset/" + lastResetToken(t, app, o.Email)

		app.Clock.Advance(59 * time.Minute)
		if res, _ := app.NewClient().Get(path); res.StatusCode != http.StatusOK {
			t.Fatalf("within the hour: %d", res.StatusCode)
		}
		app.Clock.Advance(61*time.Minute - 59*time.Minute)
		res, body := app.NewClient().Get(path)
		if res.StatusCode != http.StatusNotFound || !strings.Contains(body, "expired or was already used") {
			t.Fatalf("after the hour: %d", res.StatusCode)
		}
		res, _ = app.NewClient().PostForm("/login", path, url.Values{"password": {"a brand new password"}})
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("POST after the hour: %d", res.StatusCode)
		}
		if loginStatus(t, app, o.Email, o.Password) != http.StatusSeeOther || !loggedIn(t, browser) {
			t.Fatal("an expired link changed something")
		}
	})
}

var inviteURLRE = regexp.MustCompile(`value="(http[^"]+/invite/[A-Za-z0-9_-]+)"`)

// The owner adds someone without an account: the invitation is emailed on the
// workspace's behalf (so it shows in that workspace's Outbox), the page says so
// and still shows the link, and the emailed link works.
func TestInvitationEmail(t *testing.T) {
	bothDBs(t, func(t *testing.T, pg bool) {
		app := testapp.New(t, testapp.Options{Postgres: pg})
		o := app.CreateOwner("owner@example.com", "Label")
		c := app.NewClient()
		c.Login(o)

		res, body := c.PostForm("/admin/members", "/admin/members", url.Values{"email": {"New@Example.com"}, "role": {"member"}})
		shown := inviteURLRE.FindStringSubmatch(body)
		if res.StatusCode != http.StatusCreated || shown == nil || !strings.Contains(body, "Invitation sent to new@example.com") {
			t.Fatalf("invite: %d\n%s", res.StatusCode, body)
		}
		ms := outbox(t, app)
		if len(ms) != 1 || ms[0].Recipient != "new@example.com" || ms[0].WorkspaceID == nil || *ms[0].WorkspaceID != o.Workspace.ID {
			t.Fatalf("outbox: %+v", ms)
		}
		m := ms[0]
		for _, want := range []string{"Label", "Owner", shown[1], "until"} {
			if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
				t.Errorf("the invitation email lacks %q:\n%s", want, m.Text)
			}
		}
		// The workspace's Outbox shows it.
		res, body = c.Get("/admin/outbox")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "new@example.com") {
			t.Fatalf("outbox page: %d", res.StatusCode)
		}

		// The invitee follows the emailed link and sets their password.
		accept := inviteRE.FindString(m.Text)
		invitee := app.NewClient()
		res, _ = invitee.PostForm(accept, accept, url.Values{"name": {"Newbie"}, "password": {"a long enough password"}})
		if res.StatusCode != http.StatusSeeOther || !loggedIn(t, invitee) {
			t.Fatalf("accept from the email: %d", res.StatusCode)
		}
		if loginStatus(t, app, "new@example.com", "a long enough password") != http.StatusSeeOther {
			t.Fatal("the invitee cannot log in")
		}
		// Members (not only owners) read the workspace's Outbox.
		if res, body := invitee.Get("/admin/outbox"); res.StatusCode != http.StatusOK || !strings.Contains(body, "invited you to Label") {
			t.Fatalf("member's Outbox: %d", res.StatusCode)
		}
	})
}

// failingSender refuses every email, like a provider that is down.
type failingSender struct{}

func (failingSender) Send(context.Context, mail.Message) (string, error) {
	return "", &mail.Error{Kind: mail.Transient, Status: 503, Message: "down"}
}

func (failingSender) SendBatch(context.Context, string, []mail.Message) ([]string, error) {
	return nil, errors.New("down")
}

// A failed invitation email loses nothing: the invitation exists, the page
// says the email failed and shows the link to pass on.
func TestInvitationEmailFails(t *testing.T) {
	app := testapp.New(t)
	app.AccountMail.Sender = failingSender{}
	o := app.CreateOwner("owner@example.com", "Label")
	c := app.NewClient()
	c.Login(o)
	res, body := c.PostForm("/admin/members", "/admin/members", url.Values{"email": {"new@example.com"}, "role": {"owner"}})
	shown := inviteURLRE.FindStringSubmatch(body)
	if res.StatusCode != http.StatusCreated || shown == nil || !strings.Contains(body, `data-testid="invite-send-failed"`) ||
		strings.Contains(body, "Invitation sent to") {
		t.Fatalf("failed send: %d\n%s", res.StatusCode, body)
	}
	if app.CountRows("invites") != 1 || len(outbox(t, app)) != 0 {
		t.Fatalf("invites %d, outbox %d", app.CountRows("invites"), len(outbox(t, app)))
	}
	path := strings.TrimPrefix(shown[1], app.URL)
	if res, _ := app.NewClient().Get(path); res.StatusCode != http.StatusOK {
		t.Fatalf("the shown link: %d", res.StatusCode)
	}
}

// keep stores a message in the outbox as the driver does, for workspace wid (0: none).
func keep(t *testing.T, app *testapp.App, to, subject string, wid int64) {
	t.Helper()
	msg := mail.Message{From: "Mara Lune <news@example.com>", To: []string{to}, Subject: subject,
		HTML: "<p>Hello <strong>" + to + "</strong></p>", Text: "Hello " + to,
		Headers: map[string]string{"List-Unsubscribe": "<" + app.URL + "/unsubscribe/x>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}
	if wid != 0 {
		msg.Tags = []mail.Tag{mail.WorkspaceTag(wid)}
	}
	if _, err := app.AccountMail.Sender.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

func outboxID(t *testing.T, app *testapp.App, subject string) int64 {
	t.Helper()
	var m models.OutboxMessage
	if err := app.DB.NewSelect().Model(&m).Where("subject = ?", subject).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// The Outbox lists the workspace's own emails only, newest first, filtered by
// recipient and paged; a message shows as the recipient sees it, in the
// sandboxed frame; another workspace's message is a 404.
func TestOutboxPage(t *testing.T) {
	bothDBs(t, func(t *testing.T, pg bool) {
		app := testapp.New(t, testapp.Options{Postgres: pg})
		a := app.CreateOwner("a@example.com", "Label A")
		b := app.CreateOwner("b@example.com", "Label B")
		c := app.NewClient()
		c.Login(a)

		res, body := c.Get("/admin/outbox")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Nothing sent yet — emails dropday sends (release-day emails, tests, invitations) appear here instead of leaving this server.") {
			t.Fatalf("empty outbox: %d", res.StatusCode)
		}
		if !strings.Contains(body, `hx-trigger="every 5s"`) || !strings.Contains(body, `aria-current="page">Outbox`) {
			t.Error("the list does not poll, or the sidebar does not mark the Outbox")
		}

		for i := 0; i < 51; i++ {
			app.Clock.Advance(time.Second)
			keep(t, app, fmt.Sprintf("fan%02d@example.net", i), fmt.Sprintf("A mail %02d", i), a.Workspace.ID)
		}
		keep(t, app, "fan00@example.net", "B secret", b.Workspace.ID)
		keep(t, app, "a@example.com", "Reset (no workspace)", 0)

		res, body = c.Get("/admin/outbox")
		if res.StatusCode != http.StatusOK || strings.Count(body, `data-testid="outbox-row"`) != 50 {
			t.Fatalf("page 1: %d, %d rows", res.StatusCode, strings.Count(body, `data-testid="outbox-row"`))
		}
		if !strings.Contains(body, "1–50 of 51") || strings.Index(body, "A mail 50") > strings.Index(body, "A mail 49") {
			t.Error("page 1 is not the newest 50 of 51")
		}
		if strings.Contains(body, "B secret") || strings.Contains(body, "Reset (no workspace)") {
			t.Fatal("the Outbox shows another workspace's or an account email")
		}
		res, body = c.Get("/admin/outbox?page=2")
		if strings.Count(body, `data-testid="outbox-row"`) != 1 || !strings.Contains(body, "A mail 00") {
			t.Fatalf("page 2: %d", res.StatusCode)
		}
		res, body = c.Get("/admin/outbox?to=FAN07@example.net")
		if strings.Count(body, `data-testid="outbox-row"`) != 1 || !strings.Contains(body, "A mail 07") {
			t.Fatalf("filter: %d rows", strings.Count(body, `data-testid="outbox-row"`))
		}
		if _, body = c.Get("/admin/outbox?to=nobody@example.net"); !strings.Contains(body, "Nothing sent to nobody@example.net") {
			t.Error("a filter without matches has no message")
		}
		// The poll gets the list alone, for the same filter.
		res, body = c.Do(http.MethodGet, "/admin/outbox?to=fan07%40example.net", nil, http.Header{"Hx-Request": {"true"}})
		if res.StatusCode != http.StatusOK || strings.Contains(body, "<html") || !strings.Contains(body, `id="outbox-list"`) ||
			strings.Count(body, `data-testid="outbox-row"`) != 1 {
			t.Fatalf("partial: %d\n%s", res.StatusCode, body)
		}

		own := outboxID(t, app, "A mail 07")
		res, body = c.Get(fmt.Sprintf("/admin/outbox/%d", own))
		for _, want := range []string{"A mail 07", "Mara Lune &lt;news@example.com&gt;", "fan07@example.net", "List-Unsubscribe",
			"List-Unsubscribe=One-Click", fmt.Sprintf(`src="/admin/outbox/%d/html"`, own), `data-testid="email-text"`, "Hello fan07@example.net"} {
			if !strings.Contains(body, want) {
				t.Errorf("message page lacks %q", want)
			}
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("message page: %d", res.StatusCode)
		}
		res, body = c.Get(fmt.Sprintf("/admin/outbox/%d/html", own))
		csp := res.Header.Get("Content-Security-Policy")
		if res.StatusCode != http.StatusOK || body != "<p>Hello <strong>fan07@example.net</strong></p>" ||
			!strings.Contains(csp, "sandbox") || !strings.Contains(csp, "frame-ancestors 'self'") || !strings.HasPrefix(csp, "default-src 'none'") {
			t.Fatalf("html: %d, CSP %q", res.StatusCode, csp)
		}

		// Another workspace's message, and an account email, are not found.
		for _, subject := range []string{"B secret", "Reset (no workspace)"} {
			id := outboxID(t, app, subject)
			for _, p := range []string{"", "/html"} {
				if res, _ := c.Get(fmt.Sprintf("/admin/outbox/%d%s", id, p)); res.StatusCode != http.StatusNotFound {
					t.Errorf("%s%s: %d, want 404", subject, p, res.StatusCode)
				}
			}
		}
		if res, _ := c.Get("/admin/outbox/nope"); res.StatusCode != http.StatusNotFound {
			t.Errorf("bad id: %d", res.StatusCode)
		}
		// B sees its own.
		cb := app.NewClient()
		cb.Login(b)
		if _, body := cb.Get("/admin/outbox"); !strings.Contains(body, "B secret") || strings.Contains(body, "A mail") {
			t.Error("workspace B's Outbox is wrong")
		}
		// Signed out: to the login page.
		if res, _ := app.NewClient().Get(fmt.Sprintf("/admin/outbox/%d/html", own)); res.StatusCode != http.StatusSeeOther {
			t.Errorf("signed-out html: %d", res.StatusCode)
		}
	})
}

// With Resend, nothing is kept: the page says where the emails go.
func TestOutboxWithResend(t *testing.T) {
	app := testapp.New(t, testapp.Options{Env: map[string]string{"DROPDAY_MAIL_DRIVER": "resend", "DROPDAY_RESEND_API_KEY": "re_test"}})
	o := app.CreateOwner("owner@example.com", "Label")
	c := app.NewClient()
	c.Login(o)
	res, body := c.Get("/admin/outbox")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="outbox-resend"`) || strings.Contains(body, `id="outbox-list"`) {
		t.Fatalf("outbox with resend: %d", res.StatusCode)
	}
	if strings.Contains(body, `href="/admin/outbox"`) {
		t.Error("the sidebar offers the Outbox with the resend driver")
	}
	// The forgot page does not point to the CLI when email really goes out.
	_, body = app.NewClient().PostForm("/password/forgot", "/password/forgot", url.Values{"email": {"nobody@example.com"}})
	app.AccountMail.Wait()
	if strings.Contains(body, "dropday user password") {
		t.Error("the Resend install's forgot answer mentions the outbox")
	}
	if _, err := store.UserByEmail(context.Background(), app.DB, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
}
