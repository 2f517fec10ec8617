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
