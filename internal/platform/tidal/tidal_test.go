package tidal_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/platform/standin"
	"github.com/dropday/dropday/internal/platform/tidal"
	"github.com/dropday/dropday/internal/platform/tidal/tidaltest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	srv  *tidaltest.Server
	clk  *clock
	c    *tidal.Client
	errs []error
}

func setup(t *testing.T) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	srv := tidaltest.New(tidaltest.Options{Now: clk.Now})
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, clk: clk}
	f.c = f.client(srv.ClientSecret())
	return f
}

func (f *fixture) client(secret string) *tidal.Client {
	return tidal.New(tidal.Config{ClientID: f.srv.ClientID(), ClientSecret: secret, AuthURL: f.srv.URL, APIURL: f.srv.URL,
		Country: "DE", HTTPClient: &http.Client{Timeout: 500 * time.Millisecond}, Now: f.clk.Now})
}

func (f *fixture) lookup(t *testing.T, c *tidal.Client, kind, value string) (platform.Release, *platform.Error) {
	t.Helper()
	r, err := c.Lookup(context.Background(), platform.Source{Kind: kind, Value: value})
	if err == nil {
		return r, nil
	}
	f.errs = append(f.errs, err)
	var pe *platform.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *platform.Error", err, err)
	}
	return r, pe
}

func (f *fixture) seed(visible time.Time) {
	f.srv.AddAlbum(tidaltest.Album{ID: "75413011", Title: "Afterglow", Artist: "Mara Lune", BarcodeID: "123456789012"}, visible)
	f.srv.AddTrack(tidaltest.Track{ID: "75413016", Title: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839",
		AlbumID: "75413011", URL: "https://tidal.com/browse/track/75413016"}, visible)
}

func TestLookupByISRCAndUPC(t *testing.T) {
	f := setup(t)
	f.seed(time.Time{})
	r, err := f.lookup(t, f.c, "isrc", "USRC17607839")
	if err != nil {
		t.Fatal(err)
	}
	cover := f.srv.URL + "/cover/75413011/640x640.png"
	if r.Kind != "track" || len(r.Items) != 1 || r.Items[0] != "tracks:75413016" || r.Name != "Night Drive" || r.Artist != "Mara Lune" ||
		r.ISRC != "USRC17607839" || r.URL != "https://tidal.com/browse/track/75413016" || r.ArtworkURL != cover {
		t.Fatalf("track = %+v", r)
	}
	r, err = f.lookup(t, f.c, "upc", "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "album" || r.Items[0] != "albums:75413011" || r.Name != "Afterglow" || r.Artist != "Mara Lune" ||
		r.UPC != "123456789012" || r.URL != f.srv.URL+"/listen/album/75413011" || r.ArtworkURL != cover {
		t.Fatalf("album = %+v", r)
	}
	for _, u := range []string{r.URL, r.ArtworkURL} {
		res, err := http.Get(u)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", u, res, err)
		}
		res.Body.Close()
	}
	// One client-credentials token served every look-up.
	if n := f.srv.TokensIssued(); n != 1 {
		t.Fatalf("tokens issued = %d, want 1 (cached)", n)
	}
}

func TestNotFoundYetFoundLater(t *testing.T) {
	f := setup(t)
	f.seed(f.clk.Now().Add(2 * time.Hour))
	for _, src := range [][2]string{{"isrc", "USRC17607839"}, {"upc", "123456789012"}} {
		if _, err := f.lookup(t, f.c, src[0], src[1]); err == nil || err.Kind != platform.NotFound || !strings.Contains(err.Message, src[1]) {
			t.Fatalf("%s before release: %v", src[0], err)
		}
	}
	f.clk.Advance(2 * time.Hour)
	for _, src := range [][2]string{{"isrc", "USRC17607839"}, {"upc", "123456789012"}} {
		if r, err := f.lookup(t, f.c, src[0], src[1]); err != nil || r.Name == "" {
			t.Fatalf("%s after release: %+v %v", src[0], r, err)
		}
	}
}

func TestTokenIsCachedAndRenewed(t *testing.T) {
	f := setup(t)
	f.seed(time.Time{})
	for range 3 {
		if _, err := f.lookup(t, f.c, "isrc", "USRC17607839"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.srv.TokensIssued(); n != 1 {
		t.Fatalf("tokens issued = %d, want 1", n)
	}
	// Near expiry (by the injected clock) a new one is fetched before use.
	f.clk.Advance(tidaltest.DefaultTokenTTL - 30*time.Second)
	if _, err := f.lookup(t, f.c, "isrc", "USRC17607839"); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.TokensIssued(); n != 2 {
		t.Fatalf("tokens issued = %d, want 2 (renewed before expiry)", n)
	}
	if n := f.srv.Requests(tidaltest.EndpointTracks, 401); n != 0 {
		t.Fatalf("%d look-ups were refused", n)
	}
	// A token TIDAL drops early: one 401, a fresh token, success.
	f.srv.RevokeTokens()
	if _, err := f.lookup(t, f.c, "isrc", "USRC17607839"); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n, r := f.srv.TokensIssued(), f.srv.Requests(tidaltest.EndpointTracks, 401); n != 3 || r != 1 {
		t.Fatalf("tokens issued %d, 401s %d; want 3 and 1", n, r)
	}
}

func TestErrorsAreSorted(t *testing.T) {
	f := setup(t)
	f.seed(time.Time{})
	f.srv.FailNext(1, standin.Fault{Endpoint: tidaltest.EndpointTracks, Status: 429, RetryAfter: 3})
	if _, err := f.lookup(t, f.c, "isrc", "USRC17607839"); err == nil || err.Kind != platform.RateLimited || err.RetryAfter != 3*time.Second {
		t.Fatalf("429: %v", err)
	}
	f.srv.SetRateLimit(1)
	if _, err := f.lookup(t, f.c, "isrc", "USRC17607839"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.lookup(t, f.c, "isrc", "USRC17607839"); err == nil || err.Kind != platform.RateLimited || err.RetryAfter != time.Second {
		t.Fatalf("over the limit: %v", err)
	}
	f.srv.SetRateLimit(0)
	for _, st := range []int{500, 503} {
		f.srv.FailNext(1, standin.Fault{Endpoint: tidaltest.EndpointAlbums, Status: st})
		if _, err := f.lookup(t, f.c, "upc", "123456789012"); err == nil || err.Kind != platform.Transient || err.Status != st {
			t.Fatalf("%d: %v", st, err)
		}
	}
	// A token endpoint in trouble is transient too.
	fresh := f.client(f.srv.ClientSecret())
	f.srv.FailNext(1, standin.Fault{Endpoint: tidaltest.EndpointToken, Status: 503})
	if _, err := f.lookup(t, fresh, "upc", "123456789012"); err == nil || err.Kind != platform.Transient {
		t.Fatalf("token 503: %v", err)
	}
	f.srv.FailNext(1, standin.Fault{Hang: true})
	if _, err := f.lookup(t, f.c, "upc", "123456789012"); err == nil || err.Kind != platform.Transient {
		t.Fatalf("timeout: %v", err)
	}
	if _, err := f.lookup(t, f.c, "spotify_track", "spotify:track:x"); err == nil || err.Kind != platform.Permanent {
		t.Fatalf("spotify source: %v", err)
	}
	checkNoSecrets(t, f)
}

func TestBadCredentialsArePermanent(t *testing.T) {
	f := setup(t)
	f.seed(time.Time{})
	const wrong = "wrong-secret-do-not-print"
	_, err := f.lookup(t, f.client(wrong), "isrc", "USRC17607839")
	if err == nil || err.Kind != platform.Permanent || err.Status != 401 ||
		!strings.Contains(err.Error(), "DROPDAY_TIDAL_CLIENT_SECRET") || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("wrong secret: %v", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Fatalf("error %q holds the secret", err)
	}
	checkNoSecrets(t, f)
}

func checkNoSecrets(t *testing.T, f *fixture) {
	t.Helper()
	if len(f.errs) == 0 {
		t.Fatal("no errors were checked")
	}
	for _, err := range f.errs {
		if strings.Contains(err.Error(), f.srv.ClientSecret()) || strings.Contains(err.Error(), "Bearer") || strings.Contains(err.Error(), "access_token") {
			t.Errorf("error %q holds a secret", err)
		}
	}
}
