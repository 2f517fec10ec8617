package tidaltest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func token(t *testing.T, s *Server, form url.Values, basic bool) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/v1/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(s.ClientID(), s.ClientSecret())
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

func get(t *testing.T, s *Server, path, tok string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, res.Header.Get("Content-Type"), body
}

// The token endpoint takes Basic or form credentials; the API answers
// JSON:API documents and errors, checks the token and countryCode.
func TestWireProtocol(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	defer s.Close()
	st, body := token(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}}, false)
	if st != 200 || body["token_type"] != "Bearer" || body["expires_in"] != float64(86400) {
		t.Fatalf("form credentials: %d %v", st, body)
	}
	tok := body["access_token"].(string)
	if st, body := token(t, s, url.Values{"grant_type": {"client_credentials"}}, true); st != 200 || body["access_token"] == tok {
		t.Fatalf("basic credentials: %d %v", st, body)
	}
	st, body = token(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()}, "client_secret": {"nope"}}, false)
	if st != 401 || body["error"] != "invalid_client" || body["sub_status"] == nil {
		t.Fatalf("bad secret: %d %v", st, body)
	}

	st, ctype, doc := get(t, s, "/v2/tracks?countryCode=US&filter[isrc]=USRC17607839", tok)
	if st != 200 || ctype != "application/vnd.api+json" || len(doc["data"].([]any)) != 0 {
		t.Fatalf("empty catalog: %d %s %v", st, ctype, doc)
	}
	for name, tc := range map[string]struct {
		path, tok string
		status    int
	}{
		"no token":       {"/v2/tracks?countryCode=US&filter[isrc]=X", "", 401},
		"unknown token":  {"/v2/tracks?countryCode=US&filter[isrc]=X", "forged", 401},
		"no country":     {"/v2/tracks?filter[isrc]=X", tok, 400},
		"unknown filter": {"/v2/albums?countryCode=US&filter[isrc]=X", tok, 400},
		"no filter":      {"/v2/albums?countryCode=US", tok, 400},
	} {
		st, ctype, doc := get(t, s, tc.path, tc.tok)
		errs, _ := doc["errors"].([]any)
		if st != tc.status || ctype != "application/vnd.api+json" || len(errs) != 1 || errs[0].(map[string]any)["status"] != strconv.Itoa(tc.status) {
			t.Errorf("%s: %d %s %v", name, st, ctype, doc)
		}
	}
	// Tokens expire on the stand-in's clock.
	mu.Lock()
	now = now.Add(DefaultTokenTTL)
	mu.Unlock()
	if st, _, _ := get(t, s, "/v2/tracks?countryCode=US&filter[isrc]=X", tok); st != 401 {
		t.Fatalf("expired token: %d", st)
	}
}

// userToken consents (auto) as the first user with PKCE and exchanges the code.
func userToken(t *testing.T, s *Server, scope string) string {
	t.Helper()
	verifier := "verifier-verifier-verifier-verifier-verifier-0123"
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"response_type": {"code"}, "client_id": {s.ClientID()}, "redirect_uri": {"http://127.0.0.1:1/cb"},
		"scope": {scope}, "state": {"s"}, "code_challenge_method": {"S256"}, "code_challenge": {challengeOf(verifier)}}
	res, err := noFollow.Get(s.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	st, body := token(t, s, url.Values{"grant_type": {"authorization_code"}, "client_id": {s.ClientID()}, "code": {loc.Query().Get("code")},
		"code_verifier": {verifier}, "redirect_uri": {"http://127.0.0.1:1/cb"}}, false)
	if st != 200 || body["refresh_token"] == nil || body["user_id"] != "fan1" {
		t.Fatalf("exchange: %d %v", st, body)
	}
	return body["access_token"].(string)
}

func post(t *testing.T, s *Server, path, tok, ctype, key, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", ctype)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc map[string]any
	_ = json.NewDecoder(res.Body).Decode(&doc)
	return res.StatusCode, doc
}

func errCode(doc map[string]any) string {
	errs, _ := doc["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	c, _ := errs[0].(map[string]any)["code"].(string)
	return c
}

// The collection endpoint speaks JSON:API, checks scope and type, answers
// 409 DUPLICATE on a second add, replays an Idempotency-Key's first answer
// and refuses the key with another body (422).
func TestCollectionWire(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.AddAlbum(Album{ID: "11", Title: "A", Artist: "B", BarcodeID: "123456789012"}, time.Time{})
	s.AddTrack(Track{ID: "21", Title: "T", Artist: "B", ISRC: "USRC17607839"}, time.Time{})
	const albums, tracks, jsonapi = "/v2/userCollectionAlbums/me/relationships/items", "/v2/userCollectionTracks/me/relationships/items", "application/vnd.api+json"
	readOnly := userToken(t, s, "user.read")
	if st, doc := post(t, s, albums, readOnly, jsonapi, "", `{"data":[{"id":"11","type":"albums"}]}`); st != 403 || errCode(doc) != "INSUFFICIENT_SCOPE" {
		t.Fatalf("without collection.write: %d %v", st, doc)
	}
	tok := userToken(t, s, "collection.write user.read")
	for name, tc := range map[string]struct {
		path, ctype, body string
		status            int
	}{
		"json":        {albums, "application/json", `{"data":[{"id":"11","type":"albums"}]}`, 415},
		"not jsonapi": {albums, jsonapi, `[{"id":"11"}]`, 400},
		"empty":       {albums, jsonapi, `{"data":[]}`, 400},
		"wrong type":  {albums, jsonapi, `{"data":[{"id":"21","type":"tracks"}]}`, 400},
		"unknown":     {tracks, jsonapi, `{"data":[{"id":"99","type":"tracks"}]}`, 404},
	} {
		if st, _ := post(t, s, tc.path, tok, tc.ctype, "", tc.body); st != tc.status {
			t.Errorf("%s: %d, want %d", name, st, tc.status)
		}
	}
	body := `{"data":[{"id":"11","type":"albums"}]}`
	if st, _ := post(t, s, albums, tok, jsonapi, "k1", body); st != 200 {
		t.Fatalf("add: %d", st)
	}
	if st, _ := post(t, s, albums, tok, jsonapi, "k1", body); st != 200 || s.Replays() != 1 || s.Adds() != 1 {
		t.Fatalf("replay: %d, replays %d, adds %d", st, s.Replays(), s.Adds())
	}
	if st, _ := post(t, s, albums, tok, jsonapi, "k1", `{"data":[{"id":"21","type":"albums"}]}`); st != 422 || s.KeyMismatches() != 1 {
		t.Fatalf("key reused with another body: %d", st)
	}
	if st, doc := post(t, s, albums, tok, jsonapi, "k2", body); st != 409 || errCode(doc) != "DUPLICATE_ITEMS_IN_COLLECTION" {
		t.Fatalf("second add: %d %v", st, doc)
	}
	if st, doc := post(t, s, albums, tok, jsonapi, "k2", body); st != 409 || errCode(doc) != "DUPLICATE_ITEMS_IN_COLLECTION" || s.Replays() != 2 {
		t.Fatalf("replayed 409: %d %v", st, doc)
	}
	if got := s.Collection("fan1"); len(got) != 1 || got[0].Item != "albums:11" || s.Duplicates() != 1 {
		t.Fatalf("collection = %v, duplicates %d", got, s.Duplicates())
	}
	if st, _, doc := get(t, s, "/v2/users/me", tok); st != 200 || doc["data"].(map[string]any)["id"] != "fan1" {
		t.Fatalf("users/me: %d %v", st, doc)
	}
}

// PKCE is required (S256), a refused consent goes back as access_denied, an
// unregistered redirect URI is never redirected to, and the consent page
// posts the fan's choice.
func TestAuthorizeWire(t *testing.T) {
	s := New(Options{RedirectURL: "http://127.0.0.1:1/cb", ConsentPage: true,
		Users: []User{{ID: "1", Username: "Robin"}, {ID: "2", Username: "Kim"}}})
	defer s.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := url.Values{"response_type": {"code"}, "client_id": {s.ClientID()}, "redirect_uri": {"http://127.0.0.1:1/cb"},
		"scope": {"collection.write user.read"}, "state": {"s"}, "code_challenge_method": {"S256"}, "code_challenge": {challengeOf("v")}}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range base {
			q[kk] = vv
		}
		q.Set(k, v)
		return q
	}
	for name, tc := range map[string]struct {
		q      url.Values
		status int
		err    string
	}{
		"plain PKCE":     {with("code_challenge_method", "plain"), 302, "invalid_request"},
		"internal scope": {with("scope", "r_usr"), 302, "invalid_scope"},
		"bad redirect":   {with("redirect_uri", "http://evil.example/cb"), 400, ""},
		"page":           {base, 200, ""},
	} {
		res, err := noFollow.Get(s.URL + "/authorize?" + tc.q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != tc.status || (tc.err != "" && loc.Query().Get("error") != tc.err) {
			t.Errorf("%s: %d %q", name, res.StatusCode, res.Header.Get("Location"))
		}
	}
	form := with("action", "cancel")
	res, err := noFollow.PostForm(s.URL+"/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc, _ := url.Parse(res.Header.Get("Location")); loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "s" {
		t.Fatalf("cancel: %q", res.Header.Get("Location"))
	}
	form = with("action", "agree")
	form.Set("user", "2")
	res, err = noFollow.PostForm(s.URL+"/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	st, body := token(t, s, url.Values{"grant_type": {"authorization_code"}, "client_id": {s.ClientID()}, "code": {loc.Query().Get("code")},
		"code_verifier": {"v"}, "redirect_uri": {"http://127.0.0.1:1/cb"}, "client_secret": {s.ClientSecret()}}, false)
	if st != 200 || body["user_id"] != "2" {
		t.Fatalf("agree as Kim: %d %v", st, body)
	}
}
