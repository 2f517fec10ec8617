package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// `dropday demo` end to end: seeded page with the ribbon, a pre-save through
// the Spotify stand-in's consent page, and the confirmation.
func TestDemo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the demo binds it again; the base URL must name the port up front
	env := envOf(map[string]string{"DROPDAY_ADDR": addr, "DROPDAY_BASE_URL": "http://" + addr, "DROPDAY_DATA_DIR": t.TempDir()})
	ctx, cancel := context.WithCancel(context.Background())
	out, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"demo"}, env, strings.NewReader(""), out, logs) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo returned %v", err)
		}
	}()
	// Generous: bcrypt under the race detector, beside the other packages' tests, is slow.
	for deadline := time.Now().Add(90 * time.Second); !strings.Contains(logs.String(), "dropday is running"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("demo did not start:\n%s\n%s", out.String(), logs.String())
		}
	}
	m := regexp.MustCompile(`email (\S+)\s+password (\S+)`).FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "http://"+addr+"/night-drive") {
		t.Fatalf("demo did not print where to click:\n%s", out.String())
	}

	jar, _ := cookiejar.New(nil)
	fan := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(u string) (*http.Response, string) {
		res, err := fan.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	_, page := get("http://" + addr + "/night-drive")
	if !strings.Contains(page, `data-testid="demo-ribbon"`) || !strings.Contains(page, `data-testid="presave-spotify"`) {
		t.Fatal("the demo page has no ribbon or no Spotify pre-save button")
	}
	// Press the button: the stand-in's consent page comes up.
	res, err := fan.PostForm("http://"+addr+"/night-drive/presave/spotify", url.Values{"email_opt_in": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	consent := string(b)
	if !strings.Contains(consent, `data-testid="consent-agree"`) {
		t.Fatalf("no consent page: %d\n%s", res.StatusCode, consent)
	}
	form := url.Values{"action": {"agree"}, "user": {"alex"}}
	for _, h := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(consent, -1) {
		form.Set(h[1], h[2])
	}
	res, err = fan.PostForm(res.Request.URL.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `data-testid="presave-done"`) || !strings.Contains(res.Request.URL.Path, "/night-drive/presaved") {
		t.Fatalf("no confirmation after consent: %s %d\n%s", res.Request.URL, res.StatusCode, b)
	}

	// The admin can log in with the printed password.
	ajar, _ := cookiejar.New(nil)
	admin := &http.Client{Jar: ajar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err = admin.Get("http://" + addr + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	tok := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(string(b))
	if tok == nil {
		t.Fatal("no CSRF token on the login page")
	}
	res, err = admin.PostForm("http://"+addr+"/login", url.Values{"_csrf": {tok[1]}, "email": {m[1]}, "password": {m[2]}})
	if err != nil || res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/links" {
		t.Fatalf("demo admin login: %v %v", res, err)
	}

	// Deliver now from the panel: the real engine in `serve` saves it to the stand-in.
	res, err = admin.PostForm("http://"+addr+"/admin/links/1/deliver", url.Values{"_csrf": {tok[1]}})
	if err != nil || res.StatusCode >= 400 {
		t.Fatalf("deliver now: %v %v", res, err)
	}
	res.Body.Close()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := admin.Get("http://" + addr + "/admin/links/1/share/stats")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if regexp.MustCompile(`data-testid="kpi-delivered-value">1<`).Match(b) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo's pre-save was not delivered:\n%s\n%s", b, logs.String())
		}
	}

	// The seeded release-day email, sent now from the Broadcast tab, reaches
	// the fan (Alex ticked "also email me") in the Outbox, with a working
	// one-click unsubscribe.
	res, err = admin.PostForm("http://"+addr+"/admin/links/1/broadcast", url.Values{"_csrf": {tok[1]},
		"subject": {"Night Drive is out now"}, "body": {"It's **here**."}, "format": {"markdown"},
		"when": {"release"}, "action": {"send"}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("send the broadcast now: %v %v", res, err)
	}
	res.Body.Close()
	adminGet := func(path string) string {
		res, err := admin.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	var row []string
	for deadline := time.Now().Add(15 * time.Second); row == nil; time.Sleep(100 * time.Millisecond) {
		row = regexp.MustCompile(`href="(/admin/outbox/\d+)"[^>]*>Night Drive is out now<`).FindStringSubmatch(adminGet("/admin/outbox?to=alex@example.com"))
		if row == nil && time.Now().After(deadline) {
			t.Fatalf("the release-day email is not in the Outbox:\n%s", logs.String())
		}
	}
	unsub := regexp.MustCompile(`http://[^<>"\s]+/unsubscribe/[A-Za-z0-9_-]+`).FindString(adminGet(row[1]))
	if unsub == "" {
		t.Fatal("the email in the Outbox has no unsubscribe link")
	}
	// A mail provider's one-click POST: no cookie, no CSRF token.
	res, err = http.Post(unsub, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "unsubscribed") {
		t.Fatalf("one-click unsubscribe: %d\n%s", res.StatusCode, b)
	}
}
