package apple

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/dropday/dropday/internal/platform"
)

// DefaultMusicKitURL is where the landing page loads MusicKit JS from when a
// fan picks Apple Music.
const DefaultMusicKitURL = "https://js-cdn.music.apple.com/musickit/v3/musickit.js"

// The fan side (issue 7): MusicKit JS in the fan's browser authorizes and
// hands the page a Music User Token; the page posts it to dropday, which
// stores it sealed and, on release day, adds the release with it. Apple has
// no OAuth redirect, no code and no refresh token, so the OAuth-shaped
// methods of platform.Client are shaped around that.

var _ platform.Client = (*Client)(nil)

// Scopes implements platform.Client: MusicKit asks for no scopes (the
// authorization covers the library), and Apple never gives dropday the
// fan's email, so "also email me" is asked for on the confirmation page.
func (c *Client) Scopes(bool) []string { return nil }

// ConsentOrigin implements platform.Client: Apple's consent is a MusicKit
// popup, not a redirect after a form POST, so form-action needs nothing.
func (c *Client) ConsentOrigin() string { return "" }

// AuthorizeURL implements platform.Client. Apple has no consent URL a server
// can redirect to; the page calls MusicKit's authorize() instead.
func (c *Client) AuthorizeURL(string, string, []string) string { return "" }

// Exchange implements platform.Client: there is no code to exchange.
func (c *Client) Exchange(context.Context, string, string) (platform.Token, error) {
	return platform.Token{}, &platform.Error{Platform: Key, Kind: platform.Permanent,
		Message: "Apple Music has no authorization code; the page posts the Music User Token"}
}

// Refresh implements platform.Client: the stored credential is the Music
// User Token itself, which Apple neither refreshes nor rotates (when it
// stops working the fan must authorize again), so it is the access token.
func (c *Client) Refresh(_ context.Context, userToken string) (platform.Token, error) {
	if userToken == "" {
		return platform.Token{}, &platform.Error{Platform: Key, Kind: platform.AuthExpired, Message: "no Music User Token stored; the fan must authorize again"}
	}
	return platform.Token{AccessToken: userToken, RefreshToken: userToken}, nil
}

// Profile implements platform.Client. Apple gives no account id, name or
// email for a Music User Token; what it gives is the fan's storefront
// (GET /v1/me/storefront), read once at consent. The ID is left empty: the
// pre-add flow names the fan by a browser id (see presave.Flow.AcceptToken).
// A token Apple refuses here fails the consent at once.
func (c *Client) Profile(ctx context.Context, userToken string) (platform.Profile, error) {
	if userToken == "" {
		return platform.Profile{}, &platform.Error{Platform: Key, Kind: platform.AuthExpired, Message: "no Music User Token"}
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/me/storefront", nil, userToken)
	if err != nil {
		return platform.Profile{}, err
	}
	defer drain(resp)
	var body struct {
		Data []struct {
			ID         string `json:"id"`
			Attributes struct {
				Name string `json:"name"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return platform.Profile{}, &platform.Error{Platform: Key, Kind: platform.Transient, Status: resp.StatusCode,
			Err: fmt.Errorf("apple: decode storefront: %w", err)}
	}
	if len(body.Data) == 0 || !validStorefront(body.Data[0].ID) {
		return platform.Profile{}, &platform.Error{Platform: Key, Kind: platform.Permanent, Status: resp.StatusCode,
			Message: "Apple Music gave no storefront for the fan"}
	}
	return platform.Profile{Storefront: body.Data[0].ID}, nil
}

func validStorefront(sf string) bool {
	return len(sf) == 2 && sf[0] >= 'a' && sf[0] <= 'z' && sf[1] >= 'a' && sf[1] <= 'z'
}

// Save implements platform.Client: one POST /v1/me/library per call with
// ids[albums] and ids[songs]. Apple answers 202 and silently ignores ids it
// cannot add. When the fan's storefront (platform.StorefrontFrom(ctx)) is not
// the one the release was found in, the items are first checked there: an
// album missing from the fan's country would be "added" with a 202 and never
// appear, so that case is NotFound instead of a false "delivered".
func (c *Client) Save(ctx context.Context, userToken string, items []string) error {
	if userToken == "" {
		return &platform.Error{Platform: Key, Kind: platform.AuthExpired, Message: "no Music User Token; the fan must authorize again"}
	}
	ids := map[string][]string{}
	for _, it := range items {
		typ, id, ok := ParseItem(it)
		if !ok {
			return &platform.Error{Platform: Key, Kind: platform.Permanent, Message: fmt.Sprintf("not an Apple Music item: %q", it)}
		}
		ids[typ] = append(ids[typ], id)
	}
	if len(ids) == 0 {
		return &platform.Error{Platform: Key, Kind: platform.Permanent, Message: "nothing to add"}
	}
	if sf := platform.StorefrontFrom(ctx); sf != "" && sf != c.cfg.Storefront {
		if err := c.available(ctx, sf, ids); err != nil {
			return err
		}
	}
	q := url.Values{}
	for typ, v := range ids {
		q.Set("ids["+typ+"]", strings.Join(v, ","))
	}
	resp, err := c.do(ctx, http.MethodPost, "/v1/me/library", q, userToken)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// available checks that every item is in the catalog of storefront sf.
func (c *Client) available(ctx context.Context, sf string, ids map[string][]string) error {
	for typ, v := range ids {
		var res struct {
			Data []resource `json:"data"`
		}
		path := "/v1/catalog/" + url.PathEscape(sf) + "/" + typ
		if err := c.getJSON(ctx, path, url.Values{"ids": {strings.Join(v, ",")}}, &res); err != nil {
			return err
		}
		found := map[string]bool{}
		for _, r := range res.Data {
			if r.Attributes.PlayParams != nil {
				found[r.ID] = true
			}
		}
		for _, id := range v {
			if !found[id] {
				return &platform.Error{Platform: Key, Kind: platform.NotFound,
					Message: fmt.Sprintf("%s %s is not available in the fan's storefront (%s)", typ, id, sf)}
			}
		}
	}
	return nil
}

// MusicKitURL is the MusicKit JS the landing page loads when a fan picks Apple Music.
func (c *Client) MusicKitURL() string { return c.cfg.MusicKitURL }

// ScriptOrigins and ConnectOrigins are what the site's CSP must allow for
// MusicKit JS: its script's origin, and the Apple Music API it calls.
func (c *Client) ScriptOrigins() []string  { return []string{originOf(c.cfg.MusicKitURL)} }
func (c *Client) ConnectOrigins() []string { return []string{originOf(c.cfg.APIURL)} }

func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
