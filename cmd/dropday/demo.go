package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/dropday/dropday/handlers"
	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/demo"
	"github.com/dropday/dropday/internal/platform/apple/appletest"
	"github.com/dropday/dropday/internal/platform/deezer/deezertest"
	"github.com/dropday/dropday/internal/platform/registry"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/platform/tidal/tidaltest"
)

// demoCmd runs dropday against local platform stand-ins, with its own data
// under DATA_DIR/demo, a seeded workspace and a link releasing in minutes.
func demoCmd(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	releaseIn := fs.Duration("release-in", demo.ReleaseIn, "how far ahead the demo link releases (e.g. 2m to watch it turn into a smart link soon)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *releaseIn < 0 {
		return fmt.Errorf("demo: -release-in must not be negative")
	}
	cfg.Demo = true
	cfg.DataDir = filepath.Join(cfg.DataDir, "demo")
	cfg.DatabaseURL = "sqlite://" + filepath.Join(cfg.DataDir, "dropday.db")
	// The demo's fans are made up: their emails stay in the Outbox whatever
	// driver the environment names, so the demo can never mail anyone.
	cfg.Mail.Driver = "outbox"
	// Look for the release every minute for half an hour, so the platform the
	// stand-ins list late shows on the smart link within the demo's time.
	cfg.ResolveInterval, cfg.ResolveWindow = time.Minute, 30*time.Minute

	// The Spotify stand-in, on its own loopback port, with a consent page and a few fake fans.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: start the Spotify stand-in: %w", err)
	}
	sp := spotifytest.NewHandler(spotifytest.Options{
		RedirectURL: cfg.URL(registry.CallbackPath("spotify")),
		ConsentPage: true,
		Users: []spotifytest.User{
			{ID: "alex", DisplayName: "Alex (shares email)", Email: "alex@example.com"},
			{ID: "sam", DisplayName: "Sam (shares email)", Email: "sam@example.com"},
		},
	})
	sp.URL = "http://" + ln.Addr().String()
	spSrv := &http.Server{Handler: sp, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = spSrv.Serve(ln) }()
	defer spSrv.Close()
	cfg.Spotify = config.Spotify{ClientID: sp.ClientID(), ClientSecret: sp.ClientSecret(), AccountsURL: sp.URL, APIURL: sp.URL}
	catalogs, stop, err := startCatalogStandIns(cfg)
	if err != nil {
		return err
	}
	defer stop()
	catalogs.Spotify = sp
	yt, stopYT, err := startYouTubeStandIn(cfg)
	if err != nil {
		return err
	}
	defer stopYT()

	seed := func(ctx context.Context, d handlers.Deps) error {
		s, err := demo.Seed(ctx, d.DB, d.Hasher, d.Artwork, time.Now(), *releaseIn)
		if err != nil {
			return fmt.Errorf("demo: seed: %w", err)
		}
		demo.ListRelease(catalogs, s.ReleaseAt)
		if err := demo.ListYouTube(ctx, d.DB, yt); err != nil {
			return fmt.Errorf("demo: YouTube Music: %w", err)
		}
		fmt.Fprintf(stdout, `
  dropday demo — everything runs on this machine; Spotify, Apple Music, Deezer,
  TIDAL and YouTube Music are local stand-ins (Apple Music lists the release %d
  minutes late).

  Fan page     %s
               (releases at %s, in %s: pre-save on Spotify, Apple Music, Deezer, TIDAL or YouTube Music, or leave an email)
  Admin panel  %s
               email %s   password %s
  Email        the release-day email goes to everyone who signed up, at the release;
               it stays in the admin panel's Outbox (%s): nothing leaves this machine
  Data         %s (delete it to start over)

`, int(demo.AppleDelay.Minutes()), cfg.URL("/"+s.Slug), s.ReleaseAt.Local().Format("15:04:05"), releaseIn.String(),
			cfg.URL("/login"), s.Email, s.Password, cfg.URL("/admin/outbox"), cfg.DataDir)
		return nil
	}
	return serve(ctx, cfg, log, seed)
}

// startCatalogStandIns starts the Apple Music, Deezer and TIDAL stand-ins,
// each on its own loopback port, and points cfg's catalog look-ups at them.
func startCatalogStandIns(cfg *config.Config) (demo.StandIns, func(), error) {
	var stops []func()
	stop := func() {
		for _, f := range stops {
			f()
		}
	}
	listen := func(h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("demo: start a catalog stand-in: %w", err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		stops = append(stops, func() { _ = srv.Close() })
		return "http://" + ln.Addr().String(), nil
	}
	// Deezer and TIDAL pre-save directly: a consent page with a few fake fans each.
	dz := deezertest.NewHandler(deezertest.Options{RedirectURL: cfg.URL(registry.CallbackPath("deezer")), ConsentPage: true,
		Users: []deezertest.User{{ID: 501, Name: "Robin (shares email)", Email: "robin.dz@example.com"}, {ID: 502, Name: "Kim", Email: "kim.dz@example.com"}}})
	s := demo.StandIns{Apple: appletest.NewHandler(appletest.Options{}), Deezer: dz,
		Tidal: tidaltest.NewHandler(tidaltest.Options{RedirectURL: cfg.URL(registry.CallbackPath("tidal")), ConsentPage: true,
			Users: []tidaltest.User{
				{ID: "190211", Username: "Robin (shares email)", Email: "robin@example.com"},
				{ID: "190212", Username: "Kim", Email: "kim@example.com"},
			}})}
	var err error
	if s.Apple.URL, err = listen(s.Apple); err != nil {
		stop()
		return s, nil, err
	}
	if s.Deezer.URL, err = listen(s.Deezer); err != nil {
		stop()
		return s, nil, err
	}
	if s.Tidal.URL, err = listen(s.Tidal); err != nil {
		stop()
		return s, nil, err
	}
	key, err := config.ParseAppleKey(s.Apple.PrivateKeyPEM())
	if err != nil {
		stop()
		return s, nil, fmt.Errorf("demo: the Apple Music stand-in's key: %w", err)
	}
	// Apple Music is direct in the demo: the stand-in serves a fake MusicKit
	// JS whose consent popup offers these subscribers.
	cfg.Apple = config.Apple{TeamID: s.Apple.TeamID(), KeyID: s.Apple.KeyID(), PrivateKey: key, APIURL: s.Apple.URL, Storefront: "us",
		MusicKitURL: s.Apple.URL + "/musickit/v3/musickit.js", Rate: cfg.Apple.Rate}
	s.Apple.AddUser(appletest.User{Name: "robin", Storefront: "us"})
	s.Apple.AddUser(appletest.User{Name: "kim", Storefront: "gb"})
	cfg.Deezer = config.Deezer{APIURL: s.Deezer.URL, Catalog: true, AppID: s.Deezer.AppID(), AppSecret: s.Deezer.AppSecret(),
		ConnectURL: s.Deezer.URL, Rate: cfg.Deezer.Rate}
	cfg.Tidal = config.Tidal{ClientID: s.Tidal.ClientID(), ClientSecret: s.Tidal.ClientSecret(), AuthURL: s.Tidal.URL, APIURL: s.Tidal.URL,
		LoginURL: s.Tidal.URL, Country: "US", Rate: cfg.Tidal.Rate}
	return s, stop, nil
}
