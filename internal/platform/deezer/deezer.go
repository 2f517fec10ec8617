// Package deezer is dropday's client for Deezer: the public catalog look-ups
// (tracks by ISRC, albums by UPC), which need no account or app, and, with
// an app id and secret, direct pre-save (OAuth consent on connect.deezer.com,
// the fan's profile, saving to their library). Deezer answers errors inside
// HTTP 200 ({"error":{"type","message","code"}}); this client sorts them into
// *platform.Error kinds.
package deezer

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

	"github.com/dropday/dropday/internal/platform"
)

// Key is the platform's key in models.Platforms.
const Key = "deezer"

// quotaWait is how long a quota error (code 4) waits: Deezer sends no
// Retry-After, and its limit is counted over about five seconds.
const quotaWait = 5 * time.Second

// Deezer error codes (developers.deezer.com/api/errors).
const (
	codeQuota         = 4
	codeItemsLimit    = 100
	codePermission    = 200
	codeTokenInvalid  = 300
	codeServiceBusy   = 700
	codeNotFound      = 800
	codeIndividualAcc = 901
)

// Config is everything the client needs.
type Config struct {
	// APIURL is the API base (default https://api.deezer.com).
	APIURL string
	// ConnectURL is the OAuth base (default https://connect.deezer.com).
	ConnectURL string
	// AppID and AppSecret are the operator's Deezer app (direct pre-save only).
	AppID, AppSecret string
	// RedirectURL is the callback registered with the app.
	RedirectURL string
	// HTTPClient carries timeouts and transport; nil means a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock an HTTP-date Retry-After is read against (default time.Now).
	Now func() time.Time
}

// Client looks releases up on Deezer. It is safe for concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client
}

var _ platform.Client = (*Client)(nil)

// New returns a client for cfg.
func New(cfg Config) *Client {
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.deezer.com"
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.ConnectURL == "" {
		cfg.ConnectURL = "https://connect.deezer.com"
	}
	cfg.ConnectURL = strings.TrimRight(cfg.ConnectURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, hc: hc}
}

// Key implements platform.Catalog.
func (c *Client) Key() string { return Key }

type apiErr struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Code    int    `json:"code"`
}

type album struct {
	ID      int64  `json:"id"`
	Title   string `json:"title"`
	UPC     string `json:"upc"`
	Link    string `json:"link"`
	CoverXL string `json:"cover_xl"`
	Cover   string `json:"cover_big"`
	Artist  struct {
		Name string `json:"name"`
	} `json:"artist"`
}

type object struct {
	Error *apiErr `json:"error"`
	album
	ISRC  string `json:"isrc"`
	Album album  `json:"album"`
}

// Lookup implements platform.Catalog: GET /track/isrc:{ISRC} or /album/upc:{UPC}.
func (c *Client) Lookup(ctx context.Context, src platform.Source) (platform.Release, error) {
	code, ok := platform.CatalogCode(src)
	if !ok {
		return platform.Release{}, &platform.Error{Platform: Key, Kind: platform.Permanent,
			Message: fmt.Sprintf("Deezer looks up an ISRC or a UPC, not %s %q", src.Kind, src.Value)}
	}
	path, what := "/track/isrc:"+code, "no track with ISRC "+code
	if src.Kind == "upc" {
		path, what = "/album/upc:"+code, "no album with UPC "+code
	}
	var o object
	if err := c.call(ctx, http.MethodGet, path, nil, &o); err != nil {
		return platform.Release{}, err
	}
	if o.Error != nil {
		return platform.Release{}, c.deezerError(*o.Error, what)
	}
	if o.ID == 0 {
		return platform.Release{}, &platform.Error{Platform: Key, Kind: platform.Transient, Status: http.StatusOK, Message: "answer without an id"}
	}
	id := strconv.FormatInt(o.ID, 10)
	if src.Kind == "upc" {
		upc := o.UPC
		if upc == "" {
			upc = code
		}
		return platform.Release{Items: []string{"album:" + id}, Kind: "album", Name: o.Title, Artist: o.Artist.Name,
			ArtworkURL: cover(o.album), UPC: upc, URL: o.Link}, nil
	}
	isrc := o.ISRC
	if isrc == "" {
		isrc = code
	}
	return platform.Release{Items: []string{"track:" + id}, Kind: "track", Name: o.Title, Artist: o.Artist.Name,
		ArtworkURL: cover(o.Album), ISRC: isrc, URL: o.Link}, nil
}

func cover(a album) string {
	if a.CoverXL != "" {
		return a.CoverXL
	}
	return a.Cover
}

// call sends one API request (q may carry the fan's access_token) and
// decodes the body (an object or an error) into out. Errors never name the
// URL: the access token travels in its query string.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, out any) error {
	u := c.cfg.APIURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return &platform.Error{Platform: Key, Kind: platform.Permanent, Err: fmt.Errorf("deezer: build request %s", path)}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return &platform.Error{Platform: Key, Kind: platform.Transient, Err: transportError(method, path, err)}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode/100 != 2 {
		e := &platform.Error{Platform: Key, Status: resp.StatusCode, Kind: platform.Permanent}
		switch s := resp.StatusCode; {
		case s == http.StatusTooManyRequests:
			e.Kind = platform.RateLimited
			e.RetryAfter = platform.RetryAfter(resp.Header.Get("Retry-After"), quotaWait, c.cfg.Now())
		case s >= 500:
			e.Kind = platform.Transient
		case s == http.StatusNotFound:
			e.Kind = platform.NotFound
		}
		return e
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(out); err != nil {
		return &platform.Error{Platform: Key, Kind: platform.Transient, Status: resp.StatusCode,
			Err: fmt.Errorf("deezer: decode %s: %w", path, err)}
	}
	return nil
}

// transportError keeps a transport failure's cause (timeouts stay
// matchable with errors.Is) but drops *url.Error's URL, which holds the
// access token or the app secret.
func transportError(method, path string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("deezer: %s %s: %w", method, path, err)
}

// deezerError sorts an error Deezer sent inside HTTP 200.
func (c *Client) deezerError(ae apiErr, notFound string) *platform.Error {
	e := &platform.Error{Platform: Key, Status: http.StatusOK,
		Message: strings.TrimSpace(fmt.Sprintf("%s %s (code %d)", ae.Type, ae.Message, ae.Code))}
	switch ae.Code {
	case codeNotFound:
		e.Kind, e.Message = platform.NotFound, notFound
	case codeQuota:
		e.Kind, e.RetryAfter = platform.RateLimited, quotaWait
	case codeServiceBusy:
		e.Kind = platform.Transient
	case codeTokenInvalid, codePermission:
		// 300: the token no longer works; 200: it lacks a permission. With
		// offline_access a token does not run out, so either the fan removed
		// the app in their Deezer settings, or Deezer voided or narrowed the
		// grant; the answer does not say which. AuthExpired ("pre-save
		// again") rather than Revoked, which would tell the artist the fan
		// chose to withdraw.
		e.Kind = platform.AuthExpired
	case codeIndividualAcc:
		e.Kind = platform.NotAllowed
	case codeItemsLimit:
		e.Kind, e.Message = platform.Permanent, "the fan's Deezer library is full"
	default:
		// Bad parameters, permissions, tokens: retrying cannot help.
		e.Kind = platform.Permanent
	}
	return e
}
