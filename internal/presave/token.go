package presave

import (
	"context"
	"fmt"

	"github.com/dropday/dropday/internal/platform"
)

// PageAuthorized is a direct platform whose consent runs in the fan's page
// (Apple Music's MusicKit JS), which then posts the fan's token to dropday,
// instead of an OAuth redirect. Start still issues the one-time state the
// post must carry.
type PageAuthorized interface {
	platform.Client
	// DeveloperToken is the app's token the page's SDK is configured with
	// (public by design; bound to our site's origin).
	DeveloperToken() (string, error)
	// MusicKitURL is the SDK script the page loads.
	MusicKitURL() string
}

// MaxUserToken bounds the token a page may post (Apple's are a few hundred bytes).
const MaxUserToken = 4096

// TokenGrant is what the page posted after the platform's SDK authorized.
type TokenGrant struct {
	Platform    string
	CookieState string // from the browser's cookie, set by Start's answer
	FormState   string // posted by the page
	UserToken   string // the Music User Token
	// BrowserID names the fan when the platform has no account id (Apple
	// gives none): a random id kept in a first-party cookie.
	BrowserID string
	IP        string
	UserAgent string
}

// PageClient returns the platform's client when its consent runs in the page.
func (f *Flow) PageClient(platformKey string) (PageAuthorized, bool) {
	if f == nil {
		return nil, false
	}
	c, ok := f.Clients[platformKey].(PageAuthorized)
	return c, ok
}

// AcceptToken is Complete for a page-authorized platform: it checks and
// spends the state, checks the token with the platform (reading the fan's
// storefront once), and stores the pre-save with the token sealed and the
// same consent record as an OAuth pre-save.
func (f *Flow) AcceptToken(ctx context.Context, g TokenGrant) (Result, error) {
	st, l, err := f.takeState(ctx, g.Platform, g.CookieState, g.FormState)
	if err != nil {
		return Result{}, err
	}
	c, ok := f.PageClient(g.Platform)
	if !ok || !Open(l) {
		return Result{Link: l}, ErrUnavailable
	}
	if g.UserToken == "" || len(g.UserToken) > MaxUserToken {
		return Result{Link: l}, ErrBadState
	}
	prof, err := c.Profile(ctx, g.UserToken)
	if err != nil {
		return Result{Link: l}, fmt.Errorf("presave: profile: %w", err)
	}
	if prof.ID == "" {
		if g.BrowserID == "" {
			return Result{Link: l}, ErrBadState
		}
		prof.ID = "browser:" + g.BrowserID
	}
	return f.record(ctx, st, l, prof, g.UserToken, grantedScope("", c.Scopes(st.EmailOptIn)), g.IP, g.UserAgent)
}
