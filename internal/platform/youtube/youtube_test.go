package youtube_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/platform/standin"
	"github.com/dropday/dropday/internal/platform/youtube"
	"github.com/dropday/dropday/internal/platform/youtube/youtubetest"
)

func TestVideoID(t *testing.T) {
	good := map[string]string{
		"https://music.youtube.com/watch?v=dQw4w9WgXcQ":               "dQw4w9WgXcQ",
		"https://music.youtube.com/watch?v=dQw4w9WgXcQ&si=abc&list=R": "dQw4w9WgXcQ",
		"https://www.youtube.com/watch?v=dQw4w9WgXcQ":                 "dQw4w9WgXcQ",
		"https://youtube.com/watch?feature=share&v=a-b_c-d_e-f":       "a-b_c-d_e-f",
		"https://m.youtube.com/watch?v=dQw4w9WgXcQ":                   "dQw4w9WgXcQ",
		"http://WWW.YouTube.com/watch?v=dQw4w9WgXcQ":                  "dQw4w9WgXcQ",
		"https://youtu.be/dQw4w9WgXcQ":                                "dQw4w9WgXcQ",
		"https://youtu.be/dQw4w9WgXcQ?si=xyz&t=42":                    "dQw4w9WgXcQ",
		"https://www.youtube.com/shorts/dQw4w9WgXcQ":                  "dQw4w9WgXcQ",
		"https://www.youtube.com/live/dQw4w9WgXcQ?feature=share":      "dQw4w9WgXcQ",
		"https://www.youtube.com/embed/dQw4w9WgXcQ":                   "dQw4w9WgXcQ",
		"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ":          "dQw4w9WgXcQ",
		"  https://music.youtube.com/watch?v=dQw4w9WgXcQ  ":           "dQw4w9WgXcQ",
	}
	for in, want := range good {
		if got, err := youtube.VideoID(in); err != nil || got != want {
			t.Errorf("VideoID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"",
		"dQw4w9WgXcQ", // not an address
		"https://music.youtube.com/playlist?list=OLAK5uy_kxyz",     // an album playlist: no single video
		"https://music.youtube.com/browse/MPREb_abc",               // an album page
		"https://www.youtube.com/channel/UCabcdefghijklmnopqrstuv", // a channel
		"https://www.youtube.com/@maralune",
		"https://www.youtube.com/watch?v=short",            // too short
		"https://www.youtube.com/watch?v=dQw4w9WgXcQQ",     // too long
		"https://www.youtube.com/watch?v=dQw4w9WgX%3Cb",    // not base64url
		"https://www.youtube.com/watch",                    // no v
		"https://youtu.be/",                                // no id
		"https://youtu.be/dQw4w9WgXcQ/extra",               // extra path
		"https://evil.example/watch?v=dQw4w9WgXcQ",         // another site
		"https://youtube.com.evil.example/watch?v=dQw4w9W", // look-alike host
		"javascript:alert(1)//youtu.be/dQw4w9WgXcQ",
		"ftp://youtu.be/dQw4w9WgXcQ",
		"https://www.youtube.com/shorts/",
	}
	for _, in := range bad {
		if got, err := youtube.VideoID(in); !errors.Is(err, youtube.ErrNoVideo) {
			t.Errorf("VideoID(%q) = %q, %v; want ErrNoVideo", in, got, err)
		}
	}
	// A stand-in's host counts only when named.
	if _, err := youtube.VideoID("http://127.0.0.1:4321/watch?v=dQw4w9WgXcQ"); err == nil {
		t.Error("a loopback address was accepted without being named")
	}
	if id, err := youtube.VideoID("http://127.0.0.1:4321/watch?v=dQw4w9WgXcQ", "127.0.0.1:4321"); err != nil || id != "dQw4w9WgXcQ" {
		t.Errorf("stand-in address: %q %v", id, err)
	}
}

func TestQuotaResetIsMidnightPacific(t *testing.T) {
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	cases := []struct{ now, want time.Time }{
		{utc(2026, 11, 21, 12, 0), utc(2026, 11, 22, 8, 0)},                                         // PST: 04:00 → next 00:00 PST = 08:00 UTC
		{utc(2026, 11, 22, 7, 59), utc(2026, 11, 22, 8, 0)},                                         // a minute before the reset
		{utc(2026, 11, 22, 8, 0), utc(2026, 11, 23, 8, 0)},                                          // at the reset: the next day's
		{utc(2026, 7, 1, 12, 0), utc(2026, 7, 2, 7, 0)},                                             // PDT: 07:00 UTC
		{utc(2026, 3, 8, 9, 0), utc(2026, 3, 9, 7, 0)},                                              // 8 March 01:00 PST, DST starts at 02:00: midnight is PDT
		{utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 8, 0)},                                             // 7 March 23:30 PST: midnight still PST
		{utc(2026, 11, 1, 7, 30), utc(2026, 11, 2, 8, 0)},                                           // 1 Nov 00:30 PDT, DST ends at 02:00: the next midnight is PST
		{utc(2026, 10, 31, 20, 0), utc(2026, 11, 1, 7, 0)},                                          // 31 Oct 13:00 PDT: midnight still PDT
		{utc(2026, 12, 31, 23, 0), utc(2027, 1, 1, 8, 0)},                                           // the year's end
		{time.Date(2026, 11, 22, 8, 0, 0, 0, time.FixedZone("CET", 3600)), utc(2026, 11, 22, 8, 0)}, // any input zone
	}
	for _, c := range cases {
		if got := youtube.QuotaReset(c.now); !got.Equal(c.want) {
			t.Errorf("QuotaReset(%s) = %s, want %s", c.now, got.UTC(), c.want)
		}
	}
}

// clock is a settable clock shared by the client and the stand-in.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const video = "aBcDeFgHiJ1"

// setup is a stand-in, a client for it, and fan1's tokens from a real consent.
func setup(t *testing.T) (*youtubetest.Server, *youtube.Client, *clock, platform.Token) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	const redirect = "http://127.0.0.1:1/oauth/youtube_music/callback"
	s := youtubetest.New(youtubetest.Options{RedirectURL: redirect, Now: clk.Now})
	t.Cleanup(s.Close)
	s.AddVideo(youtubetest.Video{ID: video, Title: "Night Drive"})
	c := youtube.New(youtube.Config{ClientID: s.ClientID(), ClientSecret: s.ClientSecret(), RedirectURL: redirect,
		AuthURL: s.URL + youtubetest.AuthPath, TokenURL: s.URL + youtubetest.TokenPath, APIURL: s.URL, Now: clk.Now})
	return s, c, clk, consent(t, s, c, "state-1", strings.Repeat("v", 50))
}

func consent(t *testing.T, s *youtubetest.Server, c *youtube.Client, state, verifier string) platform.Token {
	t.Helper()
	code := authorize(t, c, state, verifier)
	tok, err := c.Exchange(context.Background(), code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func authorize(t *testing.T, c *youtube.Client, state, verifier string) string {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Get(c.AuthorizeURL(state, verifier, c.Scopes(true)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func TestConsentExchangeRefreshProfileSave(t *testing.T) {
	s, c, _, tok := setup(t)
	ctx := context.Background()
	if tok.AccessToken == "" || !strings.HasPrefix(tok.RefreshToken, "1//") || tok.Scope != youtube.ScopeYouTube+" email" {
		t.Fatalf("token %+v", tok)
	}
	p, err := c.Profile(ctx, tok.AccessToken)
	if err != nil || p.ID != "UCfan1fan1fan1fan1fan1fa" || p.Email != "fan1@example.com" || p.DisplayName != "Fan One" {
		t.Fatalf("profile %+v %v", p, err)
	}
	// Google's refresh answer has no refresh token: the old one stays.
	r, err := c.Refresh(ctx, tok.RefreshToken)
	if err != nil || r.RefreshToken != tok.RefreshToken || r.AccessToken == tok.AccessToken {
		t.Fatalf("refresh %+v %v", r, err)
	}
	if err := c.Save(ctx, r.AccessToken, []string{video}); err != nil {
		t.Fatal(err)
	}
	if s.Likes("fan1", video) != 1 || s.Requests(youtubetest.EndpointRate, http.StatusNoContent) != 1 {
		t.Fatalf("likes %d", s.Likes("fan1", video))
	}
	if o := c.ConsentOrigin(); o != s.URL {
		t.Fatalf("consent origin %q", o)
	}
}

func TestErrorsSortIntoKinds(t *testing.T) {
	s, c, clk, tok := setup(t)
	ctx := context.Background()

	// A code is single-use and bound to its PKCE verifier.
	code := authorize(t, c, "s2", strings.Repeat("w", 50))
	if _, err := c.Exchange(ctx, code, strings.Repeat("x", 50)); platform.KindOf(err) != platform.Revoked || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("wrong verifier: %v", err)
	}
	if _, err := c.Exchange(ctx, code, strings.Repeat("w", 50)); platform.KindOf(err) != platform.Revoked {
		t.Fatalf("reused code: %v", err)
	}

	// 404 videoNotFound, a bad id, 401, 403 forbidden/rateLimitExceeded.
	if err := c.Save(ctx, tok.AccessToken, []string{"zzzzzzzzzzz"}); platform.KindOf(err) != platform.NotFound || !strings.Contains(err.Error(), "videoNotFound") {
		t.Fatalf("unknown video: %v", err)
	}
	if err := c.Save(ctx, tok.AccessToken, []string{"../x"}); platform.KindOf(err) != platform.Permanent {
		t.Fatalf("bad id: %v", err)
	}
	if err := c.Save(ctx, "ya29.nonsense", []string{video}); platform.KindOf(err) != platform.AuthExpired {
		t.Fatalf("bad token: %v", err)
	}
	s.FailNext(1, standin.Fault{Endpoint: youtubetest.EndpointRate, Status: http.StatusForbidden})
	if err := c.Save(ctx, tok.AccessToken, []string{video}); platform.KindOf(err) != platform.RateLimited {
		t.Fatalf("rateLimitExceeded: %v", err)
	}
	s.FailNext(1, standin.Fault{Endpoint: youtubetest.EndpointRate, Status: http.StatusServiceUnavailable})
	if err := c.Save(ctx, tok.AccessToken, []string{video}); platform.KindOf(err) != platform.Transient {
		t.Fatalf("503: %v", err)
	}

	// The day's quota: a like costs 50; the next one is 403 quotaExceeded
	// until midnight Pacific, by the stand-in's clock.
	s.SetQuota(s.QuotaUsed() + 50)
	if err := c.Save(ctx, tok.AccessToken, []string{video}); err != nil {
		t.Fatal(err)
	}
	err := c.Save(ctx, tok.AccessToken, []string{video})
	var perr *platform.Error
	var qe youtube.QuotaError
	if !errors.As(err, &perr) || perr.Kind != platform.RateLimited || perr.Status != http.StatusForbidden ||
		!errors.As(err, &qe) || perr.RetryAfter != 20*time.Hour || !strings.Contains(perr.Message, "quotaExceeded") {
		t.Fatalf("quota: %#v", err)
	}
	clk.Set(time.Date(2026, 11, 22, 7, 59, 0, 0, time.UTC))
	if err := c.Save(ctx, tok.AccessToken, []string{video}); platform.KindOf(err) != platform.AuthExpired {
		// The access token (an hour) ran out first: refresh, then still the quota.
		t.Fatalf("expired token: %v", err)
	}
	r, err := c.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(ctx, r.AccessToken, []string{video}); platform.KindOf(err) != platform.RateLimited {
		t.Fatalf("a minute before the reset: %v", err)
	}
	clk.Add(time.Minute)
	if err := c.Save(ctx, r.AccessToken, []string{video}); err != nil || s.QuotaUsed() != 50 {
		t.Fatalf("after the reset: %v (used %d)", err, s.QuotaUsed())
	}

	// Revoked in the Google account: invalid_grant on refresh.
	s.RevokeUser("fan1")
	_, err = c.Refresh(ctx, tok.RefreshToken)
	if platform.KindOf(err) != platform.Revoked || !strings.Contains(err.Error(), "Token has been expired or revoked.") {
		t.Fatalf("revoked: %v", err)
	}
	// No secret in any error text.
	for _, secret := range []string{tok.RefreshToken, tok.AccessToken, r.AccessToken, s.ClientSecret()} {
		if strings.Contains(err.Error(), secret) {
			t.Fatal("an error names a secret")
		}
	}
	// A wrong client secret is our configuration: permanent.
	bad := youtube.New(youtube.Config{ClientID: s.ClientID(), ClientSecret: "wrong", TokenURL: s.URL + youtubetest.TokenPath, APIURL: s.URL})
	if _, err := bad.Refresh(ctx, "1//x"); platform.KindOf(err) != platform.Permanent || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("bad client: %v", err)
	}
}

func TestConsentWithoutEmailAndWithoutChannel(t *testing.T) {
	s, c, _, _ := setup(t)
	ctx := context.Background()
	s.AddUser(youtubetest.User{ID: "nochannel", Name: "No Channel", Email: "nc@example.com"})
	s.SetCurrentUser("nochannel")
	verifier := strings.Repeat("n", 50)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Get(c.AuthorizeURL("s3", verifier, c.Scopes(false)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	tok, err := c.Exchange(ctx, loc.Query().Get("code"), verifier)
	if err != nil || tok.Scope != youtube.ScopeYouTube {
		t.Fatalf("%+v %v", tok, err)
	}
	if _, err := c.Profile(ctx, tok.AccessToken); platform.KindOf(err) != platform.NotAllowed {
		t.Fatalf("no channel: %v", err)
	}
	s.AddUser(youtubetest.User{ID: "nochannel", Name: "Now With Channel", Email: "nc@example.com", ChannelID: "UCncncncncncncncncncncnc"})
	p, err := c.Profile(ctx, tok.AccessToken)
	if err != nil || p.Email != "" || p.ID != "UCncncncncncncncncncncnc" {
		t.Fatalf("without the email scope: %+v %v", p, err)
	}
}
