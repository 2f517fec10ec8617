package deezer_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/platform/deezer"
	"github.com/dropday/dropday/internal/platform/deezer/deezertest"
	"github.com/dropday/dropday/internal/platform/standin"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func setup(t *testing.T) (*deezertest.Server, *deezer.Client, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	srv := deezertest.New(deezertest.Options{Now: clk.Now})
	t.Cleanup(srv.Close)
	c := deezer.New(deezer.Config{APIURL: srv.URL, HTTPClient: &http.Client{Timeout: 500 * time.Millisecond}, Now: clk.Now})
	return srv, c, clk
}

func lookup(t *testing.T, c *deezer.Client, kind, value string) (platform.Release, *platform.Error) {
	t.Helper()
	r, err := c.Lookup(context.Background(), platform.Source{Kind: kind, Value: value})
	if err == nil {
		return r, nil
	}
	var pe *platform.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *platform.Error", err, err)
	}
	return r, pe
}

func TestLookupByISRCAndUPC(t *testing.T) {
	srv, c, _ := setup(t)
	srv.AddAlbum(deezertest.Album{ID: 302127, Title: "Afterglow", Artist: "Mara Lune", UPC: "123456789012",
		Cover: "https://cdn.example/cover/1000x1000.jpg", Link: "https://www.deezer.com/album/302127"}, time.Time{})
	srv.AddTrack(deezertest.Track{ID: 3135556, Title: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839", AlbumID: 302127}, time.Time{})

	r, err := lookup(t, c, "isrc", "USRC17607839")
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "track" || len(r.Items) != 1 || r.Items[0] != "track:3135556" || r.Name != "Night Drive" || r.Artist != "Mara Lune" ||
		r.ISRC != "USRC17607839" || r.URL != srv.URL+"/listen/track/3135556" || r.ArtworkURL != "https://cdn.example/cover/1000x1000.jpg" {
		t.Fatalf("track = %+v", r)
	}
	r, err = lookup(t, c, "upc", "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "album" || r.Items[0] != "album:302127" || r.Name != "Afterglow" || r.Artist != "Mara Lune" || r.UPC != "123456789012" ||
		r.URL != "https://www.deezer.com/album/302127" || r.ArtworkURL != "https://cdn.example/cover/1000x1000.jpg" {
		t.Fatalf("album = %+v", r)
	}
	// The stand-in's own listen page answers (a click in a test stays local).
	res, gerr := http.Get(srv.URL + "/listen/track/3135556")
	if gerr != nil || res.StatusCode != 200 {
		t.Fatalf("listen page: %v %v", res, gerr)
	}
	res.Body.Close()
}

func TestNotFoundYetFoundLater(t *testing.T) {
	srv, c, clk := setup(t)
	srv.AddTrack(deezertest.Track{ID: 1, Title: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839"}, clk.Now().Add(time.Hour))
	_, err := lookup(t, c, "isrc", "USRC17607839")
	// Deezer says "no data" (code 800) inside HTTP 200.
	if err == nil || err.Kind != platform.NotFound || err.Status != 200 || !strings.Contains(err.Message, "USRC17607839") {
		t.Fatalf("before release: %v", err)
	}
	if _, err := lookup(t, c, "upc", "123456789012"); err == nil || err.Kind != platform.NotFound {
		t.Fatalf("unknown UPC: %v", err)
	}
	clk.Advance(time.Hour)
	if r, err := lookup(t, c, "isrc", "USRC17607839"); err != nil || r.Items[0] != "track:1" || r.ArtworkURL == "" {
		t.Fatalf("after release: %+v %v", r, err)
	}
}

func TestQuotaAndErrors(t *testing.T) {
	srv, c, clk := setup(t)
	srv.AddTrack(deezertest.Track{ID: 1, Title: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839"}, time.Time{})
	// 50 requests in 5 s pass; the 51st gets the quota error (code 4, HTTP 200).
	for i := range deezertest.DefaultRateLimit {
		if _, err := lookup(t, c, "isrc", "USRC17607839"); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	_, err := lookup(t, c, "isrc", "USRC17607839")
	if err == nil || err.Kind != platform.RateLimited || err.RetryAfter != 5*time.Second || err.Status != 200 ||
		!strings.Contains(err.Message, "Quota limit exceeded") || srv.QuotaErrors() != 1 {
		t.Fatalf("51st request: %v (quota errors %d)", err, srv.QuotaErrors())
	}
	clk.Advance(deezertest.DefaultRateSpan)
	if _, err := lookup(t, c, "isrc", "USRC17607839"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	srv.SetRateLimit(0, 0)

	srv.FailNextCode(1, deezertest.CodeServiceBusy)
	if _, err := lookup(t, c, "isrc", "USRC17607839"); err == nil || err.Kind != platform.Transient {
		t.Fatalf("service busy: %v", err)
	}
	srv.FailNextCode(1, deezertest.CodeParameter)
	if _, err := lookup(t, c, "isrc", "USRC17607839"); err == nil || err.Kind != platform.Permanent || !strings.Contains(err.Message, "500") {
		t.Fatalf("parameter error: %v", err)
	}
	srv.FailNext(1, standin.Fault{Status: 429})
	if _, err := lookup(t, c, "isrc", "USRC17607839"); err == nil || err.Kind != platform.RateLimited {
		t.Fatalf("injected throttle: %v", err)
	}
	for _, st := range []int{500, 502} {
		srv.FailNext(1, standin.Fault{Status: st})
		if _, err := lookup(t, c, "isrc", "USRC17607839"); err == nil || err.Kind != platform.Transient || err.Status != st {
			t.Fatalf("HTTP %d: %v", st, err)
		}
	}
	srv.FailNext(1, standin.Fault{Hang: true})
	if _, err := lookup(t, c, "isrc", "USRC17607839"); err == nil || err.Kind != platform.Transient {
		t.Fatalf("timeout: %v", err)
	}
	if _, err := lookup(t, c, "spotify_album", "spotify:album:x"); err == nil || err.Kind != platform.Permanent {
		t.Fatalf("spotify source: %v", err)
	}
	if _, err := lookup(t, c, "upc", "12/../34"); err == nil || err.Kind != platform.Permanent {
		t.Fatalf("bad UPC: %v", err)
	}
}
