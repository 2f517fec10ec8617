// Package registry builds the streaming-service clients the operator configured.
package registry

import (
	"net/http"
	"time"

	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/platform/apple"
	"github.com/dropday/dropday/internal/platform/deezer"
	"github.com/dropday/dropday/internal/platform/spotify"
	"github.com/dropday/dropday/internal/platform/tidal"
	"github.com/dropday/dropday/internal/platform/youtube"
)

// CallbackPath is where a platform's consent screen sends the fan back.
func CallbackPath(key string) string { return "/oauth/" + key + "/callback" }

// HTTPClient is the client platform calls use: bounded, so a hung platform
// cannot hold a fan's request or a worker forever. Every worker talks to the
// same few hosts, so their connections are kept (net/http keeps 2 per host by
// default: hundreds of workers would reconnect on every call).
func HTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 512
	return &http.Client{Timeout: 20 * time.Second, Transport: t}
}

// New returns a client per configured platform, keyed by platform key; now
// is the clock the clients date their tokens by (Apple's developer token,
// TIDAL's app token): tests pass their injected clock. A platform without
// credentials is absent: its pages use email signup.
func New(cfg *config.Config, hc *http.Client, now func() time.Time) map[string]platform.Client {
	out := map[string]platform.Client{}
	if cfg.Apple.Enabled() {
		// Configured Apple Music is direct: the fan pre-adds with MusicKit JS.
		out[apple.Key] = newApple(cfg, hc, now)
	}
	if cfg.Spotify.Enabled() {
		out[spotify.Key] = spotify.New(spotify.Config{
			ClientID:     cfg.Spotify.ClientID,
			ClientSecret: cfg.Spotify.ClientSecret,
			RedirectURL:  cfg.URL(CallbackPath(spotify.Key)),
			AccountsURL:  cfg.Spotify.AccountsURL,
			APIURL:       cfg.Spotify.APIURL,
			HTTPClient:   hc,
		})
	}
	if cfg.YouTube.Enabled() {
		out[youtube.Key] = youtube.New(youtube.Config{
			ClientID:     cfg.YouTube.ClientID,
			ClientSecret: cfg.YouTube.ClientSecret,
			RedirectURL:  cfg.URL(CallbackPath(youtube.Key)),
			AuthURL:      cfg.YouTube.AuthURL,
			TokenURL:     cfg.YouTube.TokenURL,
			APIURL:       cfg.YouTube.APIURL,
			HTTPClient:   hc,
		})
	}
	if cfg.Tidal.Enabled() {
		// One TIDAL app does both: catalog look-ups (client credentials) and
		// the fans' consent (authorization code with PKCE).
		out[tidal.Key] = tidal.New(tidal.Config{
			ClientID:     cfg.Tidal.ClientID,
			ClientSecret: cfg.Tidal.ClientSecret,
			AuthURL:      cfg.Tidal.AuthURL,
			APIURL:       cfg.Tidal.APIURL,
			LoginURL:     cfg.Tidal.LoginURL,
			RedirectURL:  cfg.URL(CallbackPath(tidal.Key)),
			Country:      cfg.Tidal.Country,
			HTTPClient:   hc,
			Now:          now,
		})
	}
	if cfg.Deezer.Enabled() {
		// Direct pre-save; its look-ups work as the catalog's do.
		out[deezer.Key] = deezer.New(deezer.Config{
			AppID:       cfg.Deezer.AppID,
			AppSecret:   cfg.Deezer.AppSecret,
			RedirectURL: cfg.URL(CallbackPath(deezer.Key)),
			ConnectURL:  cfg.Deezer.ConnectURL,
			APIURL:      cfg.Deezer.APIURL,
			HTTPClient:  hc,
			Now:         now,
		})
	}
	return out
}

// Catalogs returns every configured catalog look-up, keyed by platform key:
// the direct-save clients New built (Apple Music and TIDAL are direct
// whenever configured), plus Deezer's look-up, which needs no app and is on
// unless switched off.
func Catalogs(cfg *config.Config, clients map[string]platform.Client, hc *http.Client, now func() time.Time) map[string]platform.Catalog {
	out := map[string]platform.Catalog{}
	if cfg.Deezer.Catalog {
		out[deezer.Key] = deezer.New(deezer.Config{APIURL: cfg.Deezer.APIURL, HTTPClient: hc, Now: now})
	}
	for k, c := range clients {
		// A client without a look-up by code (YouTube) is not a catalog.
		if nc, ok := c.(interface{ NoCatalog() bool }); ok && nc.NoCatalog() {
			continue
		}
		out[k] = c
	}
	return out
}

func newApple(cfg *config.Config, hc *http.Client, now func() time.Time) *apple.Client {
	return apple.New(apple.Config{
		TeamID:      cfg.Apple.TeamID,
		KeyID:       cfg.Apple.KeyID,
		PrivateKey:  cfg.Apple.PrivateKey,
		Origin:      cfg.Origin(),
		APIURL:      cfg.Apple.APIURL,
		Storefront:  cfg.Apple.Storefront,
		MusicKitURL: cfg.Apple.MusicKitURL,
		HTTPClient:  hc,
		Now:         now,
	})
}
