package youtubetest_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dropday/dropday/internal/platform/youtube/youtubetest"
)

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func authQuery(s *youtubetest.Server, redirect string) url.Values {
	return url.Values{"client_id": {s.ClientID()}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"https://www.googleapis.com/auth/youtube"}, "state": {"st"}, "access_type": {"offline"},
		"prompt": {"consent"}, "code_challenge_method": {"S256"}, "code_challenge": {strings.Repeat("c", 43)}}
}

// The consent page lists the fake users; Allow sends a code for the one
// picked, Cancel sends access_denied; Google's own checks show as errors.
func TestConsentPage(t *testing.T) {
	const redirect = "http://127.0.0.1:1/cb"
	s := youtubetest.New(youtubetest.Options{RedirectURL: redirect, ConsentPage: true, Users: []youtubetest.User{
		{ID: "alex", Name: "Alex", Email: "alex@example.com", ChannelID: "UCalexalexalexalexalexal"},
		{ID: "sam", Name: "Sam", Email: "sam@example.com", ChannelID: "UCsamsamsamsamsamsamsams"}}})
	defer s.Close()
	q := authQuery(s, redirect)
	res, err := http.Get(s.URL + youtubetest.AuthPath + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "Sam (sam@example.com)") || !strings.Contains(string(b), "Manage your YouTube account") {
		t.Fatalf("consent page %d\n%s", res.StatusCode, b)
	}
	for action, want := range map[string]string{"allow": "code", "deny": "error"} {
		form := authQuery(s, redirect)
		form.Set("action", action)
		form.Set("user", "sam")
		res, err := noRedirect.PostForm(s.URL+youtubetest.AuthPath, form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusFound || loc.Query().Get(want) == "" || loc.Query().Get("state") != "st" {
			t.Fatalf("%s: %d %q", action, res.StatusCode, res.Header.Get("Location"))
		}
	}
	bad := authQuery(s, "http://127.0.0.1:1/other")
	if res, _ := noRedirect.Get(s.URL + youtubetest.AuthPath + "?" + bad.Encode()); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("redirect_uri_mismatch: %d", res.StatusCode)
	}
	online := authQuery(s, redirect)
	online.Del("access_type")
	res, _ = noRedirect.Get(s.URL + youtubetest.AuthPath + "?" + online.Encode())
	if loc, _ := url.Parse(res.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "invalid_request" {
		t.Fatalf("no offline access: %q", res.Header.Get("Location"))
	}
}

// The watch page stands in for music.youtube.com.
func TestWatchPage(t *testing.T) {
	s := youtubetest.New(youtubetest.Options{})
	defer s.Close()
	s.AddVideo(youtubetest.Video{ID: "aBcDeFgHiJ1", Title: "Night Drive", Artist: "Mara Lune"})
	res, err := http.Get(s.WatchURL("aBcDeFgHiJ1"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "Night Drive") {
		t.Fatalf("watch page %d", res.StatusCode)
	}
	if res, _ := http.Get(s.WatchURL("zzzzzzzzzzz")); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown video page: %d", res.StatusCode)
	}
}
