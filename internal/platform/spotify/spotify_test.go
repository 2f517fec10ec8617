package spotify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/platform/spotify"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
)

const redirectURL = "http://127.0.0.1:9/callback"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

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

type env struct {
	fake   *spotifytest.Server
	client *spotify.Client
	clock  *clock
}

func setup(t *testing.T, opts spotifytest.Options) env {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	opts.RedirectURL = redirectURL
	opts.Now = c.Now
	fake := spotifytest.New(opts)
	t.Cleanup(fake.Close)
	client := spotify.New(spotify.Config{
		ClientID:     fake.ClientID(),
		ClientSecret: fake.ClientSecret(),
		RedirectURL:  redirectURL,
		AccountsURL:  fake.URL,
		APIURL:       fake.URL,
		HTTPClient:   &http.Client{Timeout: 5 * time.Second},
	})
	return env{fake, client, c}
}

// consent follows AuthorizeURL like a browser that says yes, and returns the code.
func consent(t *testing.T, c *spotify.Client, verifier string, scopes ...string) string {
	t.Helper()
	u := c.AuthorizeURL("state-123", verifier, scopes)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d %v", resp.StatusCode, err)
	}
	if loc.Query().Get("state") != "state-123" {
		t.Fatalf("state not returned: %v", loc)
	}
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code: %v", loc)
	}
	return code
}

// login consents and exchanges, returning the fan's token.
func login(t *testing.T, e env, scopes ...string) platform.Token {
	t.Helper()
	v := oauth2.GenerateVerifier()
	tok, err := e.client.Exchange(context.Background(), consent(t, e.client, v, scopes...), v)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

func wantKind(t *testing.T, err error, kind platform.Kind) *platform.Error {
	t.Helper()
	var pe *platform.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *platform.Error", err, err)
	}
	if pe.Kind != kind || pe.Platform != "spotify" {
		t.Fatalf("error %v: kind %s, want %s", err, pe.Kind, kind)
	}
	return pe
}

func id22(prefix string, n int) string {
	s := fmt.Sprintf("%s%d", prefix, n)
	return s + strings.Repeat("x", 22-len(s))
}

func TestAuthorizeURL(t *testing.T) {
	c := spotify.New(spotify.Config{ClientID: "cid", RedirectURL: redirectURL})
	u, err := url.Parse(c.AuthorizeURL("st", "ver", []string{"user-library-modify", "user-read-email"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != "https://accounts.spotify.com/authorize" {
		t.Errorf("base %s", got)
	}
	q := u.Query()
	want := map[string]string{
		"client_id": "cid", "response_type": "code", "redirect_uri": redirectURL, "state": "st",
		"scope": "user-library-modify user-read-email", "code_challenge_method": "S256",
		"code_challenge": oauth2.S256ChallengeFromVerifier("ver"),
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if c.Key() != "spotify" {
		t.Errorf("Key = %q", c.Key())
	}
}

func TestFullFlow(t *testing.T) {
	e := setup(t, spotifytest.Options{Users: []spotifytest.User{{ID: "fan1", DisplayName: "Fan One", Email: "fan@example.test", AccountID: "acct-1"}}})
	ctx := context.Background()
	tok := login(t, e, spotify.ScopeLibraryModify, spotify.ScopeReadEmail)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Scope != "user-library-modify user-read-email" {
		t.Fatalf("token %+v", tok)
	}
	if d := time.Until(tok.Expiry); d < 50*time.Minute || d > 61*time.Minute {
		t.Errorf("expiry in %v, want about an hour", d)
	}
	last := e.fake.TokenRequests()[0]
	if last.AuthMethod != "basic" || last.PKCE != "ok" || last.GrantType != "authorization_code" {
		t.Errorf("token request %+v", last)
	}

	p, err := e.client.Profile(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if p != (platform.Profile{ID: "fan1", DisplayName: "Fan One", Email: "fan@example.test"}) {
		t.Errorf("profile %+v", p)
	}

	items := []string{"spotify:album:" + id22("a", 1), "spotify:track:" + id22("t", 1)}
	if err := e.client.Save(ctx, tok.AccessToken, items); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if e.fake.Saves("fan1", it) != 1 {
			t.Errorf("%s not saved once", it)
		}
	}
	if err := e.client.Save(ctx, tok.AccessToken, nil); err != nil {
		t.Errorf("empty save: %v", err)
	}
	if n := e.fake.Requests(spotifytest.EndpointLibrary, 0); n != 1 {
		t.Errorf("library calls = %d, want 1", n)
	}
}

func TestEmailNeedsScopeAndProductionMode(t *testing.T) {
	tests := []struct {
		name    string
		scopes  []string
		devMode bool
		want    string
	}{
		{"scope, production", []string{spotify.ScopeLibraryModify, spotify.ScopeReadEmail}, false, "fan@example.test"},
		{"no scope", []string{spotify.ScopeLibraryModify}, false, ""},
		{"scope, dev mode", []string{spotify.ScopeLibraryModify, spotify.ScopeReadEmail}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, spotifytest.Options{DevMode: tt.devMode, Users: []spotifytest.User{{ID: "fan1", Email: "fan@example.test"}}})
			p, err := e.client.Profile(context.Background(), login(t, e, tt.scopes...).AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if p.Email != tt.want || p.ID != "fan1" {
				t.Errorf("profile %+v, want email %q", p, tt.want)
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	ctx := context.Background()
	t.Run("omitted refresh token keeps the old one", func(t *testing.T) {
		e := setup(t, spotifytest.Options{})
		tok := login(t, e, spotify.ScopeLibraryModify)
		e.fake.SetRefreshMode(spotifytest.RefreshOmit)
		got, err := e.client.Refresh(ctx, tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if got.RefreshToken != tok.RefreshToken || got.AccessToken == "" || got.AccessToken == tok.AccessToken {
			t.Errorf("refreshed %+v", got)
		}
		if got.Scope != spotify.ScopeLibraryModify {
			t.Errorf("scope %q", got.Scope)
		}
		if _, err := e.client.Profile(ctx, got.AccessToken); err != nil {
			t.Errorf("new access token: %v", err)
		}
	})
	t.Run("rotation returns the new one and the old one dies", func(t *testing.T) {
		e := setup(t, spotifytest.Options{})
		tok := login(t, e, spotify.ScopeLibraryModify)
		e.fake.SetRefreshMode(spotifytest.RefreshRotate)
		got, err := e.client.Refresh(ctx, tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if got.RefreshToken == "" || got.RefreshToken == tok.RefreshToken {
			t.Fatalf("not rotated: %+v", got)
		}
		_, err = e.client.Refresh(ctx, tok.RefreshToken)
		pe := wantKind(t, err, platform.AuthExpired)
		if pe.Status != 400 || !strings.Contains(pe.Message, "Invalid refresh token") {
			t.Errorf("error %+v", pe)
		}
		if _, err := e.client.Refresh(ctx, got.RefreshToken); err != nil {
			t.Errorf("rotated token: %v", err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		e := setup(t, spotifytest.Options{})
		tok := login(t, e, spotify.ScopeLibraryModify)
		e.fake.RevokeUser("fan1")
		_, err := e.client.Refresh(ctx, tok.RefreshToken)
		wantKind(t, err, platform.Revoked)
		if !errors.Is(err, platform.ErrRevoked) {
			t.Error("errors.Is(ErrRevoked) is false")
		}
	})
	t.Run("expired grant", func(t *testing.T) {
		e := setup(t, spotifytest.Options{})
		tok := login(t, e, spotify.ScopeLibraryModify)
		e.fake.ExpireGrant("fan1")
		_, err := e.client.Refresh(ctx, tok.RefreshToken)
		wantKind(t, err, platform.AuthExpired)
	})
	t.Run("six months after consent", func(t *testing.T) {
		e := setup(t, spotifytest.Options{})
		tok := login(t, e, spotify.ScopeLibraryModify)
		e.clock.Add(184 * 24 * time.Hour)
		_, err := e.client.Refresh(ctx, tok.RefreshToken)
		wantKind(t, err, platform.AuthExpired)
	})
	t.Run("token endpoint 429 and 5xx", func(t *testing.T) {
		e := setup(t, spotifytest.Options{})
		tok := login(t, e, spotify.ScopeLibraryModify)
		e.fake.FailNext(1, spotifytest.Fault{Endpoint: spotifytest.EndpointToken, Status: 429, RetryAfter: 4})
		e.fake.FailNext(1, spotifytest.Fault{Endpoint: spotifytest.EndpointToken, Status: 502})
		_, err := e.client.Refresh(ctx, tok.RefreshToken)
		if pe := wantKind(t, err, platform.RateLimited); pe.RetryAfter != 4*time.Second {
			t.Errorf("RetryAfter %v", pe.RetryAfter)
		}
		_, err = e.client.Refresh(ctx, tok.RefreshToken)
		wantKind(t, err, platform.Transient)
		if _, err := e.client.Refresh(ctx, tok.RefreshToken); err != nil {
			t.Errorf("after the faults: %v", err)
		}
	})
}

func TestExchangeFailures(t *testing.T) {
	ctx := context.Background()
	e := setup(t, spotifytest.Options{})

	v := oauth2.GenerateVerifier()
	code := consent(t, e.client, v, spotify.ScopeLibraryModify)
	_, err := e.client.Exchange(ctx, code, oauth2.GenerateVerifier())
	wantKind(t, err, platform.AuthExpired)
	log := e.fake.TokenRequests()
	if got := log[len(log)-1].PKCE; got != "mismatch" {
		t.Errorf("stand-in saw PKCE %q, want mismatch", got)
	}

	// A used code is invalid_grant too.
	code = consent(t, e.client, v, spotify.ScopeLibraryModify)
	if _, err := e.client.Exchange(ctx, code, v); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.Exchange(ctx, code, v)
	if pe := wantKind(t, err, platform.AuthExpired); !strings.Contains(pe.Message, "Invalid authorization code") {
		t.Errorf("message %q", pe.Message)
	}

	// Wrong client secret: our configuration is broken, retrying won't help.
	bad := spotify.New(spotify.Config{ClientID: e.fake.ClientID(), ClientSecret: "wrong", RedirectURL: redirectURL,
		AccountsURL: e.fake.URL, APIURL: e.fake.URL})
	code = consent(t, e.client, v, spotify.ScopeLibraryModify)
	_, err = bad.Exchange(ctx, code, v)
	if pe := wantKind(t, err, platform.Permanent); !strings.Contains(pe.Message, "invalid_client") {
		t.Errorf("message %q", pe.Message)
	}
	_, err = bad.Lookup(ctx, platform.Source{Kind: "spotify_album", Value: "spotify:album:" + id22("a", 1)})
	wantKind(t, err, platform.Permanent)
}

func TestSaveChunksOf40(t *testing.T) {
	e := setup(t, spotifytest.Options{})
	tok := login(t, e, spotify.ScopeLibraryModify)
	items := make([]string, 95)
	for i := range items {
		items[i] = "spotify:track:" + id22("t", i)
	}
	if err := e.client.Save(context.Background(), tok.AccessToken, items); err != nil {
		t.Fatal(err)
	}
	if got := e.fake.LibraryCalls(); fmt.Sprint(got) != "[40 40 15]" {
		t.Errorf("calls %v, want [40 40 15]", got)
	}
	saved := e.fake.SavedBy("fan1")
	if len(saved) != 95 {
		t.Fatalf("stand-in recorded %d saves, want 95", len(saved))
	}
	for i, u := range saved {
		if u != items[i] {
			t.Fatalf("save %d = %s, want %s", i, u, items[i])
		}
	}
	if e.fake.Duplicates() != 0 {
		t.Errorf("duplicates %d", e.fake.Duplicates())
	}
}

func TestWebAPIErrors(t *testing.T) {
	ctx := context.Background()
	album := []string{"spotify:album:" + id22("a", 1)}

	t.Run("429 with Retry-After", func(t *testing.T) {
		e := setup(t, spotifytest.Options{})
		tok := login(t, e, spotify.ScopeLibraryModify)
		e.fake.FailNext(1, spotifytest.Fault{Status: 429, RetryAfter: 7})
		pe := wantKind(t, e.client.Save(ctx, tok.AccessToken, album), platform.RateLimited)
		if pe.RetryAfter != 7*time.Second || pe.Status != 429 || pe.Message != "API rate limit exceeded" {
			t.Errorf("error %+v", pe)
		}
		if !errors.Is(pe, platform.ErrRateLimited) {
			t.Error("errors.Is(ErrRateLimited) is false")
		}
	})
	t.Run("rolling window and QUOTA_EXCEEDED", func(t *testing.T) {
		e := setup(t, spotifytest.Options{})
		tok := login(t, e, spotify.ScopeLibraryModify)
		e.fake.SetRateLimit(2, true)
		for range 2 {
			if err := e.client.Save(ctx, tok.AccessToken, album); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.Add(12 * time.Second)
		pe := wantKind(t, e.client.Save(ctx, tok.AccessToken, album), platform.RateLimited)
		if pe.RetryAfter != 18*time.Second || !strings.Contains(pe.Message, "QUOTA_EXCEEDED") {
			t.Errorf("error %+v", pe)
		}
		if e.fake.Duplicates() != 1 {
			t.Errorf("duplicates %d, want 1", e.fake.Duplicates())
		}
	})
	for _, status := range []int{500, 502, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			e := setup(t, spotifytest.Options{})
			tok := login(t, e, spotify.ScopeLibraryModify)
			e.fake.FailNext(1, spotifytest.Fault{Status: status})
			if pe := wantKind(t, e.client.Save(ctx, tok.AccessToken, album), platform.Transient); pe.Status != status {
				t.Errorf("status %d", pe.Status)
			}
		})
	}
	t.Run("hung request with a 200 ms client timeout", func(t *testing.T) {
		e := setup(t, spotifytest.Options{})
		tok := login(t, e, spotify.ScopeLibraryModify)
		c := spotify.New(spotify.Config{ClientID: e.fake.ClientID(), ClientSecret: e.fake.ClientSecret(),
			AccountsURL: e.fake.URL, APIURL: e.fake.URL, HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}})
		e.fake.FailNext(3, spotifytest.Fault{Hang: true})
		start := time.Now()
		pe := wantKind(t, c.Save(ctx, tok.AccessToken, album), platform.Transient)
		if pe.Status != 0 {
			t.Errorf("status %d", pe.Status)
		}
		_, err := c.Refresh(ctx, tok.RefreshToken)
		wantKind(t, err, platform.Transient)
		_, err = c.Profile(ctx, tok.AccessToken)
		wantKind(t, err, platform.Transient)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("three timeouts took %v", d)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		e := setup(t, spotifytest.Options{})
		tok := login(t, e, spotify.ScopeLibraryModify)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := e.client.Save(cctx, tok.AccessToken, album)
		wantKind(t, err, platform.Transient)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%v does not wrap context.Canceled", err)
		}
		_, err = e.client.Lookup(cctx, platform.Source{Kind: "isrc", Value: "USRC17607839"})
		wantKind(t, err, platform.Transient)
	})
	t.Run("dev-mode 403", func(t *testing.T) {
		e := setup(t, spotifytest.Options{DevMode: true})
		tok := login(t, e, spotify.ScopeLibraryModify)
		e.fake.SetAllowlisted("fan1", false)
		wantKind(t, e.client.Save(ctx, tok.AccessToken, album), platform.NotAllowed)
		_, err := e.client.Profile(ctx, tok.AccessToken)
		if pe := wantKind(t, err, platform.NotAllowed); pe.Message != "User not registered in the Developer Dashboard" {
			t.Errorf("message %q", pe.Message)
		}
	})
	t.Run("other 403 is permanent", func(t *testing.T) {
		e := setup(t, spotifytest.Options{})
		tok := login(t, e, spotify.ScopeReadEmail) // no user-library-modify
		wantKind(t, e.client.Save(ctx, tok.AccessToken, album), platform.Permanent)
	})
	t.Run("401", func(t *testing.T) {
		e := setup(t, spotifytest.Options{})
		tok := login(t, e, spotify.ScopeLibraryModify)
		wantKind(t, e.client.Save(ctx, "not-a-token", album), platform.AuthExpired)
		e.clock.Add(time.Hour)
		pe := wantKind(t, e.client.Save(ctx, tok.AccessToken, album), platform.AuthExpired)
		if pe.Message != "The access token expired" {
			t.Errorf("message %q", pe.Message)
		}
		_, err := e.client.Profile(ctx, tok.AccessToken)
		wantKind(t, err, platform.AuthExpired)
	})
	t.Run("400", func(t *testing.T) {
		e := setup(t, spotifytest.Options{})
		tok := login(t, e, spotify.ScopeLibraryModify)
		wantKind(t, e.client.Save(ctx, tok.AccessToken, []string{"spotify:artist:" + id22("x", 1)}), platform.Permanent)
	})
}

func addCatalog(fake *spotifytest.Server) {
	fake.AddAlbum(spotifytest.Album{
		ID: id22("alb", 1), Name: "Night Drive", Artist: "The Examples", UPC: "602445790098",
		// Deliberately not widest first: the client must pick the largest.
		Images: []spotifytest.Image{
			{URL: "https://img.test/300", Width: 300, Height: 300},
			{URL: "https://img.test/640", Width: 640, Height: 640},
			{URL: "https://img.test/64", Width: 64, Height: 64},
		},
		TrackIDs: []string{id22("trk", 1)},
	})
	fake.AddTrack(spotifytest.Track{ID: id22("trk", 1), Name: "Headlights", Artist: "The Examples", ISRC: "USRC17607839", AlbumID: id22("alb", 1)})
}

func TestLookup(t *testing.T) {
	ctx := context.Background()
	e := setup(t, spotifytest.Options{})
	addCatalog(e.fake)
	albumRel := platform.Release{
		Items: []string{"spotify:album:" + id22("alb", 1)}, Kind: "album", Name: "Night Drive", Artist: "The Examples",
		ArtworkURL: "https://img.test/640", UPC: "602445790098", URL: "https://open.spotify.com/album/" + id22("alb", 1),
	}
	trackRel := platform.Release{
		Items: []string{"spotify:track:" + id22("trk", 1)}, Kind: "track", Name: "Headlights", Artist: "The Examples",
		ArtworkURL: "https://img.test/640", ISRC: "USRC17607839", URL: "https://open.spotify.com/track/" + id22("trk", 1),
	}
	tests := []struct {
		src  platform.Source
		want platform.Release
	}{
		{platform.Source{Kind: "spotify_track", Value: "spotify:track:" + id22("trk", 1)}, trackRel},
		{platform.Source{Kind: "spotify_album", Value: "spotify:album:" + id22("alb", 1)}, albumRel},
		{platform.Source{Kind: "isrc", Value: "USRC17607839"}, trackRel},
		{platform.Source{Kind: "upc", Value: "602445790098"}, albumRel},
	}
	for _, tt := range tests {
		t.Run(tt.src.Kind, func(t *testing.T) {
			got, err := e.client.Lookup(ctx, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	for _, src := range []platform.Source{
		{Kind: "spotify_track", Value: "spotify:track:" + id22("nope", 1)},
		{Kind: "spotify_album", Value: id22("nope", 2)},
		{Kind: "isrc", Value: "GBAYE0000000"},
		{Kind: "upc", Value: "000000000000"},
	} {
		_, err := e.client.Lookup(ctx, src)
		wantKind(t, err, platform.NotFound)
	}
	for _, src := range []platform.Source{
		{Kind: "spotify_track", Value: "spotify:album:" + id22("alb", 1)},
		{Kind: "spotify_album", Value: "../../v1/me"},
		{Kind: "isrc", Value: "US RC 1760 7839 OR 1"},
		{Kind: "deezer", Value: "1"},
	} {
		_, err := e.client.Lookup(ctx, src)
		wantKind(t, err, platform.Permanent)
	}
	if n := ccTokenFetches(e.fake); n != 1 {
		t.Errorf("client-credentials token fetched %d times, want 1", n)
	}
}

func ccTokenFetches(fake *spotifytest.Server) int {
	n := 0
	for _, tr := range fake.TokenRequests() {
		if tr.GrantType == "client_credentials" {
			n++
		}
	}
	return n
}

func TestLookupTokenIsSharedAndRenewed(t *testing.T) {
	ctx := context.Background()
	e := setup(t, spotifytest.Options{})
	addCatalog(e.fake)
	e.fake.SetLatency(20 * time.Millisecond) // so the lookups overlap
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			_, err := e.client.Lookup(ctx, platform.Source{Kind: "isrc", Value: "USRC17607839"})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := ccTokenFetches(e.fake); n != 1 {
		t.Errorf("10 concurrent lookups fetched the app token %d times, want 1", n)
	}
	// The stand-in's clock runs ahead: it now calls the cached token expired,
	// and the client gets a new one and retries once.
	e.fake.SetLatency(0)
	e.clock.Add(2 * time.Hour)
	if _, err := e.client.Lookup(ctx, platform.Source{Kind: "upc", Value: "602445790098"}); err != nil {
		t.Fatal(err)
	}
	if n := ccTokenFetches(e.fake); n != 2 {
		t.Errorf("app token fetched %d times, want 2", n)
	}
	if n := e.fake.Requests(spotifytest.EndpointSearch, 401); n != 1 {
		t.Errorf("401s from search = %d, want 1", n)
	}
}

// TestErrorsHoldNoSecrets provokes every kind of failure and checks that no
// error text carries a token, a code or the client secret.
func TestErrorsHoldNoSecrets(t *testing.T) {
	ctx := context.Background()
	e := setup(t, spotifytest.Options{})
	addCatalog(e.fake)
	tok := login(t, e, spotify.ScopeLibraryModify)
	v := oauth2.GenerateVerifier()
	code := consent(t, e.client, v, spotify.ScopeLibraryModify)
	secrets := []string{tok.AccessToken, tok.RefreshToken, code, e.fake.ClientSecret(), v}

	var errs []error
	collect := func(err error) {
		if err == nil {
			t.Fatal("expected an error")
		}
		errs = append(errs, err)
	}
	_, err := e.client.Exchange(ctx, code, "wrong-verifier-wrong-verifier-wrong-verifier")
	collect(err)
	_, err = e.client.Exchange(ctx, code, v) // used
	collect(err)
	e.fake.FailNext(1, spotifytest.Fault{Endpoint: spotifytest.EndpointToken, Status: 503})
	_, err = e.client.Refresh(ctx, tok.RefreshToken)
	collect(err)
	e.fake.FailNext(1, spotifytest.Fault{Endpoint: spotifytest.EndpointToken, Status: 429})
	_, err = e.client.Refresh(ctx, tok.RefreshToken)
	collect(err)
	for _, st := range []int{429, 500, 404} {
		e.fake.FailNext(1, spotifytest.Fault{Status: st})
		collect(e.client.Save(ctx, tok.AccessToken, []string{"spotify:album:" + id22("alb", 1)}))
	}
	e.fake.FailNext(1, spotifytest.Fault{Status: 503})
	_, err = e.client.Profile(ctx, tok.AccessToken)
	collect(err)
	e.fake.SetAllowlisted("fan1", false)
	collect(e.client.Save(ctx, tok.AccessToken, []string{"spotify:album:" + id22("alb", 1)}))
	e.fake.SetAllowlisted("fan1", true)
	collect(e.client.Save(ctx, tok.AccessToken, []string{"spotify:nope:1"}))
	fast := spotify.New(spotify.Config{ClientID: e.fake.ClientID(), ClientSecret: e.fake.ClientSecret(),
		AccountsURL: e.fake.URL, APIURL: e.fake.URL, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
	e.fake.FailNext(3, spotifytest.Fault{Hang: true})
	collect(fast.Save(ctx, tok.AccessToken, []string{"spotify:album:" + id22("alb", 1)}))
	_, err = fast.Refresh(ctx, tok.RefreshToken)
	collect(err)
	_, err = fast.Exchange(ctx, code, v)
	collect(err)
	e.fake.RevokeUser("fan1")
	_, err = e.client.Refresh(ctx, tok.RefreshToken)
	collect(err)
	collect(e.client.Save(ctx, tok.AccessToken, []string{"spotify:album:" + id22("alb", 1)}))
	bad := spotify.New(spotify.Config{ClientID: e.fake.ClientID(), ClientSecret: e.fake.ClientSecret() + "x",
		AccountsURL: e.fake.URL, APIURL: e.fake.URL})
	_, err = bad.Lookup(ctx, platform.Source{Kind: "isrc", Value: "USRC17607839"})
	collect(err)
	_, err = bad.Refresh(ctx, tok.RefreshToken)
	collect(err)

	for _, err := range errs {
		t.Log(err)
		var pe *platform.Error
		if !errors.As(err, &pe) {
			t.Errorf("%v is not a *platform.Error", err)
		}
		msg := err.Error() + fmt.Sprintf(" %+v %#v", err, err)
		for _, s := range secrets {
			if strings.Contains(msg, s) {
				t.Errorf("error %q contains a secret", err.Error())
			}
		}
	}
}
