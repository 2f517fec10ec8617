package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// In `dropday demo` a fan pre-saves on YouTube Music through the stand-in's
// Google consent page; the release-day run likes the video (the admin
// panel lists the pre-save as delivered), and the smart link's YouTube
// Music button opens the stand-in's local watch page.
func TestDemoYouTubeMusic(t *testing.T) {
	addr, out, logs := startDemo(t, "-release-in", "30s")
	m := regexp.MustCompile(`email (\S+)\s+password (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no admin credentials printed:\n%s", out.String())
	}
	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	fan := &http.Client{Jar: jar, Timeout: time.Minute, Transport: browserUA{http.DefaultTransport}}
	res, err := fan.PostForm(base+"/night-drive/presave/youtube_music", url.Values{"email_opt_in": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	consent := string(b)
	if !strings.Contains(consent, `data-testid="consent-agree"`) || !strings.Contains(consent, "Google") {
		t.Fatalf("no Google consent page: %d\n%s", res.StatusCode, consent)
	}
	form := url.Values{"action": {"allow"}, "user": {"sam"}}
	for _, h := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(consent, -1) {
		form.Set(h[1], h[2])
	}
	res, err = fan.PostForm(res.Request.URL.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `data-testid="presave-done"`) {
		t.Fatalf("no confirmation after consent: %s %d\n%s", res.Request.URL, res.StatusCode, b)
	}

	admin, _ := demoAdmin(t, addr, m[1], m[2])
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		res, err := admin.Get(base + "/admin/links/1/share?state=delivered")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(b), `data-testid="presave-row"`) && strings.Contains(string(b), "sam@example.com") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the YouTube Music pre-save was not delivered:\n%s", logs.String())
		}
	}
	noFollow := &http.Client{Timeout: time.Minute, Transport: browserUA{http.DefaultTransport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err = noFollow.Get(base + "/night-drive/go/youtube_music")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "http://127.0.0.1:") || !strings.Contains(loc, "/watch?v=") {
		t.Fatalf("YouTube Music button: %d to %q, want the stand-in's watch page", res.StatusCode, loc)
	}
	res, err = fan.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "Night Drive") {
		t.Fatalf("watch page: %d", res.StatusCode)
	}
}
