package main

import (
	"context"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/demo"
	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/platform/registry"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
)

// The demo's catalog stand-ins are running and configured: through the
// look-ups dropday builds from that config (real HTTP, signed developer
// token), the demo release is on Spotify (by its source URI and ISRC), Deezer and TIDAL from its release
// time and on Apple Music only AppleDelay later.
func TestDemoCatalogStandIns(t *testing.T) {
	cfg, err := config.Load(envOf(map[string]string{"DROPDAY_BASE_URL": "http://127.0.0.1:9999"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, stop, err := startCatalogStandIns(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	s.Spotify = spotifytest.New(spotifytest.Options{})
	defer s.Spotify.Close()
	// Released a minute ago: Apple Music lists it two minutes from now.
	demo.ListRelease(s, time.Now().Add(-time.Minute))

	cfg.Spotify = config.Spotify{ClientID: s.Spotify.ClientID(), ClientSecret: s.Spotify.ClientSecret(), AccountsURL: s.Spotify.URL, APIURL: s.Spotify.URL}
	hc := registry.HTTPClient()
	cats := registry.Catalogs(cfg, registry.New(cfg, hc, time.Now), hc, time.Now)
	if len(cats) != 4 {
		t.Fatalf("catalogs = %v, want Spotify, Apple Music, Deezer and TIDAL", cats)
	}
	src := platform.Source{Kind: "isrc", Value: demo.ISRC}
	for key, c := range cats {
		r, err := c.Lookup(context.Background(), src)
		if key == "apple_music" {
			if platform.KindOf(err) != platform.NotFound {
				t.Errorf("apple_music before its delay: %+v %v", r, err)
			}
			continue
		}
		if err != nil || r.Name != "Night Drive" || r.Artist != "Mara Lune" || r.URL == "" {
			t.Errorf("%s: %+v %v", key, r, err)
		}
	}
	if r, err := cats["spotify"].Lookup(context.Background(), platform.Source{Kind: "spotify_track", Value: "spotify:track:" + demo.SpotifyTrackID}); err != nil ||
		r.URL != s.Spotify.ListenURL("track", demo.SpotifyTrackID) {
		t.Errorf("spotify by URI: %+v %v", r, err)
	}
	// Apple Music's turn: move its clock past the delay.
	s.Apple.SetClock(func() time.Time { return time.Now().Add(demo.AppleDelay) })
	if r, err := cats["apple_music"].Lookup(context.Background(), src); err != nil || r.Name != "Night Drive" {
		t.Fatalf("apple_music after its delay: %+v %v", r, err)
	}
}
