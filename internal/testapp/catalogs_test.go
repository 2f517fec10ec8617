package testapp

import (
	"context"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/platform/apple/appletest"
	"github.com/dropday/dropday/internal/platform/deezer/deezertest"
	"github.com/dropday/dropday/internal/platform/tidal/tidaltest"
)

// The catalog stand-ins are wired to the app's config and clock: a release
// visible from T+2h is NotFound on every catalog now and found after the
// clock moves, through the configured look-ups (real HTTP, signed tokens).
func TestCatalogStandInsFollowTheClock(t *testing.T) {
	a := New(t, Options{Apple: true, Deezer: true, Tidal: true})
	later := a.Clock.Now().Add(2 * time.Hour)
	a.Apple.AddAlbum(appletest.Album{ID: "1577502911", Name: "Night Drive", Artist: "Mara Lune", UPC: "123456789012"}, later)
	a.Deezer.AddAlbum(deezertest.Album{ID: 302127, Title: "Night Drive", Artist: "Mara Lune", UPC: "123456789012"}, later)
	a.Tidal.AddAlbum(tidaltest.Album{ID: "75413016", Title: "Night Drive", Artist: "Mara Lune", BarcodeID: "123456789012"}, later)
	if len(a.Catalogs) != 3 {
		t.Fatalf("catalogs = %v, want apple_music, deezer and tidal", a.Catalogs)
	}
	src := platform.Source{Kind: "upc", Value: "123456789012"}
	for key, c := range a.Catalogs {
		if _, err := c.Lookup(context.Background(), src); platform.KindOf(err) != platform.NotFound {
			t.Errorf("%s before release: %v, want not found", key, err)
		}
	}
	a.Clock.Advance(2 * time.Hour)
	for key, c := range a.Catalogs {
		r, err := c.Lookup(context.Background(), src)
		if err != nil || r.Name != "Night Drive" || r.Artist != "Mara Lune" || r.URL == "" || len(r.Items) != 1 {
			t.Errorf("%s after release: %+v, %v", key, r, err)
		}
	}
}

// Without the Deezer option no look-up can reach the real Deezer.
func TestNoCatalogsByDefault(t *testing.T) {
	a := New(t)
	if len(a.Catalogs) != 0 {
		t.Fatalf("catalogs = %v, want none", a.Catalogs)
	}
}
