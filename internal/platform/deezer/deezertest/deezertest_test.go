package deezertest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, s *Server, path string) (int, map[string]any) {
	t.Helper()
	res, err := http.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// Misses and the quota come back inside HTTP 200, as Deezer does; look-ups
// by id work too.
func TestWireProtocol(t *testing.T) {
	s := New(Options{Now: func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }})
	defer s.Close()
	st, body := get(t, s, "/track/isrc:USRC17607839")
	e, _ := body["error"].(map[string]any)
	if st != 200 || e["code"] != float64(CodeNotFound) || e["type"] != "DataException" {
		t.Fatalf("miss: %d %v", st, body)
	}
	s.AddAlbum(Album{ID: 7, Title: "Afterglow", Artist: "Mara Lune", UPC: "123456789012"}, time.Time{})
	s.AddTrack(Track{ID: 8, Title: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839", AlbumID: 7}, time.Time{})
	if st, body := get(t, s, "/album/7"); st != 200 || body["upc"] != "123456789012" || body["type"] != "album" {
		t.Fatalf("album by id: %d %v", st, body)
	}
	if st, body := get(t, s, "/track/8"); st != 200 || body["album"].(map[string]any)["title"] != "Afterglow" {
		t.Fatalf("track by id: %d %v", st, body)
	}
	s.SetRateLimit(1, 5*time.Second)
	get(t, s, "/track/8")
	st, body = get(t, s, "/track/8")
	e, _ = body["error"].(map[string]any)
	if st != 200 || e["code"] != float64(CodeQuota) || e["message"] != "Quota limit exceeded" || s.QuotaErrors() != 1 {
		t.Fatalf("quota: %d %v", st, body)
	}
}

// The direct part speaks Deezer's wire: the consent page lists the fake
// users and the perms, the token answer is form-encoded unless output=json
// (expires 0 with offline_access), a used code gets "wrong code", and API
// errors come inside HTTP 200 (300 for a revoked user).
func TestDirectWire(t *testing.T) {
	s := New(Options{ConsentPage: true, Users: []User{{ID: 1, Name: "Ada"}, {ID: 2, Name: "Bo"}}})
	defer s.Close()
	q := url.Values{"app_id": {s.AppID()}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "perms": {"basic_access,offline_access,manage_library"}, "state": {"x"}}
	res, err := http.Get(s.URL + "/oauth/auth.php?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"Ada", "Bo", "Manage your library", `data-testid="consent-agree"`} {
		if !strings.Contains(string(page), want) {
			t.Fatalf("consent page lacks %q", want)
		}
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"action": {"agree"}, "user": {"2"}}
	for k, v := range q {
		form[k] = v
	}
	res, err = hc.PostForm(s.URL+"/oauth/auth.php", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	code := loc.Query().Get("code")
	tq := url.Values{"app_id": {s.AppID()}, "secret": {s.AppSecret()}, "code": {code}}
	res, err = http.Get(s.URL + "/oauth/access_token.php?" + tq.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	vals, err := url.ParseQuery(string(b))
	if err != nil || vals.Get("access_token") == "" || vals.Get("expires") != "0" {
		t.Fatalf("form-encoded token answer %q", b)
	}
	res, _ = http.Get(s.URL + "/oauth/access_token.php?" + tq.Encode())
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "wrong code" {
		t.Fatalf("reused code: %q", b)
	}
	tok := vals.Get("access_token")
	if _, me := get(t, s, "/user/me?access_token="+tok); me["id"] != float64(2) || me["email"] != nil {
		t.Fatalf("me = %v", me)
	}
	s.RevokeUser(2)
	st, me := get(t, s, "/user/me?access_token="+tok)
	if e, _ := me["error"].(map[string]any); st != 200 || e["code"] != float64(CodeTokenInvalid) || e["type"] != "OAuthException" {
		t.Fatalf("revoked: %d %v", st, me)
	}
}
