// Package tidal is dropday's client for TIDAL: catalog look-ups (tracks by
// ISRC, albums by barcode) through the JSON:API at openapi.tidal.com/v2, with
// an app token from the client-credentials grant, cached until shortly
// before it expires; and direct pre-save (user.go): the fan's OAuth 2.1
// consent with PKCE, their profile, and adding the release to their
// collection. One TIDAL app (client id and secret) serves both. Every
// failure is a *platform.Error; the client secret and tokens never appear in one.
package tidal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/dropday/dropday/internal/platform"
)

// Key is the platform's key in models.Platforms.
const Key = "tidal"

// Item types, as TIDAL's JSON:API names them (the collection save body's "type").
const (
	ItemAlbums = "albums"
	ItemTracks = "tracks"
)

// ArtworkSize is the cover width picked from an artwork's files.
const ArtworkSize = 640

const (
	// tokenMargin: a cached token is replaced this long before it expires.
	tokenMargin = time.Minute
	// rateLimitDefault is the wait after a 429 without Retry-After (TIDAL
	// documents none).
	rateLimitDefault = 2 * time.Second
	mediaType        = "application/vnd.api+json"
)

// Config is everything the client needs.
type Config struct {
	ClientID, ClientSecret string
	// AuthURL serves /v1/oauth2/token (default https://auth.tidal.com).
	AuthURL string
	// LoginURL serves /authorize, the fan's consent page (default https://login.tidal.com).
	LoginURL string
	// RedirectURL is dropday's callback, registered with the TIDAL app.
	RedirectURL string
	// APIURL serves /v2/... (default https://openapi.tidal.com).
	APIURL string
	// Country is the countryCode of every look-up (default US).
	Country string
	// HTTPClient carries timeouts and transport; nil means a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock token expiry is judged by (default time.Now).
	Now func() time.Time
}

// Client looks releases up on TIDAL. It is safe for concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client
	// sem (capacity 1) guards token, so a caller waiting for another's
	// fetch can still give up when its own context ends.
	sem   chan struct{}
	token *oauth2.Token
}

var _ platform.Client = (*Client)(nil)

// New returns a client for cfg.
func New(cfg Config) *Client {
	if cfg.AuthURL == "" {
		cfg.AuthURL = "https://auth.tidal.com"
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://openapi.tidal.com"
	}
	if cfg.LoginURL == "" {
		cfg.LoginURL = "https://login.tidal.com"
	}
	cfg.LoginURL = strings.TrimRight(cfg.LoginURL, "/")
	if cfg.Country == "" {
		cfg.Country = "US"
	}
	cfg.AuthURL = strings.TrimRight(cfg.AuthURL, "/")
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, hc: hc, sem: make(chan struct{}, 1)}
}

// Key implements platform.Catalog.
func (c *Client) Key() string { return Key }

// appToken returns the cached app token, fetching one when there is none or
// it expires within tokenMargin.
func (c *Client) appToken(ctx context.Context) (string, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", &platform.Error{Platform: Key, Kind: platform.Transient, Err: fmt.Errorf("tidal: app token: %w", ctx.Err())}
	}
	defer func() { <-c.sem }()
	if c.token != nil && (c.token.Expiry.IsZero() || c.cfg.Now().Add(tokenMargin).Before(c.token.Expiry)) {
		return c.token.AccessToken, nil
	}
	cc := clientcredentials.Config{
		ClientID:     c.cfg.ClientID,
		ClientSecret: c.cfg.ClientSecret,
		TokenURL:     c.cfg.AuthURL + "/v1/oauth2/token",
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, c.hc))
	if err != nil {
		return "", c.tokenError(err)
	}
	// x/oauth2 dates Expiry by the wall clock; re-date it by ours so an
	// injected clock judges it (expires_in is what TIDAL promised).
	if ei, ok := tok.Extra("expires_in").(float64); ok && ei > 0 {
		tok.Expiry = c.cfg.Now().Add(time.Duration(ei) * time.Second)
	}
	c.token = tok
	return tok.AccessToken, nil
}

func (c *Client) dropToken(tok string) {
	c.sem <- struct{}{}
	if c.token != nil && c.token.AccessToken == tok {
		c.token = nil
	}
	<-c.sem
}

// tokenError sorts a token-endpoint failure. The message is built from
// TIDAL's error code and description only: x/oauth2's error text (which
// quotes the body) is hidden, and the credentials travel in the Basic header.
func (c *Client) tokenError(err error) *platform.Error {
	e := &platform.Error{Platform: Key}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		e.Kind, e.Err = platform.Transient, fmt.Errorf("client credentials: %w", err)
		return e
	}
	e.Err = platform.OpError{Op: "client credentials", Err: err}
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
		e.RetryAfter = platform.RetryAfter(re.Response.Header.Get("Retry-After"), rateLimitDefault, c.cfg.Now())
	case e.Status >= 500:
		e.Kind = platform.Transient
	default:
		e.Kind = platform.Permanent
		if re.ErrorCode == "invalid_client" || e.Status == http.StatusUnauthorized {
			e.Message = strings.TrimSpace("client credentials refused; check DROPDAY_TIDAL_CLIENT_ID and DROPDAY_TIDAL_CLIENT_SECRET. " + e.Message)
		}
	}
	return e
}

// get GETs /v2{path} with the app token, retried once with a fresh token
// when TIDAL refuses the cached one.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.appToken(ctx)
		if err != nil {
			return err
		}
		err = c.getOnce(ctx, tok, path, q, out)
		var pe *platform.Error
		if attempt == 0 && errors.As(err, &pe) && pe.Status == http.StatusUnauthorized {
			c.dropToken(tok)
			continue
		}
		return err
	}
}

func (c *Client) getOnce(ctx context.Context, tok, path string, q url.Values, out any) error {
	u := c.cfg.APIURL + "/v2" + path + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return &platform.Error{Platform: Key, Kind: platform.Permanent, Err: fmt.Errorf("tidal: build request: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", mediaType)
	resp, err := c.hc.Do(req)
	if err != nil {
		return &platform.Error{Platform: Key, Kind: platform.Transient, Err: err}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode/100 != 2 {
		return c.apiError(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(out); err != nil {
		return &platform.Error{Platform: Key, Kind: platform.Transient, Status: resp.StatusCode,
			Err: fmt.Errorf("tidal: decode %s: %w", path, err)}
	}
	return nil
}

// apiError sorts a JSON:API error answer ({"errors":[{"status","code","detail"}]}).
func (c *Client) apiError(resp *http.Response) *platform.Error {
	var body struct {
		Errors []struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	e := &platform.Error{Platform: Key, Status: resp.StatusCode}
	if len(body.Errors) > 0 {
		e.Message = body.Errors[0].Detail
		if body.Errors[0].Code != "" {
			e.Message += " (" + body.Errors[0].Code + ")"
		}
	}
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized:
		// Already retried with a fresh token (see get): the app is refused.
		e.Kind = platform.Permanent
		e.Message = strings.TrimSpace("app token refused; check DROPDAY_TIDAL_CLIENT_ID and DROPDAY_TIDAL_CLIENT_SECRET. " + e.Message)
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

type link struct {
	Href string `json:"href"`
	Meta struct {
		Type string `json:"type"`
	} `json:"meta"`
}

type relData struct {
	Data []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"data"`
}

type resource struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Attributes struct {
		Title         string `json:"title"`
		Name          string `json:"name"`
		ISRC          string `json:"isrc"`
		BarcodeID     string `json:"barcodeId"`
		ExternalLinks []link `json:"externalLinks"`
		Files         []struct {
			Href string `json:"href"`
			Meta struct {
				Width  int `json:"width"`
				Height int `json:"height"`
			} `json:"meta"`
		} `json:"files"`
	} `json:"attributes"`
	Relationships map[string]relData `json:"relationships"`
}

type document struct {
	Data     []resource `json:"data"`
	Included []resource `json:"included"`
}

func (d *document) find(typ, id string) *resource {
	for i := range d.Included {
		if d.Included[i].Type == typ && d.Included[i].ID == id {
			return &d.Included[i]
		}
	}
	return nil
}

// related returns the included resources r points to under rel.
func (d *document) related(r *resource, rel string) []*resource {
	var out []*resource
	for _, ref := range r.Relationships[rel].Data {
		if x := d.find(ref.Type, ref.ID); x != nil {
			out = append(out, x)
		}
	}
	return out
}

// Lookup implements platform.Catalog: GET /v2/tracks?filter[isrc]= or
// /v2/albums?filter[barcodeId]=, in the configured country.
func (c *Client) Lookup(ctx context.Context, src platform.Source) (platform.Release, error) {
	code, ok := platform.CatalogCode(src)
	if !ok {
		return platform.Release{}, &platform.Error{Platform: Key, Kind: platform.Permanent,
			Message: fmt.Sprintf("TIDAL looks up an ISRC or a UPC, not %s %q", src.Kind, src.Value)}
	}
	q := url.Values{"countryCode": {c.cfg.Country}}
	path, typ, what := "/tracks", ItemTracks, "no track with ISRC "+code
	if src.Kind == "upc" {
		path, typ, what = "/albums", ItemAlbums, "no album with UPC "+code
		q.Set("filter[barcodeId]", code)
		q.Set("include", "artists,coverArt")
	} else {
		q.Set("filter[isrc]", code)
		q.Set("include", "artists,albums.coverArt")
	}
	var doc document
	if err := c.get(ctx, path, q, &doc); err != nil {
		return platform.Release{}, err
	}
	if len(doc.Data) == 0 || doc.Data[0].ID == "" {
		return platform.Release{}, &platform.Error{Platform: Key, Kind: platform.NotFound, Message: what + " in " + c.cfg.Country}
	}
	r := &doc.Data[0]
	var names []string
	for _, a := range doc.related(r, "artists") {
		names = append(names, a.Attributes.Name)
	}
	kind := "track"
	if typ == ItemAlbums {
		kind = "album"
	}
	rel := platform.Release{
		Items:  []string{typ + ":" + r.ID},
		Kind:   kind,
		Name:   r.Attributes.Title,
		Artist: strings.Join(names, ", "),
		URL:    listenURL(r, kind),
	}
	coverOf := r
	if typ == ItemTracks {
		rel.ISRC = code
		if r.Attributes.ISRC != "" {
			rel.ISRC = r.Attributes.ISRC
		}
		coverOf = nil
		if albums := doc.related(r, "albums"); len(albums) > 0 {
			coverOf = albums[0]
		}
	} else {
		rel.UPC = code
		if r.Attributes.BarcodeID != "" {
			rel.UPC = r.Attributes.BarcodeID
		}
	}
	if coverOf != nil {
		if arts := doc.related(coverOf, "coverArt"); len(arts) > 0 {
			rel.ArtworkURL = pickFile(arts[0])
		}
	}
	return rel, nil
}

// listenURL is the TIDAL_SHARING link, or tidal.com/browse/{kind}/{id}.
func listenURL(r *resource, kind string) string {
	for _, l := range r.Attributes.ExternalLinks {
		if l.Meta.Type == "TIDAL_SHARING" && strings.HasPrefix(l.Href, "http") {
			return l.Href
		}
	}
	return "https://tidal.com/browse/" + kind + "/" + url.PathEscape(r.ID)
}

// pickFile chooses the smallest file at least ArtworkSize wide, else the largest.
func pickFile(a *resource) string {
	best, bestW := "", 0
	for _, f := range a.Attributes.Files {
		w := f.Meta.Width
		switch {
		case best == "":
			best, bestW = f.Href, w
		case bestW < ArtworkSize && w > bestW:
			best, bestW = f.Href, w
		case w >= ArtworkSize && w < bestW:
			best, bestW = f.Href, w
		}
	}
	return best
}
