// Package youtube is dropday's client for YouTube Music through the YouTube
// Data API v3: the fan's Google OAuth consent (authorization code + PKCE,
// offline access), their channel, and saving a release by liking its video
// (videos.rate), which puts it into YouTube Music's "Liked music". It
// implements platform.Client; every failure is a *platform.Error.
//
// YouTube has no catalog look-up by ISRC or UPC: the video comes from the
// YouTube URL the artist gave (VideoID). Base URLs and the *http.Client come
// from Config, so tests and `dropday demo` point it at youtubetest.Server.
package youtube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/dropday/dropday/internal/platform"
)

// Key is the platform's key in models.Platforms.
const Key = "youtube_music"

// Scopes: youtube lets videos.rate like a video (PLATFORMS.md §5); email
// reads the fan's address, only when they ticked "also email me".
const (
	ScopeYouTube = "https://www.googleapis.com/auth/youtube"
	ScopeEmail   = "email"
)

// LikeCost is what one videos.rate call costs of the daily quota
// (DailyQuota units, reset at midnight Pacific time).
const (
	LikeCost   = 50
	DailyQuota = 10000
)

// Config is everything the client needs; zero URLs mean Google's own.
type Config struct {
	ClientID     string
	ClientSecret string
	RedirectURL  string
	// AuthURL is the consent page (default https://accounts.google.com/o/oauth2/v2/auth).
	AuthURL string
	// TokenURL exchanges and refreshes (default https://oauth2.googleapis.com/token).
	TokenURL string
	// APIURL serves /youtube/v3/... and /oauth2/v3/userinfo (default https://www.googleapis.com).
	APIURL string
	// HTTPClient carries timeouts and transport; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now dates the quota reset (nil: time.Now).
	Now func() time.Time
}

// Client talks to Google and YouTube. It is safe for concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client
}

var _ platform.Client = (*Client)(nil)

// New returns a client for cfg.
func New(cfg Config) *Client {
	if cfg.AuthURL == "" {
		cfg.AuthURL = "https://accounts.google.com/o/oauth2/v2/auth"
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = "https://oauth2.googleapis.com/token"
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://www.googleapis.com"
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, hc: hc}
}

// Key implements platform.Client.
func (c *Client) Key() string { return Key }

// NoCatalog tells registry.Catalogs that YouTube has no look-up by code:
// release resolution leaves it alone and the artist's URL is the source.
func (c *Client) NoCatalog() bool { return true }

// Lookup implements platform.Catalog: YouTube has no ISRC or UPC look-up.
func (c *Client) Lookup(context.Context, platform.Source) (platform.Release, error) {
	return platform.Release{}, &platform.Error{Platform: Key, Kind: platform.NotFound,
		Message: "YouTube has no look-up by code: paste the release's video address"}
}

// ItemsFromURL implements the deliverer's "items from the artist's URL":
// the video id of a YouTube or YouTube Music watch address. Besides
// YouTube's own hosts it accepts the configured API host, where a stand-in
// serves its watch pages in tests and the demo.
func (c *Client) ItemsFromURL(raw string) []string {
	extra := ""
	if u, err := url.Parse(c.cfg.APIURL); err == nil {
		extra = u.Host
	}
	id, err := VideoID(raw, extra)
	if err != nil {
		return nil
	}
	return []string{id}
}

// URLPlatforms are the link_platforms rows whose artist's URL may name the
// video, in order of preference: YouTube Music's own, then plain YouTube
// (the same video id likes the same video).
func (c *Client) URLPlatforms() []string { return []string{Key, "youtube"} }

func (c *Client) oauthConfig(scopes []string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.cfg.ClientID,
		ClientSecret: c.cfg.ClientSecret,
		RedirectURL:  c.cfg.RedirectURL,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:  c.cfg.AuthURL,
			TokenURL: c.cfg.TokenURL,
			// Google documents client_id and client_secret in the form body;
			// pinning it stops oauth2 from probing with a second request.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

func (c *Client) oauthCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.hc)
}

// Scopes implements platform.Client.
func (c *Client) Scopes(withEmail bool) []string {
	if withEmail {
		return []string{ScopeYouTube, ScopeEmail}
	}
	return []string{ScopeYouTube}
}

// ConsentOrigin implements platform.Client: the consent page's origin.
func (c *Client) ConsentOrigin() string {
	u, err := url.Parse(c.cfg.AuthURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// AuthorizeURL implements platform.Client. access_type=offline and
// prompt=consent make Google return a refresh token every time (it sends
// one only on consent, PLATFORMS.md §5).
func (c *Client) AuthorizeURL(state, verifier string, scopes []string) string {
	return c.oauthConfig(scopes).AuthCodeURL(state, oauth2.AccessTypeOffline,
		oauth2.SetAuthURLParam("prompt", "consent"),
		oauth2.SetAuthURLParam("include_granted_scopes", "true"),
		oauth2.S256ChallengeOption(verifier))
}

// Exchange implements platform.Client.
func (c *Client) Exchange(ctx context.Context, code, verifier string) (platform.Token, error) {
	tok, err := c.oauthConfig(nil).Exchange(c.oauthCtx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return platform.Token{}, tokenError("exchange code", err)
	}
	return toPlatformToken(tok, ""), nil
}

// Refresh implements platform.Client. Google keeps the refresh token (the
// answer has none); a dead one is invalid_grant.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (platform.Token, error) {
	tok, err := c.oauthConfig(nil).TokenSource(c.oauthCtx(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return platform.Token{}, tokenError("refresh token", err)
	}
	return toPlatformToken(tok, refreshToken), nil
}

func toPlatformToken(tok *oauth2.Token, oldRefresh string) platform.Token {
	t := platform.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry}
	if t.RefreshToken == "" {
		t.RefreshToken = oldRefresh
	}
	if s, ok := tok.Extra("scope").(string); ok {
		t.Scope = s
	}
	return t
}

// tokenError sorts a token endpoint failure. Its text holds Google's error
// code and description only, never the request (code, verifier, refresh
// token, client secret travel in the body) nor the raw answer.
func tokenError(op string, err error) *platform.Error {
	e := &platform.Error{Platform: Key}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		e.Kind = platform.Transient
		e.Err = fmt.Errorf("%s: %w", op, err)
		return e
	}
	e.Err = platform.OpError{Op: op, Err: err}
	if re.Response != nil {
		e.Status = re.Response.StatusCode
	}
	e.Message = re.ErrorCode
	if re.ErrorDescription != "" {
		e.Message += ": " + re.ErrorDescription
	}
	switch {
	case e.Status == http.StatusTooManyRequests:
		e.Kind = platform.RateLimited
		e.RetryAfter = retryAfter(re.Response.Header.Get("Retry-After"))
	case e.Status >= 500:
		e.Kind = platform.Transient
	case re.ErrorCode == "invalid_grant":
		// "Token has been expired or revoked.": Google does not tell the
		// two apart (revoked by the fan, 7-day testing apps, 6 months
		// unused), so the fan withdrew or lost the grant either way.
		e.Kind = platform.Revoked
	default:
		// invalid_client, unauthorized_client, invalid_request: our setup is wrong.
		e.Kind = platform.Permanent
	}
	return e
}

// Profile implements platform.Client: the fan's channel id (channels.list
// mine=true, 1 unit) is their account id; the email comes from userinfo
// when they granted the email scope.
func (c *Client) Profile(ctx context.Context, accessToken string) (platform.Profile, error) {
	var ch struct {
		Items []struct {
			ID      string `json:"id"`
			Snippet struct {
				Title string `json:"title"`
			} `json:"snippet"`
		} `json:"items"`
	}
	q := url.Values{"part": {"id,snippet"}, "mine": {"true"}}
	if err := c.getJSON(ctx, accessToken, "/youtube/v3/channels?"+q.Encode(), &ch); err != nil {
		return platform.Profile{}, err
	}
	if len(ch.Items) == 0 || ch.Items[0].ID == "" {
		// A Google account without a YouTube channel cannot like videos.
		return platform.Profile{}, &platform.Error{Platform: Key, Kind: platform.NotAllowed, Status: http.StatusOK,
			Message: "this Google account has no YouTube channel"}
	}
	p := platform.Profile{ID: ch.Items[0].ID, DisplayName: ch.Items[0].Snippet.Title}
	var ui struct {
		Email    string `json:"email"`
		Verified bool   `json:"email_verified"`
	}
	// Without the email scope userinfo answers 401/403: no email, not a failure.
	if err := c.getJSON(ctx, accessToken, "/oauth2/v3/userinfo", &ui); err == nil && ui.Verified {
		p.Email = ui.Email
	} else if err != nil && platform.KindOf(err) == platform.Transient {
		return platform.Profile{}, err
	}
	return p, nil
}

// Save implements platform.Client: one videos.rate like per video (204).
// Liking again is harmless, so the worker may retry all.
func (c *Client) Save(ctx context.Context, accessToken string, items []string) error {
	for _, id := range items {
		if !validID(id) {
			return &platform.Error{Platform: Key, Kind: platform.Permanent, Message: fmt.Sprintf("%q is not a YouTube video id", id)}
		}
		u := c.cfg.APIURL + "/youtube/v3/videos/rate?" + url.Values{"id": {id}, "rating": {"like"}}.Encode()
		resp, err := c.do(ctx, http.MethodPost, u, accessToken)
		if err != nil {
			return err
		}
		var aerr error
		if resp.StatusCode/100 != 2 {
			aerr = c.apiError(resp)
		}
		drain(resp)
		if aerr != nil {
			return aerr
		}
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, u, accessToken string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, &platform.Error{Platform: Key, Kind: platform.Permanent, Err: fmt.Errorf("youtube: build request: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		// The URL names the video id only; the token travels in a header.
		return nil, &platform.Error{Platform: Key, Kind: platform.Transient, Err: err}
	}
	return resp, nil
}

func (c *Client) getJSON(ctx context.Context, accessToken, pathQuery string, out any) error {
	resp, err := c.do(ctx, http.MethodGet, c.cfg.APIURL+pathQuery, accessToken)
	if err != nil {
		return err
	}
	defer drain(resp)
	if resp.StatusCode/100 != 2 {
		return c.apiError(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return &platform.Error{Platform: Key, Kind: platform.Transient, Status: resp.StatusCode,
			Err: fmt.Errorf("youtube: decode answer: %w", err)}
	}
	return nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// QuotaError is the cause of a quotaExceeded answer. The deliverer asks it
// when the quota resets (by its own clock), pauses every YouTube delivery
// until then and records the pause for every instance.
type QuotaError struct{}

func (QuotaError) Error() string { return "YouTube's daily quota is used up" }

// Until implements the deliverer's "wait until" for a quota error.
func (QuotaError) Until(now time.Time) time.Time { return QuotaReset(now) }

// pacific is where YouTube's quota day begins; a build without the time
// zone database (tzdata is embedded by cmd/dropday) falls back to PST.
var pacific = func() *time.Location {
	if l, err := time.LoadLocation("America/Los_Angeles"); err == nil {
		return l
	}
	return time.FixedZone("PST", -8*3600)
}()

// QuotaReset is the next midnight in Pacific time after now, when YouTube
// grants a new day's quota: 08:00 UTC in winter, 07:00 UTC in summer.
func QuotaReset(now time.Time) time.Time {
	t := now.In(pacific)
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, pacific)
}

// apiError sorts a Data API error answer
// ({"error":{"code","message","errors":[{"domain","reason","message"}]}}).
func (c *Client) apiError(resp *http.Response) *platform.Error {
	var body struct {
		Error struct {
			Message string `json:"message"`
			Errors  []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
		} `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	reason := ""
	if len(body.Error.Errors) > 0 {
		reason = body.Error.Errors[0].Reason
	}
	e := &platform.Error{Platform: Key, Status: resp.StatusCode, Message: strings.TrimSpace(body.Error.Message)}
	if reason != "" {
		e.Message = strings.TrimSpace(e.Message + " (" + reason + ")")
	}
	switch s := resp.StatusCode; {
	case s == http.StatusForbidden && reason == "quotaExceeded":
		now := c.cfg.Now()
		e.Kind, e.RetryAfter, e.Err = platform.RateLimited, QuotaReset(now).Sub(now), QuotaError{}
	case reason == "rateLimitExceeded" || reason == "userRateLimitExceeded" || s == http.StatusTooManyRequests:
		e.Kind, e.RetryAfter = platform.RateLimited, retryAfter(resp.Header.Get("Retry-After"))
	case s == http.StatusUnauthorized:
		// Bad or expired access token (the worker refreshes before each save).
		e.Kind = platform.AuthExpired
	case s == http.StatusNotFound:
		e.Kind = platform.NotFound
	case s >= 500:
		e.Kind = platform.Transient
	default:
		// 400 emailNotVerified/invalidRating, 403 forbidden/videoRatingDisabled/
		// insufficientPermissions: retrying cannot help.
		e.Kind = platform.Permanent
	}
	return e
}

// retryAfter reads Retry-After in seconds; Google rarely sends it, so a
// missing one means a short 10 s pause.
func retryAfter(v string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 10 * time.Second
}
