package appletest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func sign(t *testing.T, s *Server, c jwt.MapClaims, method jwt.SigningMethod, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	tok.Header["kid"] = s.KeyID()
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func get(t *testing.T, s *Server, path, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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

// Errors are Apple's document with string status and code; tokens are
// checked as Apple does.
func TestWireProtocol(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }})
	defer s.Close()
	priv, err := jwt.ParseECPrivateKeyFromPEM([]byte(s.PrivateKeyPEM()))
	if err != nil {
		t.Fatal(err)
	}
	good := jwt.MapClaims{"iss": s.TeamID(), "iat": now.Unix(), "exp": now.Add(24 * time.Hour).Unix()}
	ok := sign(t, s, good, jwt.SigningMethodES256, priv)

	st, body := get(t, s, "/v1/catalog/us/songs?filter[isrc]=USRC17607839", "")
	errs, _ := body["errors"].([]any)
	if st != 401 || len(errs) != 1 {
		t.Fatalf("no token: %d %v", st, body)
	}
	e := errs[0].(map[string]any)
	if e["status"] != "401" || e["code"] != "40100" || e["title"] == "" {
		t.Fatalf("error object = %v (status and code must be strings)", e)
	}
	tooLong := jwt.MapClaims{"iss": s.TeamID(), "iat": now.Unix(), "exp": now.Add(MaxTokenLife + time.Second).Unix()}
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, good)
	hs.Header["kid"] = s.KeyID()
	hsTok, _ := hs.SignedString([]byte("secret"))
	for name, tok := range map[string]string{
		"over six months": sign(t, s, tooLong, jwt.SigningMethodES256, priv),
		"HS256":           hsTok,
		"future iat":      sign(t, s, jwt.MapClaims{"iss": s.TeamID(), "iat": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()}, jwt.SigningMethodES256, priv),
	} {
		if st, _ := get(t, s, "/v1/catalog/us/songs?filter[isrc]=USRC17607839", tok); st != 401 {
			t.Errorf("%s: %d, want 401", name, st)
		}
	}
	if st, body := get(t, s, "/v1/catalog/us/songs?filter[isrc]=USRC17607839", ok); st != 200 || len(body["data"].([]any)) != 0 {
		t.Fatalf("empty catalog: %d %v", st, body)
	}
	if st, _ := get(t, s, "/v1/catalog/us/songs", ok); st != 400 {
		t.Fatalf("no filter: %d", st)
	}
	many := strings.Repeat("USRC17607839,", MaxFilterValues+1)
	if st, _ := get(t, s, "/v1/catalog/us/songs?filter[isrc]="+url.QueryEscape(many), ok); st != 400 {
		t.Fatalf("26 ISRCs: %d", st)
	}
	if st, _ := get(t, s, "/v1/catalog/usa/albums?filter[upc]=1", ok); st != 404 {
		t.Fatalf("bad storefront: %d", st)
	}
	// meta.filters maps each ISRC to its songs.
	s.AddSong(Song{ID: "1", Name: "A", Artist: "B", ISRC: "USRC17607839"}, time.Time{})
	_, body = get(t, s, "/v1/catalog/us/songs?filter[isrc]=USRC17607839", ok)
	f := body["meta"].(map[string]any)["filters"].(map[string]any)["isrc"].(map[string]any)["USRC17607839"].([]any)
	if len(f) != 1 || f[0].(map[string]any)["id"] != "1" {
		t.Fatalf("meta.filters = %v", body["meta"])
	}
}
