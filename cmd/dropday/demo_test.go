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
	addr, out, logs := startDemo(t)
	m := regexp.MustCompile(`email (\S+)\s+password (\S+)`).FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "http://"+addr+"/night-drive") {
		t.Fatalf("demo did not print where to click:\n%s", out.String())
	}

	jar, _ := cookiejar.New(nil)
	fan := &http.Client{Jar: jar, Timeout: time.Minute}
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
	demoPresave(t, fan, addr)

	// The admin can log in with the printed password.
	admin, tok := demoAdmin(t, addr, m[1], m[2])

	// Deliver now from the panel: the real engine in `serve` saves it to the stand-in.
	res, err := admin.PostForm("http://"+addr+"/admin/links/1/deliver", url.Values{"_csrf": {tok}})
	if err != nil || res.StatusCode >= 400 {
		t.Fatalf("deliver now: %v %v", res, err)
	}
	res.Body.Close()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
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
	res, err = admin.PostForm("http://"+addr+"/admin/links/1/broadcast", url.Values{"_csrf": {tok},
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
	for deadline := time.Now().Add(time.Minute); row == nil; time.Sleep(100 * time.Millisecond) {
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
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "unsubscribed") {
		t.Fatalf("one-click unsubscribe: %d\n%s", res.StatusCode, b)
	}
}

// startDemo runs `dropday demo` with args on a free loopback port until the
// test ends, and returns its address and what it printed and logged.
func startDemo(t *testing.T, args ...string) (string, *syncBuffer, *syncBuffer) {
	t.Helper()
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
	go func() { done <- run(ctx, append([]string{"demo"}, args...), env, strings.NewReader(""), out, logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo returned %v", err)
		}
	})
	// Generous: bcrypt under the race detector, beside the other packages' tests, is slow.
	for deadline := time.Now().Add(90 * time.Second); !strings.Contains(logs.String(), "dropday is running"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("demo did not start:\n%s\n%s", out.String(), logs.String())
		}
	}
	return addr, out, logs
}

// demoPresave presses the demo page's Spotify button and agrees as Alex on
// the stand-in's consent page (with "also email me").
func demoPresave(t *testing.T, fan *http.Client, addr string) {
	t.Helper()
	demoPresaveOn(t, fan, addr, "spotify", "alex", true)
}

// demoPresaveOn pre-saves on a platform through its stand-in's consent page,
// as user; it returns that consent page and dropday's confirmation.
func demoPresaveOn(t *testing.T, fan *http.Client, addr, platform, user string, optIn bool) (consent, done string) {
	t.Helper()
	form0 := url.Values{}
	if optIn {
		form0.Set("email_opt_in", "1")
	}
	res, err := fan.PostForm("http://"+addr+"/night-drive/presave/"+platform, form0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	consent = string(b)
	if !strings.Contains(consent, `data-testid="consent-agree"`) {
		t.Fatalf("no consent page: %d\n%s", res.StatusCode, consent)
	}
	form := url.Values{"action": {"agree"}, "user": {user}}
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
	return consent, string(b)
}

// demoAdmin logs in with the printed credentials; it returns the admin's
// client (not following redirects) and its CSRF token. Clients wait up to a
// minute: bcrypt under the race detector on a busy CI machine is slow.
func demoAdmin(t *testing.T, addr, email, password string) (*http.Client, string) {
	t.Helper()
	ajar, _ := cookiejar.New(nil)
	admin := &http.Client{Jar: ajar, Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := admin.Get("http://" + addr + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	tok := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(string(b))
	if tok == nil {
		t.Fatal("no CSRF token on the login page")
	}
	res, err = admin.PostForm("http://"+addr+"/login", url.Values{"_csrf": {tok[1]}, "email": {email}, "password": {password}})
	if err != nil || res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/links" {
		t.Fatalf("demo admin login: %v %v", res, err)
	}
	return admin, tok[1]
}

// browserUA makes the Go client look like a phone's browser: the analytics
// rightly skip "Go-http-client" as a robot.
type browserUA struct{ next http.RoundTripper }

func (b browserUA) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
	return b.next.RoundTrip(r)
}

// The demo's release day, in one process and without a restart: a fan views
// the countdown, pre-saves and signs up; at the release time the page turns
// into the smart link with the platforms the stand-ins list; a "Listen" click
// lands on the stand-in; and the link's Insights show those views, the
// pre-save, the signups and the click.
func TestDemoReleaseDay(t *testing.T) {
	addr, out, logs := startDemo(t, "-release-in", "30s")
	m := regexp.MustCompile(`email (\S+)\s+password (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no admin credentials printed:\n%s", out.String())
	}
	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	fan := &http.Client{Jar: jar, Timeout: time.Minute, Transport: browserUA{http.DefaultTransport}}
	page := func() string {
		res, err := fan.Get(base + "/night-drive")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	before := page()
	rel := regexp.MustCompile(`data-release="([^"]+)"`).FindStringSubmatch(before)
	if rel == nil {
		t.Fatalf("no release time on the page:\n%s", before)
	}
	releaseAt, err := time.Parse(time.RFC3339, rel[1])
	if err != nil {
		t.Fatal(err)
	}
	if time.Now().Before(releaseAt) && (!strings.Contains(before, `data-testid="countdown"`) || strings.Contains(before, `data-testid="listen"`)) {
		t.Fatal("before the release the page must be the countdown, without Listen buttons")
	}
	demoPresave(t, fan, addr)
	// Deezer pre-saves directly too, through its stand-in's consent page.
	demoPresaveOn(t, fan, addr, "deezer", "502", false)
	req, _ := http.NewRequest(http.MethodPost, base+"/night-drive/signup", strings.NewReader(url.Values{"email": {"robin@example.com"}, "platform": {"deezer"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err := fan.Do(req)
	if err != nil || res.StatusCode >= 400 {
		t.Fatalf("email signup: %v %v", res, err)
	}
	res.Body.Close()

	// The release passes; the same process turns the page into the smart
	// link, with every platform whose stand-in lists the release at its time
	// (each look-up is recorded as it answers, so under load one may show a
	// moment after another).
	var smart string
	found := func(p string) bool { return strings.Contains(smart, `href="/night-drive/go/`+p+`"`) }
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		if smart = page(); found("spotify") && found("deezer") && found("tidal") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the smart link lacks Spotify, Deezer or TIDAL (their stand-ins list the release at the release time):\n%s\n%s", smart, logs.String())
		}
	}
	if strings.Contains(smart, `data-testid="countdown"`) {
		t.Error("the smart link still shows the countdown")
	}
	if strings.Contains(smart, `href="/night-drive/go/apple_music"`) {
		t.Error("Apple Music lists the release minutes late; it must not be on the smart link yet")
	}
	// A click goes through the click route to the Spotify stand-in.
	noFollow := &http.Client{Timeout: time.Minute, Transport: browserUA{http.DefaultTransport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err = noFollow.Get(base + "/night-drive/go/spotify")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "http://127.0.0.1:") || strings.HasPrefix(loc, base) {
		t.Fatalf("click: %d to %q, want the stand-in", res.StatusCode, loc)
	}

	admin, _ := demoAdmin(t, addr, m[1], m[2])
	// The release-day run delivers both pre-saves (Spotify and Deezer).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		res, err := admin.Get(base + "/admin/links/1/share/stats")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if regexp.MustCompile(`data-testid="kpi-delivered-value">2<`).Match(b) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo's Spotify and Deezer pre-saves were not delivered:\n%s\n%s", b, logs.String())
		}
	}
	res, err = admin.Get(base + "/admin/links/1/insights")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	kpi := func(key string) string {
		v := regexp.MustCompile(`data-testid="kpi-` + key + `-value">([^<]*)<`).FindStringSubmatch(string(b))
		if v == nil {
			t.Fatalf("no %s KPI on the insights page (%d)", key, res.StatusCode)
		}
		return v[1]
	}
	if v := kpi("views"); v == "0" || v == "1" {
		t.Errorf("views = %s, want the page views this test made", v)
	}
	if v := kpi("visitors"); v != "1" {
		t.Errorf("unique visitors = %s, want 1 (one fan)", v)
	}
	// Alex's and Kim's pre-saves (Alex with "also email me": a signup too) and Robin's signup.
	for key, want := range map[string]string{"presaves": "2", "signups": "2", "clicks": "1"} {
		if got := kpi(key); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
}
