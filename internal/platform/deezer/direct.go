package deezer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dropday/dropday/internal/platform"
)

// Deezer's permissions (its word for scopes). offline_access makes the
// access token non-expiring: Deezer has no refresh tokens, so without it a
// pre-save could not be delivered weeks later.
const (
	PermBasic   = "basic_access"
	PermEmail   = "email"
	PermOffline = "offline_access"
	PermLibrary = "manage_library"
)

// Enabled tells whether direct pre-save is configured (an app id and secret).
func (c *Client) Enabled() bool { return c.cfg.AppID != "" && c.cfg.AppSecret != "" }

// Scopes implements platform.Client: basic_access (the profile's id),
// offline_access (a token that lasts until release day), manage_library
// (the save), and email only when the fan ticked "also email me".
func (c *Client) Scopes(withEmail bool) []string {
	s := []string{PermBasic, PermOffline, PermLibrary}
	if withEmail {
		s = append(s, PermEmail)
	}
	return s
}

// ConsentOrigin implements platform.Client: connect.deezer.com.
func (c *Client) ConsentOrigin() string {
	u, err := url.Parse(c.cfg.ConnectURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// AuthorizeURL implements platform.Client: Deezer's consent page. Deezer
// has no PKCE, so verifier is unused; the state (bound to the fan's browser
// by a cookie) is what ties the callback to this attempt.
func (c *Client) AuthorizeURL(state, _ string, scopes []string) string {
	q := url.Values{"app_id": {c.cfg.AppID}, "redirect_uri": {c.cfg.RedirectURL},
		"perms": {strings.Join(scopes, ",")}, "state": {state}}
	return c.cfg.ConnectURL + "/oauth/auth.php?" + q.Encode()
}

// Exchange implements platform.Client: GET /oauth/access_token.php with
// output=json. The answer is {"access_token","expires"} (expires 0 with
// offline_access); the form-encoded default (access_token=…&expires=0) is
// read too. Deezer has no refresh token: the access token itself is the
// credential dropday stores (Token.RefreshToken), and Refresh hands it back.
func (c *Client) Exchange(ctx context.Context, code, _ string) (platform.Token, error) {
	q := url.Values{"app_id": {c.cfg.AppID}, "secret": {c.cfg.AppSecret}, "code": {code}, "output": {"json"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.ConnectURL+"/oauth/access_token.php?"+q.Encode(), nil)
	if err != nil {
		return platform.Token{}, &platform.Error{Platform: Key, Kind: platform.Permanent, Err: fmt.Errorf("deezer: build token request")}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return platform.Token{}, &platform.Error{Platform: Key, Kind: platform.Transient, Err: transportError(http.MethodGet, "/oauth/access_token.php", err)}
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return platform.Token{}, &platform.Error{Platform: Key, Kind: platform.Transient, Err: transportError(http.MethodGet, "/oauth/access_token.php", err)}
	}
	if resp.StatusCode >= 500 {
		return platform.Token{}, &platform.Error{Platform: Key, Kind: platform.Transient, Status: resp.StatusCode}
	}
	if resp.StatusCode/100 != 2 {
		return platform.Token{}, &platform.Error{Platform: Key, Kind: platform.Permanent, Status: resp.StatusCode, Message: "Deezer refused the sign-in code"}
	}
	tok, expires, ae := parseToken(body)
	if ae != nil {
		return platform.Token{}, c.deezerError(*ae, "")
	}
	if tok == "" {
		// Deezer answers a bad or used code with a bare "wrong code" text; the
		// body is never quoted, as it might hold a token.
		return platform.Token{}, &platform.Error{Platform: Key, Kind: platform.Permanent, Status: resp.StatusCode, Message: "Deezer refused the sign-in code"}
	}
	t := platform.Token{AccessToken: tok, RefreshToken: tok}
	if expires > 0 {
		// Without offline_access the token dies in an hour; delivery then
		// gets code 300 and asks the fan to pre-save again.
		t.Expiry = c.cfg.Now().Add(time.Duration(expires) * time.Second)
	}
	return t, nil
}

// parseToken reads a JSON ({"access_token","expires"} or an error object)
// or form-encoded token answer.
func parseToken(body []byte) (token string, expires int64, ae *apiErr) {
	b := strings.TrimSpace(string(body))
	if strings.HasPrefix(b, "{") {
		var v struct {
			AccessToken string          `json:"access_token"`
			Expires     json.RawMessage `json:"expires"`
			Error       *apiErr         `json:"error"`
		}
		if json.Unmarshal([]byte(b), &v) != nil {
			return "", 0, nil
		}
		if v.Error != nil {
			return "", 0, v.Error
		}
		// expires comes as a number or a string depending on the answer's age.
		n, _ := strconv.ParseInt(strings.Trim(string(v.Expires), `"`), 10, 64)
		return v.AccessToken, n, nil
	}
	f, err := url.ParseQuery(b)
	if err != nil {
		return "", 0, nil
	}
	n, _ := strconv.ParseInt(f.Get("expires"), 10, 64)
	return f.Get("access_token"), n, nil
}

// Refresh implements platform.Client. Deezer has no refresh grant: an
// offline_access token does not expire, so the stored token is returned as
// it is (no call). A token Deezer no longer honours shows up at Save as
// code 300, which asks the fan to pre-save again.
func (c *Client) Refresh(_ context.Context, refreshToken string) (platform.Token, error) {
	if refreshToken == "" {
		return platform.Token{}, &platform.Error{Platform: Key, Kind: platform.AuthExpired, Message: "no stored Deezer token"}
	}
	return platform.Token{AccessToken: refreshToken, RefreshToken: refreshToken}, nil
}

// Profile implements platform.Client: GET /user/me.
func (c *Client) Profile(ctx context.Context, accessToken string) (platform.Profile, error) {
	var me struct {
		Error *apiErr `json:"error"`
		// id is a number on Deezer.
		ID    json.Number `json:"id"`
		Name  string      `json:"name"`
		Email string      `json:"email"`
	}
	if err := c.call(ctx, http.MethodGet, "/user/me", url.Values{"access_token": {accessToken}}, &me); err != nil {
		return platform.Profile{}, err
	}
	if me.Error != nil {
		return platform.Profile{}, c.deezerError(*me.Error, "no such user")
	}
	if me.ID.String() == "" || me.ID.String() == "0" {
		return platform.Profile{}, &platform.Error{Platform: Key, Kind: platform.Transient, Status: http.StatusOK, Message: "profile without an id"}
	}
	return platform.Profile{ID: me.ID.String(), DisplayName: me.Name, Email: me.Email}, nil
}

// Save implements platform.Client: one POST per item (Deezer saves one at a
// time), /user/me/albums?album_id= for album:ID and /user/me/tracks?track_id=
// for track:ID. It stops at the first failure; saving again is harmless.
func (c *Client) Save(ctx context.Context, accessToken string, items []string) error {
	for _, it := range items {
		kind, id, _ := strings.Cut(it, ":")
		if _, err := strconv.ParseInt(id, 10, 64); err != nil || (kind != "album" && kind != "track") {
			return &platform.Error{Platform: Key, Kind: platform.Permanent, Message: fmt.Sprintf("not a Deezer item: %q", it)}
		}
		q := url.Values{kind + "_id": {id}, "access_token": {accessToken}}
		var raw json.RawMessage
		if err := c.call(ctx, http.MethodPost, "/user/me/"+kind+"s", q, &raw); err != nil {
			return err
		}
		if strings.TrimSpace(string(raw)) == "true" {
			continue
		}
		var o struct {
			Error *apiErr `json:"error"`
		}
		if json.Unmarshal(raw, &o) == nil && o.Error != nil {
			return c.deezerError(*o.Error, "no "+kind+" "+id+" on Deezer")
		}
		return &platform.Error{Platform: Key, Kind: platform.Transient, Status: http.StatusOK, Message: "unexpected answer to a save"}
	}
	return nil
}
