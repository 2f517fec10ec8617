package spotifytest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/platform/spotify"
)

const testRedirect = "http://127.0.0.1:9/callback"

// clock is a settable fake time for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.RedirectURL == "" {
		opts.RedirectURL = testRedirect
	}
	s := New(opts)
	t.Cleanup(s.Close)
	return s
}

// noRedirect is a client that shows us the 302 instead of following it.
var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       5 * time.Second,
}

const testVerifier = "verifier-0123456789-0123456789-0123456789-0123456789"

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func authorizeQuery(s *Server, scope string) url.Values {
	return url.Values{
		"client_id":             {s.ClientID()},
		"response_type":         {"code"},
		"redirect_uri":          {testRedirect},
		"state":                 {"st8"},
		"scope":                 {scope},
		"code_challenge_method": {"S256"},
		"code_challenge":        {challenge(testVerifier)},
	}
}

// authorize runs GET /authorize and returns the callback's query.
func authorize(t *testing.T, s *Server, q url.Values) url.Values {
	t.Helper()
	resp, err := noRedirect.Get(s.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorize: status %d: %s", resp.StatusCode, b)
	}
	return callbackQuery(t, resp)
}

func callbackQuery(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testRedirect {
		t.Fatalf("redirected to %s, want %s", got, testRedirect)
	}
	return loc.Query()
}

type tokenReply struct {
	status int
	body   map[string]any
}

func (r tokenReply) str(k string) string { s, _ := r.body[k].(string); return s }

// postToken posts form to /api/token, with Basic auth when basic is true
// (otherwise the caller puts credentials in the form).
func postToken(t *testing.T, s *Server, form url.Values, basic bool) tokenReply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(s.ClientID(), s.ClientSecret())
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token: decode: %v", err)
	}
	return tokenReply{resp.StatusCode, body}
}

func exchangeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier}}
}

// userToken runs the whole consent and returns access and refresh tokens.
func userToken(t *testing.T, s *Server, scope string) (string, string) {
	t.Helper()
	cb := authorize(t, s, authorizeQuery(s, scope))
	r := postToken(t, s, exchangeForm(cb.Get("code")), true)
	if r.status != 200 {
		t.Fatalf("exchange: %d %v", r.status, r.body)
	}
	return r.str("access_token"), r.str("refresh_token")
}

func apiDo(t *testing.T, s *Server, method, path, token string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func id22(prefix string, n int) string {
	s := fmt.Sprintf("%s%d", prefix, n)
	return s + strings.Repeat("x", 22-len(s))
}

func uris(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "spotify:track:" + id22("t", i)
	}
	return out
}

func TestLibraryCapAndValidation(t *testing.T) {
	s := newTestServer(t, Options{})
	at, _ := userToken(t, s, "user-library-modify")
	tests := []struct {
		name  string
		query string
		want  int
	}{
		{"40 is fine", "uris=" + strings.Join(uris(40), ","), 200},
		{"41 is too many", "uris=" + strings.Join(uris(41), ","), 400},
		{"missing uris", "", 400},
		{"empty uris", "uris=", 400},
		{"bad format", "uris=spotify:track", 400},
		{"bad id", "uris=spotify:track:short", 400},
		{"unsupported type", "uris=spotify:artist:" + id22("a", 1), 400},
		{"album", "uris=spotify:album:" + id22("a", 1), 200},
		{"escaped", "uris=" + url.QueryEscape("spotify:album:"+id22("a", 2)+",spotify:track:"+id22("t", 1)), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := apiDo(t, s, http.MethodPut, "/v1/me/library?"+tt.query, at)
			if status != tt.want {
				t.Fatalf("status %d, want %d (%s)", status, tt.want, body)
			}
			if status == 200 && len(body) != 0 {
				t.Errorf("200 with body %q, want empty", body)
			}
			if status == 400 {
				var e struct {
					Error struct {
						Status  int
						Message string
					}
				}
				if json.Unmarshal(body, &e) != nil || e.Error.Status != 400 || e.Error.Message == "" {
					t.Errorf("error body %s", body)
				}
			}
		})
	}
	if got := s.LibraryCalls(); len(got) != 3 || got[0] != 40 || got[1] != 1 || got[2] != 2 {
		t.Errorf("LibraryCalls = %v, want [40 1 2]", got)
	}
	// uris(40) and the escaped call share t1: one duplicate.
	if d := s.Duplicates(); d != 1 {
		t.Errorf("Duplicates = %d, want 1", d)
	}
	if n := s.Saves("fan1", "spotify:track:"+id22("t", 1)); n != 2 {
		t.Errorf("Saves(t1) = %d, want 2", n)
	}
	if n := len(s.SavedBy("fan1")); n != 42 {
		t.Errorf("SavedBy = %d distinct, want 42", n)
	}
	if n := s.Requests(EndpointLibrary, 400); n != 6 {
		t.Errorf("Requests(library, 400) = %d, want 6", n)
	}
}

func TestLibraryNeedsScopeAndUserToken(t *testing.T) {
	s := newTestServer(t, Options{})
	at, _ := userToken(t, s, "user-read-email")
	if status, _, _ := apiDo(t, s, http.MethodPut, "/v1/me/library?uris=spotify:album:"+id22("a", 1), at); status != 403 {
		t.Errorf("without user-library-modify: %d, want 403", status)
	}
	app := postToken(t, s, url.Values{"grant_type": {"client_credentials"}}, true).str("access_token")
	if status, _, _ := apiDo(t, s, http.MethodPut, "/v1/me/library?uris=spotify:album:"+id22("a", 1), app); status != 401 {
		t.Errorf("with an app token: %d, want 401", status)
	}
	if status, _, _ := apiDo(t, s, http.MethodPut, "/v1/me/library?uris=spotify:album:"+id22("a", 1), ""); status != 401 {
		t.Errorf("without a token: %d, want 401", status)
	}
}

func TestCodesAreSingleUseAndExpire(t *testing.T) {
	c := newClock()
	s := newTestServer(t, Options{Now: c.Now})

	cb := authorize(t, s, authorizeQuery(s, "user-library-modify"))
	if cb.Get("state") != "st8" || cb.Get("code") == "" {
		t.Fatalf("callback %v", cb)
	}
	if r := postToken(t, s, exchangeForm(cb.Get("code")), true); r.status != 200 || r.str("refresh_token") == "" {
		t.Fatalf("first exchange: %d %v", r.status, r.body)
	}
	r := postToken(t, s, exchangeForm(cb.Get("code")), true)
	if r.status != 400 || r.str("error") != "invalid_grant" || r.str("error_description") != "Invalid authorization code" {
		t.Errorf("second exchange: %d %v", r.status, r.body)
	}

	cb = authorize(t, s, authorizeQuery(s, "user-library-modify"))
	c.Add(CodeTTL + time.Second)
	if r := postToken(t, s, exchangeForm(cb.Get("code")), true); r.status != 400 || r.str("error_description") != "Invalid authorization code" {
		t.Errorf("expired code: %d %v", r.status, r.body)
	}

	// A wrong verifier fails and uses the code up.
	cb = authorize(t, s, authorizeQuery(s, "user-library-modify"))
	bad := exchangeForm(cb.Get("code"))
	bad.Set("code_verifier", "not-the-verifier-0123456789-0123456789-0123")
	if r := postToken(t, s, bad, true); r.status != 400 || r.str("error") != "invalid_grant" {
		t.Errorf("wrong verifier: %d %v", r.status, r.body)
	}
	if r := postToken(t, s, exchangeForm(cb.Get("code")), true); r.status != 400 {
		t.Errorf("code after a wrong verifier: %d, want 400", r.status)
	}
	log := s.TokenRequests()
	if got := log[len(log)-2].PKCE; got != "mismatch" {
		t.Errorf("PKCE of the wrong-verifier request = %q, want mismatch", got)
	}
	if got := log[0].PKCE; got != "ok" {
		t.Errorf("PKCE of the first exchange = %q, want ok", got)
	}

	// The wrong redirect URI is refused too.
	cb = authorize(t, s, authorizeQuery(s, ""))
	f := exchangeForm(cb.Get("code"))
	f.Set("redirect_uri", "http://127.0.0.1:9/other")
	if r := postToken(t, s, f, true); r.status != 400 || r.str("error") != "invalid_grant" {
		t.Errorf("wrong redirect_uri: %d %v", r.status, r.body)
	}
}

func TestClientAuthForms(t *testing.T) {
	s := newTestServer(t, Options{})
	cc := url.Values{"grant_type": {"client_credentials"}}
	if r := postToken(t, s, cc, true); r.status != 200 || r.str("access_token") == "" || r.body["expires_in"] != float64(3600) {
		t.Errorf("basic: %d %v", r.status, r.body)
	}
	body := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}}
	if r := postToken(t, s, body, false); r.status != 200 {
		t.Errorf("body: %d %v", r.status, r.body)
	}
	body.Set("client_secret", "wrong")
	if r := postToken(t, s, body, false); r.status != 400 || r.str("error") != "invalid_client" || r.str("error_description") != "Invalid client secret" {
		t.Errorf("wrong secret: %d %v", r.status, r.body)
	}
	if r := postToken(t, s, cc, false); r.status != 400 || r.str("error") != "invalid_client" {
		t.Errorf("no credentials: %d %v", r.status, r.body)
	}
	// A PKCE exchange may authenticate with client_id alone.
	cb := authorize(t, s, authorizeQuery(s, "user-library-modify"))
	pub := exchangeForm(cb.Get("code"))
	pub.Set("client_id", s.ClientID())
	if r := postToken(t, s, pub, false); r.status != 200 {
		t.Errorf("public PKCE: %d %v", r.status, r.body)
	}
	var methods []string
	for _, tr := range s.TokenRequests() {
		methods = append(methods, tr.AuthMethod)
	}
	if got := strings.Join(methods, ","); got != "basic,body,body,none,public" {
		t.Errorf("auth methods = %s", got)
	}
}

func TestRefreshModes(t *testing.T) {
	c := newClock()
	s := newTestServer(t, Options{Now: c.Now})
	_, rt := userToken(t, s, "user-library-modify")
	refresh := func(tok string) tokenReply {
		return postToken(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}, true)
	}

	if r := refresh(rt); r.status != 200 || r.str("refresh_token") != "" {
		t.Errorf("omit: %d %v", r.status, r.body)
	}
	s.SetRefreshMode(RefreshSame)
	if r := refresh(rt); r.str("refresh_token") != rt {
		t.Errorf("same: got another refresh token")
	}
	s.SetRefreshMode(RefreshRotate)
	r := refresh(rt)
	next := r.str("refresh_token")
	if r.status != 200 || next == "" || next == rt {
		t.Fatalf("rotate: %d %v", r.status, r.body)
	}
	if r := refresh(rt); r.status != 400 || r.str("error_description") != "Invalid refresh token" {
		t.Errorf("rotated-away token: %d %v", r.status, r.body)
	}
	if r := refresh(next); r.status != 200 {
		t.Errorf("new token: %d %v", r.status, r.body)
	}

	// Six months after consent the grant is over, however often it was refreshed.
	s.SetRefreshMode(RefreshOmit)
	_, rt2 := userToken(t, s, "user-library-modify")
	c.Add(183 * 24 * time.Hour)
	if r := refresh(rt2); r.status != 400 || r.str("error") != "invalid_grant" {
		t.Errorf("after six months: %d %v", r.status, r.body)
	}
}

func TestRevokeAndExpireKnobs(t *testing.T) {
	s := newTestServer(t, Options{Users: []User{{ID: "a"}, {ID: "b"}}})
	s.SetCurrentUser("a")
	atA, rtA := userToken(t, s, "user-library-modify")
	s.SetCurrentUser("b")
	_, rtB := userToken(t, s, "user-library-modify")

	s.RevokeUser("a")
	s.ExpireGrant("b")
	r := postToken(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rtA}}, true)
	if r.status != 400 || r.str("error") != "invalid_grant" || r.str("error_description") != "Refresh token revoked" {
		t.Errorf("revoked: %d %v", r.status, r.body)
	}
	r = postToken(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rtB}}, true)
	if r.status != 400 || r.str("error") != "invalid_grant" || r.str("error_description") != "Invalid refresh token" {
		t.Errorf("expired: %d %v", r.status, r.body)
	}
	if status, _, _ := apiDo(t, s, http.MethodGet, "/v1/me", atA); status != 401 {
		t.Errorf("revoked user's access token: %d, want 401", status)
	}
}

func TestMe(t *testing.T) {
	c := newClock()
	s := newTestServer(t, Options{Now: c.Now, Users: []User{{ID: "fan1", DisplayName: "Fan", Email: "f@example.test", AccountID: "acc-1"}}})
	withEmail, _ := userToken(t, s, "user-library-modify user-read-email")
	without, _ := userToken(t, s, "user-library-modify")

	me := func(tok string) (int, map[string]any) {
		status, _, b := apiDo(t, s, http.MethodGet, "/v1/me", tok)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return status, m
	}
	if status, m := me(withEmail); status != 200 || m["id"] != "fan1" || m["email"] != "f@example.test" || m["account_id"] != "acc-1" {
		t.Errorf("with email scope: %d %v", status, m)
	}
	if _, m := me(without); m["email"] != nil {
		t.Errorf("without email scope: %v", m)
	}
	s.SetDevMode(true)
	if _, m := me(withEmail); m["email"] != nil {
		t.Errorf("dev mode still has email: %v", m)
	}
	s.SetAllowlisted("fan1", false)
	status, m := me(withEmail)
	if errObj, _ := m["error"].(map[string]any); status != 403 || errObj["message"] != "User not registered in the Developer Dashboard" {
		t.Errorf("not allowlisted: %d %v", status, m)
	}
	s.SetAllowlisted("fan1", true)
	c.Add(AccessTokenTTL)
	status, m = me(withEmail)
	if errObj, _ := m["error"].(map[string]any); status != 401 || errObj["message"] != "The access token expired" {
		t.Errorf("expired token: %d %v", status, m)
	}
}

func TestRollingWindow(t *testing.T) {
	c := newClock()
	s := newTestServer(t, Options{Now: c.Now})
	app := postToken(t, s, url.Values{"grant_type": {"client_credentials"}}, true).str("access_token")
	s.AddAlbum(Album{ID: id22("a", 1), Name: "A"})
	get := func() (int, http.Header, []byte) {
		return apiDo(t, s, http.MethodGet, "/v1/albums/"+id22("a", 1), app)
	}
	s.SetRateLimit(3, false)
	for i := range 3 { // at 0 s, 10 s, 20 s
		if status, _, _ := get(); status != 200 {
			t.Fatalf("request %d: %d", i, status)
		}
		if i < 2 {
			c.Add(10 * time.Second)
		}
	}
	status, h, body := get() // at 20 s: the first leaves the window at 30 s
	if status != 429 || h.Get("Retry-After") != "10" || !strings.Contains(string(body), "API rate limit exceeded") {
		t.Fatalf("4th: %d Retry-After=%q %s", status, h.Get("Retry-After"), body)
	}
	c.Add(9 * time.Second)
	if status, h, _ := get(); status != 429 || h.Get("Retry-After") != "1" {
		t.Errorf("at 29 s: %d Retry-After=%q", status, h.Get("Retry-After"))
	}
	c.Add(time.Second)
	if status, _, _ := get(); status != 200 {
		t.Errorf("at 30 s: %d, want 200", status)
	}
	// The token endpoint is not counted against the Web API window.
	if r := postToken(t, s, url.Values{"grant_type": {"client_credentials"}}, true); r.status != 200 {
		t.Errorf("token during limit: %d", r.status)
	}
	s.SetRateLimit(1, true)
	get()
	if status, _, body := get(); status != 429 || !strings.Contains(string(body), `"reason":"QUOTA_EXCEEDED"`) {
		t.Errorf("quota body: %d %s", status, body)
	}
	if n := s.RateLimited(); n != 3 {
		t.Errorf("RateLimited = %d, want 3", n)
	}
	if n := s.Requests(EndpointAlbums, 429); n != 3 {
		t.Errorf("Requests(albums, 429) = %d, want 3", n)
	}
}

func TestFaults(t *testing.T) {
	s := newTestServer(t, Options{Seed: 1})
	app := postToken(t, s, url.Values{"grant_type": {"client_credentials"}}, true).str("access_token")
	s.AddAlbum(Album{ID: id22("a", 1)})
	path := "/v1/albums/" + id22("a", 1)

	s.FailNext(2, Fault{Status: 503})
	s.FailNext(1, Fault{Status: 429, RetryAfter: 7})
	s.FailNext(1, Fault{Endpoint: EndpointToken, Status: 502})
	for _, want := range []int{503, 503, 429, 200} {
		status, h, _ := apiDo(t, s, http.MethodGet, path, app)
		if status != want {
			t.Errorf("status %d, want %d", status, want)
		}
		if want == 429 && h.Get("Retry-After") != "7" {
			t.Errorf("Retry-After %q", h.Get("Retry-After"))
		}
	}
	if r := postToken(t, s, url.Values{"grant_type": {"client_credentials"}}, true); r.status != 502 {
		t.Errorf("token fault: %d", r.status)
	}

	s.FailFraction(0.5, Fault{Status: 500})
	fails := 0
	for range 200 {
		if status, _, _ := apiDo(t, s, http.MethodGet, path, app); status == 500 {
			fails++
		}
	}
	if fails < 60 || fails > 140 {
		t.Errorf("fraction 0.5 failed %d of 200", fails)
	}
	s.ClearFaults()
	if status, _, _ := apiDo(t, s, http.MethodGet, path, app); status != 200 {
		t.Errorf("after ClearFaults: %d", status)
	}

	s.FailNext(1, Fault{Hang: true})
	hc := &http.Client{Timeout: 100 * time.Millisecond}
	start := time.Now()
	if _, err := hc.Get(s.URL + path); err == nil {
		t.Error("hung request answered")
	}
	if time.Since(start) > 2*time.Second {
		t.Error("hang outlived the client timeout by far")
	}
	s.SetLatency(50 * time.Millisecond)
	start = time.Now()
	apiDo(t, s, http.MethodGet, path, app)
	if time.Since(start) < 50*time.Millisecond {
		t.Error("latency not applied")
	}
}

func TestConsentPage(t *testing.T) {
	s := newTestServer(t, Options{ConsentPage: true, Users: []User{
		{ID: "fan1", DisplayName: "Fan <One>"}, {ID: "fan2", DisplayName: "Fan Two"}}})
	q := authorizeQuery(s, "user-library-modify user-read-email")
	resp, err := noRedirect.Get(s.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("consent page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"dropday wants to:", "Save to your library", "See your email address",
		`value="agree"`, ">Agree<", `value="cancel"`, ">Cancel<", `name="user"`, "Fan &lt;One&gt;", "Fan Two",
		`name="state" value="st8"`, `action="authorize"`, `<label for="user">`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	post := func(action, user string) url.Values {
		f := authorizeQuery(s, "user-library-modify user-read-email")
		f.Set("action", action)
		f.Set("user", user)
		resp, err := noRedirect.PostForm(s.URL+"/authorize", f)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("%s: status %d", action, resp.StatusCode)
		}
		return callbackQuery(t, resp)
	}
	if cb := post("cancel", "fan2"); cb.Get("error") != "access_denied" || cb.Get("state") != "st8" || cb.Get("code") != "" {
		t.Errorf("cancel: %v", cb)
	}
	cb := post("agree", "fan2")
	if cb.Get("code") == "" || cb.Get("state") != "st8" {
		t.Fatalf("agree: %v", cb)
	}
	at := postToken(t, s, exchangeForm(cb.Get("code")), true).str("access_token")
	_, _, me := apiDo(t, s, http.MethodGet, "/v1/me", at)
	if !strings.Contains(string(me), `"id":"fan2"`) {
		t.Errorf("picked user not used: %s", me)
	}
}

func TestAuthorizeValidation(t *testing.T) {
	s := newTestServer(t, Options{})
	get := func(mod func(url.Values)) *http.Response {
		q := authorizeQuery(s, "user-library-modify")
		mod(q)
		resp, err := noRedirect.Get(s.URL + "/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get(func(q url.Values) { q.Set("client_id", "nope") }); r.StatusCode != 400 {
		t.Errorf("unknown client: %d", r.StatusCode)
	}
	if r := get(func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }); r.StatusCode != 400 {
		t.Errorf("unregistered redirect: %d", r.StatusCode)
	}
	for name, mod := range map[string]func(url.Values){
		"invalid_request":           func(q url.Values) { q.Set("code_challenge_method", "plain") },
		"invalid_scope":             func(q url.Values) { q.Set("scope", "user-library-modify root") },
		"unsupported_response_type": func(q url.Values) { q.Set("response_type", "token") },
	} {
		r := get(mod)
		if r.StatusCode != http.StatusFound {
			t.Errorf("%s: %d", name, r.StatusCode)
			continue
		}
		if cb := callbackQuery(t, r); cb.Get("error") != name || cb.Get("state") != "st8" {
			t.Errorf("%s: callback %v", name, cb)
		}
	}
	s.SetDenyConsent(true)
	if cb := authorize(t, s, authorizeQuery(s, "user-library-modify")); cb.Get("error") != "access_denied" {
		t.Errorf("deny knob: %v", cb)
	}
}

func TestCatalog(t *testing.T) {
	s := newTestServer(t, Options{})
	app := postToken(t, s, url.Values{"grant_type": {"client_credentials"}}, true).str("access_token")
	alb := Album{ID: id22("a", 1), Name: "Record", Artist: "Band", UPC: "123456789012", Images: ImagesFor("https://img.test/a1"), TrackIDs: []string{id22("t", 1)}}
	s.AddAlbum(alb)
	s.AddTrack(Track{ID: id22("t", 1), Name: "Song", Artist: "Band", ISRC: "USRC17607839", AlbumID: alb.ID})

	status, _, b := apiDo(t, s, http.MethodGet, "/v1/search?q=isrc:USRC17607839&type=track&limit=1", app)
	if status != 200 || !strings.Contains(string(b), `"uri":"spotify:track:`+id22("t", 1)) {
		t.Errorf("isrc search: %d %s", status, b)
	}
	status, _, b = apiDo(t, s, http.MethodGet, "/v1/search?q=upc:123456789012&type=album", app)
	if status != 200 || !strings.Contains(string(b), `"total":1`) {
		t.Errorf("upc search: %d %s", status, b)
	}
	if _, _, b = apiDo(t, s, http.MethodGet, "/v1/search?q=upc:123456789012&type=track", app); !strings.Contains(string(b), `"total":0`) {
		t.Errorf("upc on tracks matched: %s", b)
	}
	if status, _, _ = apiDo(t, s, http.MethodGet, "/v1/search?q=x&type=track&limit=11", app); status != 400 {
		t.Errorf("limit 11: %d", status)
	}
	if status, _, _ = apiDo(t, s, http.MethodGet, "/v1/albums/"+id22("zz", 9), app); status != 404 {
		t.Errorf("unknown album: %d", status)
	}
	if status, _, _ = apiDo(t, s, http.MethodGet, "/v1/tracks/bad", app); status != 400 {
		t.Errorf("bad id: %d", status)
	}
	if status, _, _ = apiDo(t, s, http.MethodGet, "/v1/tracks/"+id22("t", 1), ""); status != 401 {
		t.Errorf("no token: %d", status)
	}
}

// TestMountedUnderPrefix is how `dropday demo` serves the stand-in inside its
// own server: the consent form's relative action must stay under the prefix.
func TestMountedUnderPrefix(t *testing.T) {
	fake := NewHandler(Options{ConsentPage: true, RedirectURL: testRedirect,
		Users: []User{{ID: "solo", DisplayName: "Solo Fan"}}})
	mux := http.NewServeMux()
	mux.Handle("/fake/spotify/", http.StripPrefix("/fake/spotify", fake))
	ts := httptest.NewServer(mux)
	t.Cleanup(func() { fake.Close(); ts.Close() })
	base := ts.URL + "/fake/spotify"

	q := authorizeQuery(fake, "user-library-modify")
	resp, err := noRedirect.Get(base + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	// One user: no picker, just who is signed in.
	for _, want := range []string{"Signed in as <strong>Solo Fan</strong>", `name="user" value="solo"`, "Save to your library"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "See your email address") || strings.Contains(page, "<select") {
		t.Error("page shows an unrequested scope or a picker")
	}
	action, _ := url.Parse("authorize")
	pageURL, _ := url.Parse(base + "/authorize")
	form := q
	form.Set("action", "agree")
	form.Set("user", "solo")
	resp, err = noRedirect.PostForm(pageURL.ResolveReference(action).String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb := callbackQuery(t, resp)
	fake.URL = base // postToken uses URL
	if r := postToken(t, fake, exchangeForm(cb.Get("code")), true); r.status != 200 {
		t.Errorf("exchange under prefix: %d %v", r.status, r.body)
	}
}

func TestGrantSeedsAConsent(t *testing.T) {
	c := newClock()
	s := newTestServer(t, Options{Now: c.Now})
	rt := s.Grant("seeded")
	r := postToken(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true)
	if r.status != 200 || r.str("scope") != "user-library-modify" {
		t.Fatalf("refresh a granted token: %d %v", r.status, r.body)
	}
	uri := "spotify:track:" + id22("t", 1)
	if status, _, body := apiDo(t, s, http.MethodPut, "/v1/me/library?uris="+uri, r.str("access_token")); status != 200 {
		t.Fatalf("save: %d %s", status, body)
	}
	if got := s.Saved(); len(got) != 1 || got[0].User != "seeded" || !got[0].At.Equal(c.Now()) {
		t.Errorf("Saved() = %+v", got)
	}
	// Revoking the user ends the seeded grant like any other.
	s.RevokeUser("seeded")
	if r := postToken(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true); r.status != 400 {
		t.Errorf("after revoke: %d %v", r.status, r.body)
	}
}

// A track or album added with VisibleFrom is not found until the stand-in's
// clock reaches it, by id and by ISRC/UPC search alike; URL overrides the
// listen link and the stand-in serves that page.
func TestCatalogVisibleFrom(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := New(Options{Now: clock})
	defer s.Close()
	const tid, aid = "4uLU6hMCjMI75M1A2tKUQC", "1A2GTWGtFfWp7KSQTwWOyo"
	s.AddAlbum(Album{ID: aid, Name: "Afterglow", Artist: "Mara Lune", UPC: "123456789012", VisibleFrom: now.Add(time.Hour)})
	s.AddTrack(Track{ID: tid, Name: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839", AlbumID: aid,
		VisibleFrom: now.Add(time.Hour), URL: s.ListenURL("track", tid)})
	c := spotify.New(spotify.Config{ClientID: s.ClientID(), ClientSecret: s.ClientSecret(), AccountsURL: s.URL, APIURL: s.URL})
	ctx := context.Background()
	srcs := []platform.Source{{Kind: "spotify_track", Value: "spotify:track:" + tid}, {Kind: "spotify_album", Value: "spotify:album:" + aid},
		{Kind: "isrc", Value: "USRC17607839"}, {Kind: "upc", Value: "123456789012"}}
	for _, src := range srcs {
		if _, err := c.Lookup(ctx, src); platform.KindOf(err) != platform.NotFound {
			t.Fatalf("%v before: %v", src, err)
		}
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	for _, src := range srcs {
		if r, err := c.Lookup(ctx, src); err != nil || r.Name == "" {
			t.Fatalf("%v after: %+v %v", src, r, err)
		}
	}
	r, _ := c.Lookup(ctx, srcs[0])
	if r.URL != s.URL+"/listen/track/"+tid {
		t.Fatalf("URL = %q", r.URL)
	}
	res, err := http.Get(r.URL)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("listen page: %v %v", res, err)
	}
	res.Body.Close()
}

// FailMix answers each share of requests with its fault, and the same seed
// gives the same sequence.
func TestFailMix(t *testing.T) {
	mix := []Share{{0.05, Fault{Status: 429}}, {0.01, Fault{Status: 500}}, {0.005, Fault{Hang: true}}}
	// The draws: fractions and reproducibility, without the network.
	const n = 20000
	draws := func() []Fault {
		s := newTestServer(t, Options{Seed: 7})
		s.FailMix(mix...)
		out := make([]Fault, n)
		for i := range out {
			out[i], _ = s.takeFault(EndpointLibrary)
		}
		return out
	}
	a, b := draws(), draws()
	counts := map[string]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d: %+v then %+v with the same seed", i, a[i], b[i])
		}
		counts[fmt.Sprint(a[i].Status, a[i].Hang)]++
	}
	for key, frac := range map[string]float64{"429 false": 0.05, "500 false": 0.01, "0 true": 0.005} {
		want := frac * n
		if got := float64(counts[key]); got < want*0.8 || got > want*1.2 {
			t.Errorf("%s: %v of %d draws, want about %v", key, got, n, want)
		}
	}
	// Over HTTP: the answers are what the draws said.
	s := newTestServer(t, Options{Seed: 7})
	app := postToken(t, s, url.Values{"grant_type": {"client_credentials"}}, true).str("access_token")
	s.AddTrack(Track{ID: "4uLU6hMCjMI75M1A2tKUQC", Name: "x"})
	s.FailMix(mix...)
	hc := &http.Client{Timeout: 100 * time.Millisecond}
	const m = 1000
	for range m {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/tracks/4uLU6hMCjMI75M1A2tKUQC", nil)
		req.Header.Set("Authorization", "Bearer "+app)
		if res, err := hc.Do(req); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}
	got429, got500, hung, ok := s.Requests(EndpointTracks, 429), s.Requests(EndpointTracks, 500), s.RequestCounts()[EndpointTracks][0], s.Requests(EndpointTracks, 200)
	if got429 < 25 || got429 > 75 || got500 < 3 || got500 > 20 || hung < 1 || hung > 12 || got429+got500+hung+ok != m {
		t.Errorf("of %d requests: %d 429s, %d 500s, %d hung, %d ok", m, got429, got500, hung, ok)
	}
	if s.RateLimited() != got429 {
		t.Errorf("RateLimited() = %d, %d 429s answered", s.RateLimited(), got429)
	}
}
