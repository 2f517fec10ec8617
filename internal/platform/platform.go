// Package platform is the one interface every streaming service's client
// implements (Spotify first; Apple Music, Deezer, TIDAL and YouTube Music
// later), and the errors the delivery worker sorts outcomes by.
package platform

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Token is what an OAuth exchange or refresh returns.
type Token struct {
	AccessToken string
	// RefreshToken is the token to store from now on. A client returns the old
	// one when the platform's refresh response omitted it, and the new one when
	// the platform rotated it.
	RefreshToken string
	Expiry       time.Time
	// Scope is what the fan actually granted (space-separated).
	Scope string
}

// Profile is the fan's account on the platform.
type Profile struct {
	ID          string
	DisplayName string
	// Email is empty when the scope was not granted or the platform gave none.
	Email string
	// Storefront is the fan's country catalog where the platform has one
	// (Apple Music: GET /v1/me/storefront), stored with the pre-save.
	Storefront string
}

// Source names a release the way the artist gave it (see models.Source*).
type Source struct {
	Kind  string // spotify_track, spotify_album, upc, isrc
	Value string // spotify:album:ID, the UPC digits, the ISRC
}

// Release is a release as found on one platform.
type Release struct {
	// Items are what Save takes for this release (Spotify: URIs like spotify:album:ID).
	Items      []string
	Kind       string // "track" or "album"
	Name       string
	Artist     string
	ArtworkURL string
	ISRC, UPC  string
	// URL opens the release on the platform (the smart link's "listen" button).
	URL string
}

// Catalog finds a release on one streaming service. A platform can have a
// catalog without direct pre-save (Deezer's look-up needs no fan, Apple's only
// a developer token): release resolution uses every configured Catalog.
type Catalog interface {
	// Key is the platform's key in models.Platforms ("spotify").
	Key() string
	// Lookup finds the release on this platform (ErrNotFound when it is not live yet).
	Lookup(ctx context.Context, src Source) (Release, error)
}

// Client is one streaming service with direct pre-save. Implementations take
// their base URLs and *http.Client from config, so tests and the demo point
// them at stand-ins.
type Client interface {
	Catalog
	// Scopes are what the consent asks for: the minimum to save, plus what
	// reads the fan's email when withEmail (the "also email me" box).
	Scopes(withEmail bool) []string
	// ConsentOrigin is the scheme://host of the consent page, which the
	// site's CSP form-action must allow (the pre-save POST redirects there).
	ConsentOrigin() string
	// AuthorizeURL is where the fan's browser goes to consent. verifier is the
	// PKCE code verifier (the client sends its S256 challenge).
	AuthorizeURL(state, verifier string, scopes []string) string
	// Exchange trades the callback's code for tokens.
	Exchange(ctx context.Context, code, verifier string) (Token, error)
	// Refresh gets a fresh access token (and maybe a rotated refresh token).
	Refresh(ctx context.Context, refreshToken string) (Token, error)
	// Profile reads the fan's account.
	Profile(ctx context.Context, accessToken string) (Profile, error)
	// Save puts the items into the fan's library, in as few calls as the API allows.
	Save(ctx context.Context, accessToken string, items []string) error
}

// Kind sorts failures into what the worker does next.
type Kind int

const (
	// Transient: 5xx, timeouts, resets — retry with backoff.
	Transient Kind = iota + 1
	// RateLimited: 429 — wait RetryAfter without spending an attempt.
	RateLimited
	// Revoked: the fan withdrew dropday's access (invalid_grant "revoked").
	Revoked
	// AuthExpired: the grant ran out (Spotify: 6 months after consent) — the fan must consent again.
	AuthExpired
	// NotAllowed: the account may not use this app (Spotify development mode, 403).
	NotAllowed
	// NotFound: the release (or item) does not exist on the platform (yet).
	NotFound
	// Permanent: any other error that retrying cannot fix (bad request, bad client credentials).
	Permanent
)

func (k Kind) String() string {
	switch k {
	case Transient:
		return "transient"
	case RateLimited:
		return "rate limited"
	case Revoked:
		return "revoked"
	case AuthExpired:
		return "authorization expired"
	case NotAllowed:
		return "not allowed"
	case NotFound:
		return "not found"
	case Permanent:
		return "permanent"
	}
	return "unknown"
}

// Error is every failure a Client returns for a platform answer (or no answer).
type Error struct {
	Platform string
	Kind     Kind
	// Status is the HTTP status (0 when there was no response).
	Status int
	// RetryAfter is set for RateLimited (from Retry-After, default 1 s).
	RetryAfter time.Duration
	// Message is the platform's own message, safe to show an artist (never a token).
	Message string
	Err     error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s", e.Platform, e.Kind)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, platform.ErrRevoked) and friends match by kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Platform == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is.
var (
	ErrTransient   = &Error{Kind: Transient}
	ErrRateLimited = &Error{Kind: RateLimited}
	ErrRevoked     = &Error{Kind: Revoked}
	ErrAuthExpired = &Error{Kind: AuthExpired}
	ErrNotAllowed  = &Error{Kind: NotAllowed}
	ErrNotFound    = &Error{Kind: NotFound}
	ErrPermanent   = &Error{Kind: Permanent}
)

// KindOf returns the kind of err, Transient for errors that are not *Error
// (a network failure is worth retrying).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Transient
}

// OpError names a failed operation and hides the wrapped error's text: an
// oauth2 or transport error can quote a URL or body holding a secret. The
// cause stays reachable through errors.Is/As.
type OpError struct {
	Op  string
	Err error
}

func (e OpError) Error() string { return e.Op }
func (e OpError) Unwrap() error { return e.Err }
