package tidal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/dropday/dropday/internal/platform"
)

// Scopes dropday asks a fan for (PLATFORMS.md §4: the third-party scopes).
const (
	ScopeCollectionWrite = "collection.write"
	// ScopeUserRead reads /v2/users/me: the account id a pre-save is keyed
	// by, so it is always asked for (it also carries the email).
	ScopeUserRead = "user.read"
)

// MaxSaveItems is how many items one collection POST takes.
const MaxSaveItems = 50

// maxIdempotencyKey is TIDAL's limit on the Idempotency-Key header.
const maxIdempotencyKey = 128

// Scopes implements platform.Client: saving needs collection.write; the
// account id (and the email, which TIDAL gives with it) needs user.read.
// There is no narrower scope for the id, so withEmail changes nothing: the
// pre-save flow keeps the email only when the fan ticked the box.
func (c *Client) Scopes(withEmail bool) []string {
	return []string{ScopeCollectionWrite, ScopeUserRead}
}

// ConsentOrigin implements platform.Client: the login service.
func (c *Client) ConsentOrigin() string {
	u, err := url.Parse(c.cfg.LoginURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (c *Client) userOAuth(scopes []string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.cfg.ClientID,
		ClientSecret: c.cfg.ClientSecret,
		RedirectURL:  c.cfg.RedirectURL,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:  c.cfg.LoginURL + "/authorize",
			TokenURL: c.cfg.AuthURL + "/v1/oauth2/token",
			// TIDAL's own SDK sends client_id (and client_secret when it
			// has one) in the form; pinning it saves x/oauth2's probe.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// AuthorizeURL implements platform.Client: TIDAL's login page with the S256
// challenge of verifier (OAuth 2.1 requires PKCE).
func (c *Client) AuthorizeURL(state, verifier string, scopes []string) string {
	return c.userOAuth(scopes).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// Exchange implements platform.Client.
func (c *Client) Exchange(ctx context.Context, code, verifier string) (platform.Token, error) {
	tok, err := c.userOAuth(nil).Exchange(context.WithValue(ctx, oauth2.HTTPClient, c.hc), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return platform.Token{}, c.userTokenError("exchange code", err, false)
	}
	return userToken(tok, ""), nil
}

// Refresh implements platform.Client. TIDAL's refresh answer normally has
// no refresh_token (keep the old one); when it has one, it replaces the old.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (platform.Token, error) {
	src := c.userOAuth(nil).TokenSource(context.WithValue(ctx, oauth2.HTTPClient, c.hc), &oauth2.Token{RefreshToken: refreshToken})
	tok, err := src.Token()
	if err != nil {
		return platform.Token{}, c.userTokenError("refresh token", err, true)
	}
	return userToken(tok, refreshToken), nil
}

func userToken(tok *oauth2.Token, oldRefresh string) platform.Token {
	t := platform.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry}
	if t.RefreshToken == "" {
		t.RefreshToken = oldRefresh
	}
	if s, ok := tok.Extra("scope").(string); ok {
		t.Scope = s
	}
	return t
}

// userTokenError sorts a failure of the fan's token requests. invalid_grant
// on a refresh means the grant is gone (the fan removed dropday in TIDAL's
// settings, or TIDAL ended it): Revoked. On a code exchange it is a used,
// expired or mismatched code. The message holds TIDAL's code and description
// only, never the form (code, verifier, tokens, secret).
func (c *Client) userTokenError(op string, err error, refresh bool) *platform.Error {
	e := c.tokenError(err)
	e.Err = platform.OpError{Op: op, Err: err}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		e.Err = fmt.Errorf("%s: %w", op, err)
		return e
	}
	if re.ErrorCode == "invalid_grant" {
		if refresh {
			e.Kind = platform.Revoked
		} else {
			e.Kind = platform.AuthExpired
		}
	}
	return e
}

// Profile implements platform.Client: GET /v2/users/me.
func (c *Client) Profile(ctx context.Context, accessToken string) (platform.Profile, error) {
	resp, err := c.userDo(ctx, http.MethodGet, "/users/me", accessToken, nil, "")
	if err != nil {
		return platform.Profile{}, err
	}
	defer drain(resp)
	if resp.StatusCode/100 != 2 {
		return platform.Profile{}, c.userAPIError(resp)
	}
	var doc struct {
		Data struct {
			ID         string `json:"id"`
			Attributes struct {
				Username  string `json:"username"`
				FirstName string `json:"firstName"`
				Email     string `json:"email"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return platform.Profile{}, &platform.Error{Platform: Key, Kind: platform.Transient, Status: resp.StatusCode,
			Err: fmt.Errorf("tidal: decode /users/me: %w", err)}
	}
	if doc.Data.ID == "" {
		return platform.Profile{}, &platform.Error{Platform: Key, Kind: platform.Transient, Status: resp.StatusCode, Message: "profile without an id"}
	}
	name := doc.Data.Attributes.Username
	if name == "" {
		name = doc.Data.Attributes.FirstName
	}
	return platform.Profile{ID: doc.Data.ID, DisplayName: name, Email: doc.Data.Attributes.Email}, nil
}

// Save implements platform.Client: POST /v2/userCollection{Albums,Tracks}/me/relationships/items
// with a JSON:API body, at most MaxSaveItems per call. Each call carries an
// Idempotency-Key derived from the delivery (platform.SaveID) and its items,
// so a retry after a crash replays TIDAL's first answer. An item already in
// the collection (409 DUPLICATE_ITEMS_IN_COLLECTION) counts as saved.
func (c *Client) Save(ctx context.Context, accessToken string, items []string) error {
	byType := map[string][]string{}
	var order []string
	for _, it := range items {
		typ, id, ok := strings.Cut(it, ":")
		if !ok || (typ != ItemAlbums && typ != ItemTracks) || id == "" || !digits(id) {
			return &platform.Error{Platform: Key, Kind: platform.Permanent, Message: fmt.Sprintf("%q is not a TIDAL albums:ID or tracks:ID item", it)}
		}
		if byType[typ] == nil {
			order = append(order, typ)
		}
		byType[typ] = append(byType[typ], id)
	}
	for _, typ := range order {
		ids := byType[typ]
		for start := 0; start < len(ids); start += MaxSaveItems {
			if err := c.saveChunk(ctx, accessToken, typ, ids[start:min(start+MaxSaveItems, len(ids))]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Client) saveChunk(ctx context.Context, accessToken, typ string, ids []string) error {
	err := c.post(ctx, accessToken, typ, ids)
	var pe *platform.Error
	if len(ids) > 1 && errors.As(err, &pe) && pe.Status == http.StatusConflict && strings.Contains(pe.Message, codeDuplicate) {
		// TIDAL does not say which items were in the collection already, nor
		// whether it added the others: add them one by one, where a
		// duplicate is a plain success.
		for _, id := range ids {
			if err := c.post(ctx, accessToken, typ, []string{id}); err != nil {
				return err
			}
		}
		return nil
	}
	return err
}

// 409 codes (PLATFORMS.md §4).
const (
	codeDuplicate  = "DUPLICATE_ITEMS_IN_COLLECTION"
	codeTooMany    = "TOO_MANY_ITEMS_IN_COLLECTION"
	codeInProgress = "IDEMPOTENT_REQUEST_IN_PROGRESS"
)

func (c *Client) post(ctx context.Context, accessToken, typ string, ids []string) error {
	path := "/userCollectionAlbums/me/relationships/items"
	if typ == ItemTracks {
		path = "/userCollectionTracks/me/relationships/items"
	}
	type item struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	body := struct {
		Data []item `json:"data"`
	}{}
	for _, id := range ids {
		body.Data = append(body.Data, item{ID: id, Type: typ})
	}
	b, _ := json.Marshal(body)
	resp, err := c.userDo(ctx, http.MethodPost, path, accessToken, b, idempotencyKey(platform.SaveID(ctx), typ, ids))
	if err != nil {
		return err
	}
	defer drain(resp)
	if resp.StatusCode/100 == 2 {
		return nil
	}
	e := c.userAPIError(resp)
	if e.Status == http.StatusConflict {
		switch {
		case strings.Contains(e.Message, codeDuplicate) && len(ids) == 1:
			return nil // in the collection already: the pre-save's goal is met
		case strings.Contains(e.Message, codeDuplicate):
			return e // saveChunk adds them one by one
		case strings.Contains(e.Message, codeInProgress):
			// The same delivery's earlier call is still running (a rescued
			// job): try again later, when its answer can be replayed.
			e.Kind = platform.Transient
		case strings.Contains(e.Message, codeTooMany):
			e.Kind, e.Message = platform.Permanent, "the fan's TIDAL collection is full ("+codeTooMany+")"
		}
	}
	return e
}

// idempotencyKey names one collection call of one delivery: the same
// delivery and items always give the same key (so a retry replays), another
// delivery or other items another. Without a delivery name there is no key
// (a repeated add is then a harmless 409 duplicate).
func idempotencyKey(saveID, typ string, ids []string) string {
	if saveID == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(typ + "\n" + strings.Join(ids, ",")))
	k := "dropday-" + saveID + "-" + hex.EncodeToString(sum[:12])
	if len(k) > maxIdempotencyKey {
		whole := sha256.Sum256([]byte(k))
		k = "dropday-" + hex.EncodeToString(whole[:24])
	}
	return k
}

// userDo sends one JSON:API request with the fan's access token. The caller owns resp.Body.
func (c *Client) userDo(ctx context.Context, method, path, accessToken string, body []byte, idemKey string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.APIURL+"/v2"+path, rd)
	if err != nil {
		return nil, &platform.Error{Platform: Key, Kind: platform.Permanent, Err: fmt.Errorf("tidal: build request: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", mediaType)
	if body != nil {
		req.Header.Set("Content-Type", mediaType)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error names the URL only: tokens travel in headers.
		return nil, &platform.Error{Platform: Key, Kind: platform.Transient, Err: err}
	}
	return resp, nil
}

// userAPIError is apiError for calls made with a fan's token: a 401 means
// their access token was refused (the deliverer refreshes once more, then
// the fan must consent again), not that the app is misconfigured.
func (c *Client) userAPIError(resp *http.Response) *platform.Error {
	e := c.apiError(resp)
	if resp.StatusCode == http.StatusUnauthorized {
		e.Kind = platform.AuthExpired
		e.Message = strings.TrimPrefix(e.Message, "app token refused; check DROPDAY_TIDAL_CLIENT_ID and DROPDAY_TIDAL_CLIENT_SECRET. ")
	}
	return e
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
