// Package apple is dropday's client for the Apple Music API. It finds
// releases in the catalog (songs by ISRC, albums by UPC) with a developer
// token dropday signs itself, and (user.go) is a platform.Client for the
// fan's pre-add: MusicKit JS in the fan's page gives a Music User Token,
// with which the release is added to the fan's library on release day.
//
// Every failure is a *platform.Error. Neither the private key nor a token is
// ever part of an error or a log line: tokens travel only in headers.
package apple

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dropday/dropday/internal/platform"
)

// Key is the platform's key in models.Platforms.
const Key = "apple_music"

// Developer-token lifetime. Apple allows up to six months; 30 days bounds the
// use of a copied token (once the fan's pre-add hands it to MusicKit JS it is
// public by design), signing a new one is local and free, and a month keeps
// a token valid in any tab left open. It is renewed a day before it expires
// so no request or page ever carries one about to lapse.
const (
	TokenLifetime    = 30 * 24 * time.Hour
	TokenRenewBefore = 24 * time.Hour
)

// Item types, as the library add call names them (ids[albums]=…, ids[songs]=…).
const (
	ItemAlbums = "albums"
	ItemSongs  = "songs"
)

// ArtworkSize is the size the artwork URL template is filled with.
const ArtworkSize = 640

// rateLimitDefault is the wait when a 429 carries no Retry-After: Apple
// publishes no number, only that the limit clears once the rate drops.
const rateLimitDefault = 5 * time.Second

// Config is everything the client needs.
type Config struct {
	TeamID     string // iss
	KeyID      string // kid
	PrivateKey *ecdsa.PrivateKey
	// Origin (scheme://host of dropday's base URL) goes into the token's
	// origin claim and into the Origin header of every request: Apple
	// rejects a token naming an origin when the request's Origin differs.
	// Empty leaves both out.
	Origin string
	// APIURL serves /v1/... (default https://api.music.apple.com).
	APIURL string
	// Storefront is the catalog looked in (default "us").
	Storefront string
	// MusicKitURL is the MusicKit JS the landing page loads (default DefaultMusicKitURL).
	MusicKitURL string
	// HTTPClient carries timeouts and transport; nil means a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock tokens are dated by (default time.Now).
	Now func() time.Time
}

// Client talks to Apple Music. It is safe for concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client

	mu       sync.Mutex
	token    string
	tokenExp time.Time
}

var _ platform.Catalog = (*Client)(nil)

// New returns a client for cfg.
func New(cfg Config) *Client {
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.music.apple.com"
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.Storefront == "" {
		cfg.Storefront = "us"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MusicKitURL == "" {
		cfg.MusicKitURL = DefaultMusicKitURL
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, hc: hc}
}

// Key implements platform.Catalog.
func (c *Client) Key() string { return Key }

// tokenClaims are the developer token's claims.
type tokenClaims struct {
	// Origin is a list, as in Apple's example.
	Origin []string `json:"origin,omitempty"`
	jwt.RegisteredClaims
}

// DeveloperToken returns the cached developer token, signing a new one when
// there is none or the cached one expires within TokenRenewBefore.
func (c *Client) DeveloperToken() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	if c.token != "" && now.Add(TokenRenewBefore).Before(c.tokenExp) {
		return c.token, nil
	}
	if c.cfg.PrivateKey == nil {
		return "", &platform.Error{Platform: Key, Kind: platform.Permanent, Message: "no private key configured (DROPDAY_APPLE_PRIVATE_KEY)"}
	}
	iat := now.Truncate(time.Second)
	exp := iat.Add(TokenLifetime)
	cl := tokenClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    c.cfg.TeamID,
		IssuedAt:  jwt.NewNumericDate(iat),
		ExpiresAt: jwt.NewNumericDate(exp),
	}}
	if c.cfg.Origin != "" {
		cl.Origin = []string{c.cfg.Origin}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, cl)
	t.Header["kid"] = c.cfg.KeyID
	signed, err := t.SignedString(c.cfg.PrivateKey)
	if err != nil {
		// jwt's signing errors name the key type at most, never the key.
		return "", &platform.Error{Platform: Key, Kind: platform.Permanent, Message: "cannot sign the developer token", Err: err}
	}
	c.token, c.tokenExp = signed, exp
	return signed, nil
}

// do sends one API request with the developer token (and the fan's Music
// User Token when userToken is set, for library calls). The caller owns
// resp.Body when err is nil; a non-2xx answer is already sorted into err.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, userToken string) (*http.Response, error) {
	tok, err := c.DeveloperToken()
	if err != nil {
		return nil, err
	}
	u := c.cfg.APIURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, &platform.Error{Platform: Key, Kind: platform.Permanent, Err: fmt.Errorf("apple: build request: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if c.cfg.Origin != "" {
		req.Header.Set("Origin", c.cfg.Origin)
	}
	if userToken != "" {
		req.Header.Set("Music-User-Token", userToken)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error names the URL (no secret: tokens are in headers).
		return nil, &platform.Error{Platform: Key, Kind: platform.Transient, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		defer drain(resp)
		return nil, c.apiError(resp, userToken != "")
	}
	return resp, nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// apiError sorts an error answer ({"errors":[{"status":"401","code":"40100","title","detail"}]}).
// withUser: the request carried a Music User Token, so a 401 or 403 means
// the fan's authorization is no longer accepted (expired, revoked, no
// subscription any more): the fan must authorize again.
func (c *Client) apiError(resp *http.Response, withUser bool) *platform.Error {
	var body struct {
		Errors []struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
			Code   string `json:"code"`
		} `json:"errors"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	e := &platform.Error{Platform: Key, Status: resp.StatusCode}
	if len(body.Errors) > 0 {
		be := body.Errors[0]
		e.Message = be.Title
		if be.Detail != "" && be.Detail != be.Title {
			e.Message += ": " + be.Detail
		}
		if be.Code != "" {
			e.Message += " (code " + be.Code + ")"
		}
	}
	switch s := resp.StatusCode; {
	case withUser && (s == http.StatusUnauthorized || s == http.StatusForbidden):
		e.Kind = platform.AuthExpired
		e.Message = strings.TrimSpace(fmt.Sprintf("Apple Music no longer accepts the fan's authorization (HTTP %d); the fan must authorize again. %s", s, e.Message))
	case s == http.StatusUnauthorized:
		// The developer token was refused: a wrong team id, key id or key
		// (or a Music User Token without a subscription, later). Retrying
		// cannot fix the operator's configuration.
		e.Kind = platform.Permanent
		e.Message = strings.TrimSpace("developer token refused; check DROPDAY_APPLE_TEAM_ID, DROPDAY_APPLE_KEY_ID and DROPDAY_APPLE_PRIVATE_KEY. " + e.Message)
	case s == http.StatusNotFound:
		e.Kind = platform.NotFound
	case s == http.StatusTooManyRequests:
		e.Kind = platform.RateLimited
		e.RetryAfter = platform.RetryAfter(resp.Header.Get("Retry-After"), rateLimitDefault, c.cfg.Now())
	case s >= 500:
		e.Kind = platform.Transient
	default:
		e.Kind = platform.Permanent
	}
	return e
}

// getJSON GETs path and decodes the 2xx body into out.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	resp, err := c.do(ctx, http.MethodGet, path, q, "")
	if err != nil {
		return err
	}
	defer drain(resp)
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(out); err != nil {
		return &platform.Error{Platform: Key, Kind: platform.Transient, Status: resp.StatusCode,
			Err: fmt.Errorf("apple: decode %s: %w", path, err)}
	}
	return nil
}

type resource struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Attributes struct {
		Name       string `json:"name"`
		ArtistName string `json:"artistName"`
		ISRC       string `json:"isrc"`
		UPC        string `json:"upc"`
		URL        string `json:"url"`
		Artwork    struct {
			URL string `json:"url"`
		} `json:"artwork"`
		// PlayParams is present only when the item can be played (released).
		PlayParams *struct {
			ID string `json:"id"`
		} `json:"playParams"`
	} `json:"attributes"`
}

// Lookup implements platform.Catalog: songs by ISRC, albums by UPC, in the
// configured storefront. A release listed without playParams (announced,
// not out) is NotFound like one not listed at all.
func (c *Client) Lookup(ctx context.Context, src platform.Source) (platform.Release, error) {
	code, ok := platform.CatalogCode(src)
	if !ok {
		return platform.Release{}, &platform.Error{Platform: Key, Kind: platform.Permanent,
			Message: fmt.Sprintf("Apple Music looks up an ISRC or a UPC, not %s %q", src.Kind, src.Value)}
	}
	typ, filter, what := ItemSongs, "isrc", "song with ISRC "
	if src.Kind == "upc" {
		typ, filter, what = ItemAlbums, "upc", "album with UPC "
	}
	var res struct {
		Data []resource `json:"data"`
	}
	path := "/v1/catalog/" + url.PathEscape(c.cfg.Storefront) + "/" + typ
	if err := c.getJSON(ctx, path, url.Values{"filter[" + filter + "]": {code}}, &res); err != nil {
		return platform.Release{}, err
	}
	var found *resource
	for i := range res.Data {
		if res.Data[i].Attributes.PlayParams != nil && res.Data[i].ID != "" {
			found = &res.Data[i]
			break
		}
	}
	if found == nil {
		msg := "no " + what + code + " in storefront " + c.cfg.Storefront
		if len(res.Data) > 0 {
			msg = "the " + what + code + " is listed but not playable yet"
		}
		return platform.Release{}, &platform.Error{Platform: Key, Kind: platform.NotFound, Message: msg}
	}
	a := found.Attributes
	r := platform.Release{
		Items:      []string{typ + ":" + found.ID},
		Name:       a.Name,
		Artist:     a.ArtistName,
		ArtworkURL: ArtworkURL(a.Artwork.URL, ArtworkSize),
		URL:        a.URL,
	}
	if typ == ItemSongs {
		r.Kind, r.ISRC = "track", code
		if a.ISRC != "" {
			r.ISRC = a.ISRC
		}
	} else {
		r.Kind, r.UPC = "album", code
		if a.UPC != "" {
			r.UPC = a.UPC
		}
	}
	return r, nil
}

// ArtworkURL fills Apple's artwork template ({w}x{h}) with a square size.
func ArtworkURL(tmpl string, size int) string {
	s := fmt.Sprint(size)
	return strings.NewReplacer("{w}", s, "{h}", s, "{f}", "jpg").Replace(tmpl)
}

// ParseItem splits a Release item ("albums:1577502911") into the type the
// library add call takes (ids[albums]) and the id.
func ParseItem(item string) (typ, id string, ok bool) {
	typ, id, ok = strings.Cut(item, ":")
	if !ok || id == "" || (typ != ItemAlbums && typ != ItemSongs) {
		return "", "", false
	}
	return typ, id, true
}
