// Package spotify is dropday's client for Spotify: the fan's OAuth consent
// (authorization code + PKCE), their profile, saving to their library, and
// finding a release in the catalog. It implements platform.Client and returns
// every failure as a *platform.Error whose Kind tells the delivery worker what
// to do next.
//
// Base URLs and the *http.Client come from Config, so tests and `dropday demo`
// point it at spotifytest.Server instead of Spotify.
package spotify

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
	"golang.org/x/oauth2/clientcredentials"

	"github.com/dropday/dropday/internal/platform"
)

// Key is the platform's key in models.Platforms.
const Key = "spotify"

// MaxSaveURIs is how many URIs one PUT /v1/me/library takes.
const MaxSaveURIs = 40

// Scopes dropday asks for: saving is the point; email is optional (and
// Spotify drops it for development-mode apps anyway).
const (
	ScopeLibraryModify = "user-library-modify"
	ScopeReadEmail     = "user-read-email"
)

// Config is everything the client needs; zero URLs mean Spotify's own.
type Config struct {
	ClientID     string
	ClientSecret string
	RedirectURL  string
	// AccountsURL serves /authorize and /api/token (default https://accounts.spotify.com).
	AccountsURL string
	// APIURL serves /v1/... (default https://api.spotify.com).
	APIURL string
	// HTTPClient carries timeouts and transport; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Client talks to Spotify. It is safe for concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client

	// appToken caches the client-credentials token Lookup uses. sem (capacity
	// 1) guards it instead of a mutex so a caller waiting for another's fetch
	// can still give up when its own context ends.
	sem      chan struct{}
	appToken *oauth2.Token
	now      func() time.Time
}

var _ platform.Client = (*Client)(nil)

// appTokenMargin is how long before expiry a cached app token is replaced,
// so a token never runs out between the check and Spotify reading it.
const appTokenMargin = time.Minute

// New returns a client for cfg.
func New(cfg Config) *Client {
	if cfg.AccountsURL == "" {
		cfg.AccountsURL = "https://accounts.spotify.com"
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.spotify.com"
	}
	cfg.AccountsURL = strings.TrimRight(cfg.AccountsURL, "/")
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, hc: hc, sem: make(chan struct{}, 1), now: time.Now}
}

// Key implements platform.Client.
func (c *Client) Key() string { return Key }

func (c *Client) oauthConfig(scopes []string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.cfg.ClientID,
		ClientSecret: c.cfg.ClientSecret,
		RedirectURL:  c.cfg.RedirectURL,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:  c.cfg.AccountsURL + "/authorize",
			TokenURL: c.cfg.AccountsURL + "/api/token",
			// Spotify documents Basic for confidential clients; pinning it
			// also stops oauth2 from auto-detecting with a second request.
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
}

// oauthCtx hands the injected *http.Client to x/oauth2, which otherwise
// would use http.DefaultClient and ignore our timeouts and test transport.
func (c *Client) oauthCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.hc)
}

// Scopes implements platform.Client: saving needs user-library-modify; the
// fan's email needs user-read-email.
func (c *Client) Scopes(withEmail bool) []string {
	if withEmail {
		return []string{"user-library-modify", "user-read-email"}
	}
	return []string{"user-library-modify"}
}

// ConsentOrigin implements platform.Client: the accounts service.
func (c *Client) ConsentOrigin() string {
	u, err := url.Parse(c.cfg.AccountsURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// AuthorizeURL implements platform.Client: Spotify's consent page with the
// S256 challenge of verifier.
func (c *Client) AuthorizeURL(state, verifier string, scopes []string) string {
	return c.oauthConfig(scopes).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// Exchange implements platform.Client: the callback's code and the PKCE
// verifier for the fan's tokens.
func (c *Client) Exchange(ctx context.Context, code, verifier string) (platform.Token, error) {
	tok, err := c.oauthConfig(nil).Exchange(c.oauthCtx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return platform.Token{}, tokenError("exchange code", err)
	}
	return toPlatformToken(tok, ""), nil
}

// Refresh implements platform.Client. Spotify may omit refresh_token (keep
// the old one) or rotate it (the old one is then dead); the returned Token's
// RefreshToken is always the one to store.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (platform.Token, error) {
	src := c.oauthConfig(nil).TokenSource(c.oauthCtx(ctx), &oauth2.Token{RefreshToken: refreshToken})
	tok, err := src.Token()
	if err != nil {
		return platform.Token{}, tokenError("refresh token", err)
	}
	return toPlatformToken(tok, refreshToken), nil
}

func toPlatformToken(tok *oauth2.Token, oldRefresh string) platform.Token {
	t := platform.Token{
		AccessToken:  tok.AccessToken,
		RefreshToken: tok.RefreshToken,
		Expiry:       tok.Expiry,
	}
	// x/oauth2 already keeps the old refresh token when the response has
	// none; this says so here too, because losing it would orphan the fan.
	if t.RefreshToken == "" {
		t.RefreshToken = oldRefresh
	}
	if s, ok := tok.Extra("scope").(string); ok {
		t.Scope = s
	}
	return t
}

// tokenError sorts a failure from the token endpoint. Message is built from
// Spotify's error code and description only; neither x/oauth2's errors nor
// ours ever hold the request body (where the code, verifier and refresh
// token travel) or the Basic header.
func tokenError(op string, err error) *platform.Error {
	e := &platform.Error{Platform: Key}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		// No usable answer: network error, timeout, cancelled context.
		e.Kind = platform.Transient
		e.Err = fmt.Errorf("%s: %w", op, err)
		return e
	}
	// Message already says what Spotify said; OpError keeps the
	// RetrieveError reachable without repeating its text (and its raw body).
	e.Err = platform.OpError{Op: op, Err: err}
	if re.Response != nil {
		e.Status = re.Response.StatusCode
	}
	switch {
	case re.ErrorCode != "":
		e.Message = re.ErrorCode
		if re.ErrorDescription != "" {
			e.Message += ": " + re.ErrorDescription
		}
	default:
		// A 429 or 5xx in the Web API's shape ({"error":{"message"}}).
		var body struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(re.Body, &body) == nil {
			e.Message = body.Error.Message
		}
	}
	switch {
	case e.Status == http.StatusTooManyRequests:
		e.Kind = platform.RateLimited
		e.RetryAfter = retryAfter(re.Response.Header.Get("Retry-After"))
	case e.Status >= 500:
		e.Kind = platform.Transient
	case re.ErrorCode == "invalid_grant" && strings.Contains(strings.ToLower(re.ErrorDescription), "revoked"):
		e.Kind = platform.Revoked
	case re.ErrorCode == "invalid_grant":
		// Expired after six months, a rotated-away refresh token, a used or
		// unknown code, a wrong PKCE verifier: the fan must consent again.
		e.Kind = platform.AuthExpired
	default:
		// invalid_client, invalid_request, unsupported_grant_type: our
		// configuration is wrong and retrying will not fix it.
		e.Kind = platform.Permanent
	}
	return e
}

// Profile implements platform.Client.
//
// ID is Spotify's `id` (the user id in spotify:user:ID). Spotify added
// `account_id` in May 2026 and recommends it for account linking, but it is
// absent from older responses and from the stand-in's default users; mixing
// the two would give one fan two identities depending on which answer we saw
// first. `id` has been present and unchangeable for every Spotify account, so
// it is the stable key; account_id is used only if id is ever missing.
func (c *Client) Profile(ctx context.Context, accessToken string) (platform.Profile, error) {
	var me struct {
		ID          string `json:"id"`
		AccountID   string `json:"account_id"`
		DisplayName string `json:"display_name"`
		Email       string `json:"email"`
	}
	if err := c.getJSON(ctx, accessToken, "/v1/me", nil, &me); err != nil {
		return platform.Profile{}, err
	}
	p := platform.Profile{ID: me.ID, DisplayName: me.DisplayName, Email: me.Email}
	if p.ID == "" {
		p.ID = me.AccountID
	}
	if p.ID == "" {
		return platform.Profile{}, &platform.Error{Platform: Key, Kind: platform.Transient, Status: http.StatusOK,
			Message: "profile without an id"}
	}
	return p, nil
}

// Save implements platform.Client: PUT /v1/me/library in chunks of 40. It
// stops at the first failing chunk; chunks before it are saved, and saving
// the same URI again is harmless on Spotify, so the worker may retry all.
func (c *Client) Save(ctx context.Context, accessToken string, items []string) error {
	for start := 0; start < len(items); start += MaxSaveURIs {
		end := min(start+MaxSaveURIs, len(items))
		esc := make([]string, 0, end-start)
		for _, it := range items[start:end] {
			esc = append(esc, url.QueryEscape(it))
		}
		// Commas stay literal: Spotify's own examples write the list that way.
		u := c.cfg.APIURL + "/v1/me/library?uris=" + strings.Join(esc, ",")
		resp, err := c.do(ctx, http.MethodPut, u, "Bearer "+accessToken)
		if err != nil {
			return err
		}
		var aerr error
		if resp.StatusCode/100 != 2 {
			aerr = apiError(resp)
		}
		drain(resp)
		if aerr != nil {
			return aerr
		}
	}
	return nil
}

// do sends one request and turns transport failures into Transient errors.
// The caller owns resp.Body when err is nil.
func (c *Client) do(ctx context.Context, method, u, auth string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, &platform.Error{Platform: Key, Kind: platform.Permanent, Err: fmt.Errorf("spotify: build request: %w", err)}
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error names the URL (no secrets: tokens travel in headers) and
		// keeps ctx and timeout errors matchable with errors.Is.
		return nil, &platform.Error{Platform: Key, Kind: platform.Transient, Err: err}
	}
	return resp, nil
}

// getJSON GETs path (with query q) and decodes a 2xx body into out.
func (c *Client) getJSON(ctx context.Context, accessToken, path string, q url.Values, out any) error {
	u := c.cfg.APIURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	resp, err := c.do(ctx, http.MethodGet, u, "Bearer "+accessToken)
	if err != nil {
		return err
	}
	defer drain(resp)
	if resp.StatusCode/100 != 2 {
		return apiError(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(out); err != nil {
		// A cut-off or garbled body is most likely a transport hiccup.
		return &platform.Error{Platform: Key, Kind: platform.Transient, Status: resp.StatusCode,
			Err: fmt.Errorf("spotify: decode %s: %w", path, err)}
	}
	return nil
}

func drain(resp *http.Response) {
	// Reading the rest lets the connection be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// apiError sorts a Web API error answer ({"error":{"status","message","reason"}}).
func apiError(resp *http.Response) *platform.Error {
	var body struct {
		Error struct {
			Status  int    `json:"status"`
			Message string `json:"message"`
			Reason  string `json:"reason"`
		} `json:"error"`
	}
	// A body that is not Spotify's error object leaves Message empty.
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	e := &platform.Error{Platform: Key, Status: resp.StatusCode, Message: body.Error.Message}
	if body.Error.Reason != "" {
		e.Message = strings.TrimSpace(e.Message + " (" + body.Error.Reason + ")")
	}
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized:
		// The access token is bad or expired: the worker refreshes once and retries.
		e.Kind = platform.AuthExpired
	case s == http.StatusForbidden && strings.Contains(strings.ToLower(body.Error.Message), "not registered in the developer dashboard"):
		e.Kind = platform.NotAllowed
	case s == http.StatusNotFound:
		e.Kind = platform.NotFound
	case s == http.StatusTooManyRequests:
		// QUOTA_EXCEEDED is a 429 too; its reason is kept in Message.
		e.Kind = platform.RateLimited
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
	case s >= 500:
		e.Kind = platform.Transient
	default:
		// 400, other 403s (missing scope), 405, ...: retrying cannot help.
		e.Kind = platform.Permanent
	}
	return e
}

// retryAfter reads Retry-After (seconds or an HTTP date); missing or
// unreadable means 1 s, as Spotify documents seconds and always sends it.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Second
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 1 {
			return time.Second
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > time.Second {
			return d.Round(time.Second)
		}
	}
	return time.Second
}

// ---- catalog ----

// appAccessToken returns the cached client-credentials token, fetching a new
// one when there is none or it expires within appTokenMargin. Concurrent
// callers share one fetch.
func (c *Client) appAccessToken(ctx context.Context) (string, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", &platform.Error{Platform: Key, Kind: platform.Transient, Err: fmt.Errorf("spotify: app token: %w", ctx.Err())}
	}
	defer func() { <-c.sem }()
	if c.appToken != nil && (c.appToken.Expiry.IsZero() || c.now().Add(appTokenMargin).Before(c.appToken.Expiry)) {
		return c.appToken.AccessToken, nil
	}
	cc := clientcredentials.Config{
		ClientID:     c.cfg.ClientID,
		ClientSecret: c.cfg.ClientSecret,
		TokenURL:     c.cfg.AccountsURL + "/api/token",
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	// Token (not TokenSource) fetches without caching: the cache is ours so
	// that each fetch runs under the caller's context.
	tok, err := cc.Token(c.oauthCtx(ctx))
	if err != nil {
		return "", tokenError("client credentials", err)
	}
	c.appToken = tok
	return tok.AccessToken, nil
}

// dropAppToken forgets token if it is still the cached one (Spotify said 401).
func (c *Client) dropAppToken(token string) {
	c.sem <- struct{}{}
	if c.appToken != nil && c.appToken.AccessToken == token {
		c.appToken = nil
	}
	<-c.sem
}

// catalogGet is getJSON with the app token, retried once with a fresh token
// when Spotify rejects the cached one (it can be invalidated before expiry).
func (c *Client) catalogGet(ctx context.Context, path string, q url.Values, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.appAccessToken(ctx)
		if err != nil {
			return err
		}
		err = c.getJSON(ctx, tok, path, q, out)
		if attempt == 0 && platform.KindOf(err) == platform.AuthExpired {
			c.dropAppToken(tok)
			continue
		}
		return err
	}
}

type image struct {
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

type artist struct {
	Name string `json:"name"`
}

type album struct {
	ID           string            `json:"id"`
	URI          string            `json:"uri"`
	Name         string            `json:"name"`
	Artists      []artist          `json:"artists"`
	Images       []image           `json:"images"`
	ExternalIDs  map[string]string `json:"external_ids"`
	ExternalURLs map[string]string `json:"external_urls"`
}

type track struct {
	ID           string            `json:"id"`
	URI          string            `json:"uri"`
	Name         string            `json:"name"`
	Artists      []artist          `json:"artists"`
	Album        album             `json:"album"`
	ExternalIDs  map[string]string `json:"external_ids"`
	ExternalURLs map[string]string `json:"external_urls"`
}

// Lookup implements platform.Client with a client-credentials token.
func (c *Client) Lookup(ctx context.Context, src platform.Source) (platform.Release, error) {
	switch src.Kind {
	case "spotify_track":
		id, err := spotifyID(src.Value, "track")
		if err != nil {
			return platform.Release{}, err
		}
		var t track
		if err := c.catalogGet(ctx, "/v1/tracks/"+id, nil, &t); err != nil {
			return platform.Release{}, err
		}
		return trackRelease(t), nil
	case "spotify_album":
		id, err := spotifyID(src.Value, "album")
		if err != nil {
			return platform.Release{}, err
		}
		var a album
		if err := c.catalogGet(ctx, "/v1/albums/"+id, nil, &a); err != nil {
			return platform.Release{}, err
		}
		return albumRelease(a), nil
	case "isrc":
		code, err := catalogCode(src.Value)
		if err != nil {
			return platform.Release{}, err
		}
		var res struct {
			Tracks struct {
				Items []track `json:"items"`
			} `json:"tracks"`
		}
		q := url.Values{"q": {"isrc:" + code}, "type": {"track"}, "limit": {"1"}}
		if err := c.catalogGet(ctx, "/v1/search", q, &res); err != nil {
			return platform.Release{}, err
		}
		if len(res.Tracks.Items) == 0 {
			return platform.Release{}, notFound("no track with ISRC " + code)
		}
		r := trackRelease(res.Tracks.Items[0])
		if r.ISRC == "" {
			r.ISRC = code
		}
		return r, nil
	case "upc":
		code, err := catalogCode(src.Value)
		if err != nil {
			return platform.Release{}, err
		}
		var res struct {
			Albums struct {
				Items []album `json:"items"`
			} `json:"albums"`
		}
		q := url.Values{"q": {"upc:" + code}, "type": {"album"}, "limit": {"1"}}
		if err := c.catalogGet(ctx, "/v1/search", q, &res); err != nil {
			return platform.Release{}, err
		}
		if len(res.Albums.Items) == 0 {
			return platform.Release{}, notFound("no album with UPC " + code)
		}
		r := albumRelease(res.Albums.Items[0])
		// Search returns simplified albums without external_ids.
		if r.UPC == "" {
			r.UPC = code
		}
		return r, nil
	}
	return platform.Release{}, &platform.Error{Platform: Key, Kind: platform.Permanent,
		Message: fmt.Sprintf("unsupported source kind %q", src.Kind)}
}

func notFound(msg string) *platform.Error {
	return &platform.Error{Platform: Key, Kind: platform.NotFound, Message: msg}
}

// spotifyID accepts spotify:TYPE:ID or a bare ID and returns the ID, which
// must be base62 so it is safe in a URL path.
func spotifyID(v, typ string) (string, error) {
	id := v
	if strings.HasPrefix(v, "spotify:") {
		parts := strings.Split(v, ":")
		if len(parts) != 3 || parts[1] != typ {
			return "", &platform.Error{Platform: Key, Kind: platform.Permanent, Message: fmt.Sprintf("%q is not a spotify:%s: URI", v, typ)}
		}
		id = parts[2]
	}
	if id == "" || !isAlnum(id) {
		return "", &platform.Error{Platform: Key, Kind: platform.Permanent, Message: fmt.Sprintf("%q is not a Spotify %s id", v, typ)}
	}
	return id, nil
}

// catalogCode checks an ISRC or UPC before it goes into a search query.
func catalogCode(v string) (string, error) {
	code := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(v), "-", ""))
	if code == "" || !isAlnum(code) {
		return "", &platform.Error{Platform: Key, Kind: platform.Permanent, Message: fmt.Sprintf("%q is not an ISRC or UPC", v)}
	}
	return code, nil
}

func isAlnum(s string) bool {
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

func trackRelease(t track) platform.Release {
	return platform.Release{
		Items:      []string{uriOf(t.URI, "track", t.ID)},
		Kind:       "track",
		Name:       t.Name,
		Artist:     artistNames(t.Artists),
		ArtworkURL: largest(t.Album.Images),
		ISRC:       t.ExternalIDs["isrc"],
		URL:        t.ExternalURLs["spotify"],
	}
}

func albumRelease(a album) platform.Release {
	upc := a.ExternalIDs["upc"]
	if upc == "" {
		upc = a.ExternalIDs["ean"]
	}
	return platform.Release{
		Items:      []string{uriOf(a.URI, "album", a.ID)},
		Kind:       "album",
		Name:       a.Name,
		Artist:     artistNames(a.Artists),
		ArtworkURL: largest(a.Images),
		UPC:        upc,
		URL:        a.ExternalURLs["spotify"],
	}
}

func uriOf(uri, typ, id string) string {
	if uri != "" {
		return uri
	}
	return "spotify:" + typ + ":" + id
}

func artistNames(as []artist) string {
	names := make([]string, 0, len(as))
	for _, a := range as {
		names = append(names, a.Name)
	}
	return strings.Join(names, ", ")
}

// largest picks the widest image; Spotify lists widest first but does not promise it.
func largest(imgs []image) string {
	best := -1
	for i, im := range imgs {
		if best < 0 || im.Width*max(im.Height, 1) > imgs[best].Width*max(imgs[best].Height, 1) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return imgs[best].URL
}
