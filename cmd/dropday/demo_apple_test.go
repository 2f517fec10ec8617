package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// In the demo Apple Music is direct: a fan pre-adds through the stand-in's
// MusicKit consent (as the fake MusicKit JS's popup does) and the demo
// stores it. (Delivery waits until Apple lists the release, three minutes
// after it; TestAppleReleaseDay proves that path on an injected clock.)
func TestDemoApplePreAdd(t *testing.T) {
	addr, _, logs := startDemo(t)
	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	fan := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	do := func(req *http.Request) (*http.Response, string) {
		res, err := fan.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, page := do(mustReq(t, http.MethodGet, base+"/night-drive", nil))
	if !strings.Contains(page, `data-testid="presave-apple_music"`) {
		t.Fatal("Apple Music is not direct in the demo")
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self' http://127.0.0.1:") {
		t.Fatalf("CSP does not allow the stand-in's MusicKit JS: %s", csp)
	}
	post := func(u string, form url.Values) (*http.Response, string) {
		req := mustReq(t, http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Origin", base)
		return do(req)
	}
	res, body := post(base+"/night-drive/presave/apple_music", url.Values{})
	var start struct{ State, DeveloperToken, MusicKitURL, TokenURL string }
	if err := json.Unmarshal([]byte(body), &start); err != nil || res.StatusCode != 200 || start.State == "" {
		t.Fatalf("start: %d %s", res.StatusCode, body)
	}
	standIn := strings.TrimSuffix(start.MusicKitURL, "/musickit/v3/musickit.js")
	if _, js := do(mustReq(t, http.MethodGet, start.MusicKitURL, nil)); !strings.Contains(js, "MusicKit") {
		t.Fatal("the stand-in serves no MusicKit JS")
	}
	// The consent popup lists the demo's subscribers; Robin allows.
	q := url.Values{"developerToken": {start.DeveloperToken}, "origin": {base}, "app": {"dropday"}}
	if _, consent := do(mustReq(t, http.MethodGet, standIn+"/musickit/authorize?"+q.Encode(), nil)); !strings.Contains(consent, `value="robin"`) {
		t.Fatalf("consent page:\n%s", consent)
	}
	q.Set("user", "robin")
	q.Set("decision", "allow")
	req := mustReq(t, http.MethodPost, standIn+"/musickit/authorize", strings.NewReader(q.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, answer := do(req)
	m := regexp.MustCompile(`"(mut\.[A-Za-z0-9_-]+)"`).FindStringSubmatch(answer)
	if m == nil {
		t.Fatalf("no Music User Token from the consent:\n%s", answer)
	}
	res, body = post(base+start.TokenURL, url.Values{"state": {start.State}, "music_user_token": {m[1]}})
	var done struct{ Location string }
	if err := json.Unmarshal([]byte(body), &done); err != nil || res.StatusCode != 200 {
		t.Fatalf("token post: %d %s\n%s", res.StatusCode, body, logs.String())
	}
	if _, conf := do(mustReq(t, http.MethodGet, base+done.Location, nil)); !strings.Contains(conf, "Apple Music library") {
		t.Fatal("no confirmation")
	}
	if strings.Contains(logs.String(), m[1]) || strings.Contains(logs.String(), start.DeveloperToken) {
		t.Fatal("a token is in the demo's logs")
	}
}

func mustReq(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
