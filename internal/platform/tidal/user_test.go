package tidal_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/platform/standin"
	"github.com/dropday/dropday/internal/platform/tidal"
	"github.com/dropday/dropday/internal/platform/tidal/tidaltest"
)

const redirect = "http://127.0.0.1:1/oauth/tidal/callback"

func directClient(srv *tidaltest.Server, clk *clock) *tidal.Client {
	return tidal.New(tidal.Config{ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), AuthURL: srv.URL, APIURL: srv.URL,
		LoginURL: srv.URL, RedirectURL: redirect, HTTPClient: &http.Client{Timeout: 2 * time.Second}, Now: clk.Now})
}

func directSetup(t *testing.T) (*tidaltest.Server, *clock, *tidal.Client) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	srv := tidaltest.New(tidaltest.Options{Now: clk.Now, RedirectURL: redirect,
		Users: []tidaltest.User{{ID: "4711", Username: "robin", Email: "robin@example.com"}}})
	t.Cleanup(srv.Close)
	srv.AddAlbum(tidaltest.Album{ID: "75413011", Title: "Afterglow", Artist: "Mara Lune", BarcodeID: "123456789012"}, time.Time{})
	srv.AddTrack(tidaltest.Track{ID: "75413016", Title: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839"}, time.Time{})
	srv.AddTrack(tidaltest.Track{ID: "75413017", Title: "Day Drive", Artist: "Mara Lune", ISRC: "USRC17607840"}, time.Time{})
	return srv, clk, directClient(srv, clk)
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// consentCode follows the stand-in's auto-consent and returns the callback's query.
func consentCode(t *testing.T, c *tidal.Client, verifier string) url.Values {
	t.Helper()
	res, err := noFollow.Get(c.AuthorizeURL("st4te", verifier, c.Scopes(false)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), redirect) {
		t.Fatalf("authorize answered %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	return u.Query()
}

func fanToken(t *testing.T, c *tidal.Client) platform.Token {
	t.Helper()
	v := oauth2.GenerateVerifier()
	tok, err := c.Exchange(context.Background(), consentCode(t, c, v).Get("code"), v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestConsentExchangeProfile(t *testing.T) {
	srv, _, c := directSetup(t)
	if got := c.ConsentOrigin(); got != srv.URL {
		t.Fatalf("consent origin = %q", got)
	}
	if got := strings.Join(c.Scopes(true), " "); got != "collection.write user.read" || strings.Join(c.Scopes(false), " ") != got {
		t.Fatalf("scopes = %q", got)
	}
	v := oauth2.GenerateVerifier()
	q := consentCode(t, c, v)
	if q.Get("state") != "st4te" || q.Get("code") == "" {
		t.Fatalf("callback = %v", q)
	}
	ctx := context.Background()
	// A wrong verifier is refused, and spends the code.
	if _, err := c.Exchange(ctx, q.Get("code"), oauth2.GenerateVerifier()); platform.KindOf(err) != platform.AuthExpired {
		t.Fatalf("wrong verifier: %v", err)
	}
	if _, err := c.Exchange(ctx, q.Get("code"), v); platform.KindOf(err) != platform.AuthExpired {
		t.Fatalf("spent code: %v", err)
	}
	tok := fanToken(t, c)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Scope != "collection.write user.read" {
		t.Fatalf("token = %+v", tok)
	}
	p, err := c.Profile(ctx, tok.AccessToken)
	if err != nil || p.ID != "4711" || p.DisplayName != "robin" || p.Email != "robin@example.com" {
		t.Fatalf("profile = %+v, %v", p, err)
	}
	tr := srv.TokenRequests()
	if len(tr) != 3 || tr[0].PKCE != "mismatch" || tr[2].PKCE != "ok" || tr[2].AuthMethod != "body" {
		t.Fatalf("token requests = %+v", tr)
	}
}

func TestCodeExpires(t *testing.T) {
	_, clk, c := directSetup(t)
	v := oauth2.GenerateVerifier()
	q := consentCode(t, c, v)
	clk.Advance(tidaltest.CodeTTL)
	if _, err := c.Exchange(context.Background(), q.Get("code"), v); platform.KindOf(err) != platform.AuthExpired {
		t.Fatalf("expired code: %v", err)
	}
}

func TestRefreshKeepsOrRotates(t *testing.T) {
	srv, _, c := directSetup(t)
	ctx := context.Background()
	tok := fanToken(t, c)
	again, err := c.Refresh(ctx, tok.RefreshToken)
	if err != nil || again.RefreshToken != tok.RefreshToken || again.AccessToken == tok.AccessToken {
		t.Fatalf("refresh without a new refresh token: %+v, %v", again, err)
	}
	srv.SetRefreshMode(tidaltest.RefreshRotate)
	rotated, err := c.Refresh(ctx, tok.RefreshToken)
	if err != nil || rotated.RefreshToken == tok.RefreshToken || rotated.RefreshToken == "" {
		t.Fatalf("rotating refresh: %+v, %v", rotated, err)
	}
	if _, err := c.Refresh(ctx, tok.RefreshToken); platform.KindOf(err) != platform.Revoked {
		t.Fatalf("the rotated-away token: %v", err)
	}
	srv.RevokeUser("4711")
	_, err = c.Refresh(ctx, rotated.RefreshToken)
	if platform.KindOf(err) != platform.Revoked {
		t.Fatalf("revoked: %v", err)
	}
	if err := c.Save(ctx, rotated.AccessToken, []string{"albums:75413011"}); platform.KindOf(err) != platform.AuthExpired {
		t.Fatalf("save with a revoked grant's access token: %v", err)
	}
	for _, s := range []string{tok.RefreshToken, rotated.RefreshToken, rotated.AccessToken, srv.ClientSecret()} {
		if strings.Contains(err.Error(), s) {
			t.Fatal("a secret is in the error")
		}
	}
}

func TestSaveAndErrors(t *testing.T) {
	srv, _, c := directSetup(t)
	ctx := platform.WithSaveID(context.Background(), "presave-1")
	tok := fanToken(t, c)
	if err := c.Save(ctx, tok.AccessToken, []string{"albums:75413011", "tracks:75413016"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Collection("4711"); len(got) != 2 || got[0].Item != "albums:75413011" || got[1].Item != "tracks:75413016" {
		t.Fatalf("collection = %+v", got)
	}
	// Again under the same delivery: the keys replay the first answers.
	if err := c.Save(ctx, tok.AccessToken, []string{"albums:75413011", "tracks:75413016"}); err != nil || srv.Replays() != 2 || srv.Adds() != 2 {
		t.Fatalf("replay: %v, replays %d, adds %d", err, srv.Replays(), srv.Adds())
	}
	// Another delivery: 409 DUPLICATE counts as saved. A batch with one
	// duplicate is added item by item.
	ctx2 := platform.WithSaveID(context.Background(), "presave-2")
	if err := c.Save(ctx2, tok.AccessToken, []string{"tracks:75413016", "tracks:75413017"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Collection("4711"); len(got) != 3 || got[2].Item != "tracks:75413017" || srv.Duplicates() != 2 {
		t.Fatalf("after duplicates: %+v, duplicates %d", got, srv.Duplicates())
	}
	// Without a delivery name there is no key, and a repeat is a harmless 409.
	if err := c.Save(context.Background(), tok.AccessToken, []string{"albums:75413011"}); err != nil || srv.Duplicates() != 3 {
		t.Fatalf("no key: %v, duplicates %d", err, srv.Duplicates())
	}

	srv.FailNext(1, standin.Fault{Endpoint: tidaltest.EndpointCollection, Status: 429, RetryAfter: 7})
	err := c.Save(ctx2, tok.AccessToken, []string{"tracks:75413017"})
	var pe *platform.Error
	if !errors.As(err, &pe) || pe.Kind != platform.RateLimited || pe.RetryAfter != 7*time.Second {
		t.Fatalf("429: %v", err)
	}
	srv.FailNext(1, standin.Fault{Endpoint: tidaltest.EndpointCollection, Status: 503})
	if err := c.Save(ctx2, tok.AccessToken, []string{"tracks:75413017"}); platform.KindOf(err) != platform.Transient {
		t.Fatalf("503: %v", err)
	}
	if err := c.Save(ctx2, tok.AccessToken, []string{"albums:999"}); platform.KindOf(err) != platform.NotFound {
		t.Fatalf("unknown album: %v", err)
	}
	if err := c.Save(ctx2, tok.AccessToken, []string{"spotify:track:x"}); platform.KindOf(err) != platform.Permanent {
		t.Fatalf("foreign item: %v", err)
	}
	if err := c.Save(ctx2, "forged", []string{"albums:75413011"}); platform.KindOf(err) != platform.AuthExpired {
		t.Fatalf("bad token: %v", err)
	}
}

// 409 codes other than DUPLICATE, and 422, from a server that answers them.
func TestSaveConflictCodes(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	answer := func(status int, code string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			keys = append(keys, r.Header.Get("Idempotency-Key"))
			mu.Unlock()
			w.Header().Set("Content-Type", "application/vnd.api+json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"status": "409", "code": code, "detail": "x"}}})
		}
	}
	for _, tc := range []struct {
		status int
		code   string
		kind   platform.Kind
	}{
		{409, "IDEMPOTENT_REQUEST_IN_PROGRESS", platform.Transient},
		{409, "TOO_MANY_ITEMS_IN_COLLECTION", platform.Permanent},
		{422, "", platform.Permanent},
	} {
		ts := httptest.NewServer(answer(tc.status, tc.code))
		c := tidal.New(tidal.Config{ClientID: "id", ClientSecret: "secret", APIURL: ts.URL})
		err := c.Save(platform.WithSaveID(context.Background(), "presave-9"), "tok", []string{"albums:1"})
		ts.Close()
		if platform.KindOf(err) != tc.kind {
			t.Errorf("%d %s: %v, want %s", tc.status, tc.code, err, tc.kind)
		}
	}
	if len(keys) != 3 || keys[0] == "" || keys[0] != keys[1] || len(keys[0]) > 128 {
		t.Fatalf("idempotency keys = %q: the same delivery and items must give the same key", keys)
	}
}
