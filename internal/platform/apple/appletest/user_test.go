package appletest

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The consent popup checks the developer token and its origin, and the
// Music User Token it issues is one the API then accepts (until revoked).
func TestConsentPopupIssuesAcceptedTokens(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }})
	defer s.Close()
	s.AddUser(User{Name: "robin", Storefront: "de"})
	priv, err := jwt.ParseECPrivateKeyFromPEM([]byte(s.PrivateKeyPEM()))
	if err != nil {
		t.Fatal(err)
	}
	const site = "https://fans.example"
	dev := sign(t, s, jwt.MapClaims{"iss": s.TeamID(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "origin": []string{site}},
		jwt.SigningMethodES256, priv)
	page := func(method string, q url.Values) (int, string) {
		t.Helper()
		var res *http.Response
		var err error
		if method == http.MethodGet {
			res, err = http.Get(s.URL + "/musickit/authorize?" + q.Encode())
		} else {
			res, err = http.PostForm(s.URL+"/musickit/authorize", q)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if st, body := page(http.MethodGet, url.Values{"developerToken": {dev}, "origin": {"https://evil.example"}}); st != 401 || !strings.Contains(body, "not valid") {
		t.Fatalf("another site's page: %d", st)
	}
	if st, _ := page(http.MethodGet, url.Values{"developerToken": {"nope"}, "origin": {site}}); st != 401 {
		t.Fatalf("bad developer token: %d", st)
	}
	st, body := page(http.MethodGet, url.Values{"developerToken": {dev}, "origin": {site}, "app": {"dropday"}})
	if st != 200 || !strings.Contains(body, `value="robin"`) || !strings.Contains(body, "dropday") {
		t.Fatalf("consent page: %d\n%s", st, body)
	}
	_, body = page(http.MethodPost, url.Values{"developerToken": {dev}, "origin": {site}, "user": {"robin"}, "decision": {"deny"}})
	if strings.Contains(body, "mut.") || !strings.Contains(body, "denied") {
		t.Fatalf("denied:\n%s", body)
	}
	_, body = page(http.MethodPost, url.Values{"developerToken": {dev}, "origin": {site}, "user": {"robin"}, "decision": {"allow"}})
	m := regexp.MustCompile(`"(mut\.[A-Za-z0-9_-]+)"`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, `"https://fans.example"`) {
		t.Fatalf("allowed: no token posted to the site's origin:\n%s", body)
	}
	storefront := func(mut string) int {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/me/storefront", nil)
		req.Header.Set("Authorization", "Bearer "+dev)
		req.Header.Set("Origin", site)
		req.Header.Set("Music-User-Token", mut)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := storefront(m[1]); st != 200 {
		t.Fatalf("the issued token is refused: %d", st)
	}
	s.RevokeUser("robin")
	if st := storefront(m[1]); st != 403 {
		t.Fatalf("revoked: %d", st)
	}
	if st := storefront(""); st != 401 {
		t.Fatalf("no user token: %d", st)
	}
	js, err := http.Get(s.URL + "/musickit/v3/musickit.js")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(js.Body)
	js.Body.Close()
	if !strings.Contains(js.Header.Get("Content-Type"), "javascript") || !strings.Contains(string(b), "authorize") {
		t.Fatal("no MusicKit JS")
	}
}
