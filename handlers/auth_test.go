package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dropday/dropday/internal/accounts"
	"github.com/dropday/dropday/internal/testapp"
)

func TestSetupTokenIsSingleUse(t *testing.T) {
	app := testapp.New(t)
	token, err := accounts.NewSetupToken(context.Background(), app.DB)
	if err != nil || token == "" {
		t.Fatalf("NewSetupToken = %q, %v", token, err)
	}
	c := app.NewClient()
	if res, _ := c.Get("/setup?token=wrong"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("wrong token: status %d, want 404", res.StatusCode)
	}
	page := "/setup?token=" + token
	// Bad input: clear messages, nothing written, token still valid.
	res, body := c.PostForm(page, "/setup", url.Values{"token": {token}, "email": {"not-an-email"}, "password": {"short"}, "workspace": {""}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "email address") || !strings.Contains(body, "at least 10") {
		t.Fatalf("bad setup: status %d\n%s", res.StatusCode, body)
	}
	if n := app.CountRows("users"); n != 0 {
		t.Fatalf("bad setup wrote %d users", n)
	}
	form := url.Values{"token": {token}, "name": {"Mara"}, "email": {"Mara@Example.com"}, "password": {"a long enough password"}, "workspace": {"Mara Lune"}}
	res, body = c.PostForm(page, "/setup", form)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/links" {
		t.Fatalf("setup: status %d location %q\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
	// The new owner is signed in.
	if res, _ := c.Get("/admin/members"); res.StatusCode == http.StatusSeeOther {
		t.Fatalf("not signed in after setup")
	}
	// A second use, from another browser, is refused and creates nothing.
	c2 := app.NewClient()
	if res, _ := c2.Get(page); res.StatusCode != http.StatusNotFound {
		t.Fatalf("second GET of setup: status %d, want 404", res.StatusCode)
	}
	csrf := c2.CSRF("/login")
	form.Set("_csrf", csrf)
	form.Set("email", "intruder@example.com")
	res, _ = c2.Do(http.MethodPost, "/setup", form, nil)
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("second setup POST: status %d, want 404", res.StatusCode)
	}
	if n := app.CountRows("users"); n != 1 {
		t.Fatalf("users = %d, want 1", n)
	}
	// Once an owner exists, no new setup token is issued.
	if tok, err := accounts.NewSetupToken(context.Background(), app.DB); tok != "" || err != nil {
		t.Fatalf("NewSetupToken after setup = %q, %v", tok, err)
	}
}

func TestLoginLogoutAndSessions(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Label")
	c := app.NewClient()

	res, _ := c.Get("/admin/links")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
		t.Fatalf("signed-out admin: status %d location %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := c.PostForm("/login", "/login", url.Values{"email": {o.Email}, "password": {"wrong password!"}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong email or password") {
		t.Fatalf("wrong password: status %d", res.StatusCode)
	}
	res, _ = c.PostForm("/login", "/login", url.Values{"email": {"nobody@example.com"}, "password": {o.Password}})
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown email: status %d", res.StatusCode)
	}
	// An open redirect in next is ignored.
	res, _ = c.PostForm("/login", "/login", url.Values{"email": {"OWNER@example.com "}, "password": {o.Password}, "next": {"//evil.example/admin"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/links" {
		t.Fatalf("login: status %d location %q", res.StatusCode, res.Header.Get("Location"))
	}
	first := cookie(t, c, app.URL, "dropday_session")
	// Logging in again issues a new session token and ends the old one.
	c.Login(o)
	second := cookie(t, c, app.URL, "dropday_session")
	if first == second {
		t.Fatal("login reused the session token")
	}
	if n := app.CountRows("sessions"); n != 1 {
		t.Fatalf("sessions after re-login = %d, want 1", n)
	}
	res, _ = c.PostForm("/admin/members", "/logout", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: status %d", res.StatusCode)
	}
	if n := app.CountRows("sessions"); n != 0 {
		t.Fatalf("sessions after logout = %d, want 0", n)
	}
	// The old cookie no longer works, even if replayed.
	replay := app.NewClient()
	u, _ := url.Parse(app.URL)
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: "dropday_session", Value: second}})
	if res, _ := replay.Get("/admin/links"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("replayed cookie after logout: status %d, want redirect to login", res.StatusCode)
	}
}

func TestLoginRateLimited(t *testing.T) {
	app := testapp.New(t, testapp.Options{Env: map[string]string{"DROPDAY_LOGIN_RATE": "3"}})
	o := app.CreateOwner("owner@example.com", "Label")
	c := app.NewClient()
	for i := 0; i < 3; i++ {
		c.PostForm("/login", "/login", url.Values{"email": {o.Email}, "password": {"wrong password!"}})
	}
	res, body := c.PostForm("/login", "/login", url.Values{"email": {o.Email}, "password": {o.Password}})
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many login attempts") {
		t.Fatalf("4th attempt: status %d", res.StatusCode)
	}
	if n := app.CountRows("sessions"); n != 0 {
		t.Fatalf("a rate-limited login created a session")
	}
}

func TestCSRFRejected(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Label")
	c := app.NewClient()
	c.Login(o)
	before := app.CountRows("sessions")
	// No token at all.
	res, body := c.Do(http.MethodPost, "/logout", url.Values{}, nil)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "expired or came from another site") {
		t.Fatalf("no token: status %d\n%s", res.StatusCode, body)
	}
	// A wrong token.
	res, _ = c.Do(http.MethodPost, "/logout", url.Values{"_csrf": {"forged"}}, nil)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("forged token: status %d", res.StatusCode)
	}
	// A cross-site request, even with a token.
	res, _ = c.Do(http.MethodPost, "/logout", url.Values{"_csrf": {c.CSRF("/login")}}, http.Header{"Sec-Fetch-Site": {"cross-site"}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site: status %d", res.StatusCode)
	}
	if n := app.CountRows("sessions"); n != before {
		t.Fatalf("a rejected request changed sessions: %d → %d", before, n)
	}
	// The htmx header form of the token works.
	token := c.CSRF("/login")
	res, _ = c.Do(http.MethodPost, "/logout", url.Values{}, http.Header{"X-Csrf-Token": {token}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("header token: status %d", res.StatusCode)
	}
}

func cookie(t *testing.T, c *testapp.Client, base, name string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	t.Fatalf("no %s cookie", name)
	return ""
}

// No route buffers an unbounded body: the limit applies before the CSRF check reads the form.
func TestBodyLimitBeforeCSRF(t *testing.T) {
	app := testapp.New(t)
	c := app.NewClient()
	big := strings.Repeat("a", 2<<20)
	res, body := c.Do(http.MethodPost, "/login", url.Values{"email": {big}}, nil)
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than") {
		t.Fatalf("2 MB login form: status %d, want 413", res.StatusCode)
	}
}

// An htmx partial polled after the session ended sends the window to the login page.
func TestExpiredSessionHTMXRedirects(t *testing.T) {
	app := testapp.New(t)
	c := app.NewClient()
	res, body := c.Do(http.MethodGet, "/admin/links", nil, http.Header{"Hx-Request": {"true"}})
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("HX-Redirect") != "/login" || body != "" {
		t.Fatalf("htmx GET without a session: %d %q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
}
