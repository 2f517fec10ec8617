package apple_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/platform/apple"
	"github.com/dropday/dropday/internal/platform/apple/appletest"
	"github.com/dropday/dropday/internal/platform/standin"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const origin = "https://music.example.com"

type fixture struct {
	srv  *appletest.Server
	clk  *clock
	key  *ecdsa.PrivateKey
	pem  string
	c    *apple.Client
	errs []error // every error seen, for the no-secret check
}

func setup(t *testing.T) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	srv := appletest.New(appletest.Options{Now: clk.Now})
	t.Cleanup(srv.Close)
	key, err := config.ParseAppleKey(srv.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv, clk: clk, key: key, pem: srv.PrivateKeyPEM()}
	f.c = f.client(srv.TeamID(), srv.KeyID(), key)
	return f
}

func (f *fixture) client(team, kid string, key *ecdsa.PrivateKey) *apple.Client {
	return apple.New(apple.Config{TeamID: team, KeyID: kid, PrivateKey: key, Origin: origin, APIURL: f.srv.URL,
		Storefront: "de", HTTPClient: &http.Client{Timeout: 500 * time.Millisecond}, Now: f.clk.Now})
}

func (f *fixture) lookup(t *testing.T, c *apple.Client, kind, value string) (platform.Release, *platform.Error) {
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

func (f *fixture) seed() {
	f.srv.AddSong(appletest.Song{ID: "1440857781", Name: "Night Drive", Artist: "Mara Lune", AlbumName: "Night Drive - Single",
		ISRC: "USRC17607839", ArtworkURL: "https://is1.example/img/{w}x{h}bb.jpg", URL: "https://music.apple.com/de/song/night-drive/1440857781"}, time.Time{})
	f.srv.AddAlbum(appletest.Album{ID: "1577502911", Name: "Afterglow", Artist: "Mara Lune", UPC: "123456789012"}, time.Time{})
}

func TestLookupByISRCAndUPC(t *testing.T) {
	f := setup(t)
	f.seed()
	r, err := f.lookup(t, f.c, "isrc", "us-rc1-76-07839")
	if err != nil {
		t.Fatal(err)
	}
	want := platform.Release{Items: []string{"songs:1440857781"}, Kind: "track", Name: "Night Drive", Artist: "Mara Lune",
		ArtworkURL: "https://is1.example/img/640x640bb.jpg", ISRC: "USRC17607839", URL: "https://music.apple.com/de/song/night-drive/1440857781"}
	if !equal(r, want) {
		t.Fatalf("song = %+v\nwant   %+v", r, want)
	}
	r, err = f.lookup(t, f.c, "upc", "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "album" || r.Name != "Afterglow" || r.Artist != "Mara Lune" || r.UPC != "123456789012" ||
		len(r.Items) != 1 || r.Items[0] != "albums:1577502911" ||
		r.URL != f.srv.URL+"/listen/de/album/1577502911" || r.ArtworkURL != f.srv.URL+"/artwork/album/1577502911/640x640bb.png" {
		t.Fatalf("album = %+v", r)
	}
	typ, id, ok := apple.ParseItem(r.Items[0])
	if !ok || typ != apple.ItemAlbums || id != "1577502911" {
		t.Fatalf("ParseItem(%q) = %q %q %v", r.Items[0], typ, id, ok)
	}
	// The URLs the stand-in hands out answer (the smart link's button, the cover).
	for _, u := range []string{r.URL, r.ArtworkURL} {
		res, err := http.Get(u)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", u, res, err)
		}
		res.Body.Close()
	}
	// Requests carried the token's origin (Apple refuses a mismatch).
	for _, o := range f.srv.Origins() {
		if o != origin {
			t.Fatalf("request Origin %q, want %q", o, origin)
		}
	}
}

func TestNotFoundYetFoundLater(t *testing.T) {
	f := setup(t)
	at := f.clk.Now().Add(2 * time.Hour)
	f.srv.AddSong(appletest.Song{ID: "1", Name: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839"}, at)
	f.srv.AddAlbum(appletest.Album{ID: "2", Name: "Afterglow", Artist: "Mara Lune", UPC: "123456789012", Announced: true}, at)

	_, err := f.lookup(t, f.c, "isrc", "USRC17607839")
	if err == nil || err.Kind != platform.NotFound || !strings.Contains(err.Message, "USRC17607839") {
		t.Fatalf("song before release: %v", err)
	}
	// An announced album is listed without playParams: still not found.
	_, err = f.lookup(t, f.c, "upc", "123456789012")
	if err == nil || err.Kind != platform.NotFound || !strings.Contains(err.Message, "not playable yet") {
		t.Fatalf("announced album before release: %v", err)
	}
	f.clk.Advance(2*time.Hour - time.Second)
	if _, err := f.lookup(t, f.c, "isrc", "USRC17607839"); err == nil || err.Kind != platform.NotFound {
		t.Fatalf("one second early: %v", err)
	}
	f.clk.Advance(time.Second)
	if r, err := f.lookup(t, f.c, "isrc", "USRC17607839"); err != nil || r.Items[0] != "songs:1" {
		t.Fatalf("song at release: %+v %v", r, err)
	}
	if r, err := f.lookup(t, f.c, "upc", "123456789012"); err != nil || r.Items[0] != "albums:2" {
		t.Fatalf("album at release: %+v %v", r, err)
	}
	checkNoSecrets(t, f)
}

func TestErrorsAreSorted(t *testing.T) {
	f := setup(t)
	f.seed()
	f.srv.FailNext(1, standin.Fault{Status: 429, RetryAfter: 7})
	if _, err := f.lookup(t, f.c, "isrc", "USRC17607839"); err == nil || err.Kind != platform.RateLimited || err.RetryAfter != 7*time.Second {
		t.Fatalf("429: %v", err)
	}
	// The stand-in's own limit: one request a minute.
	f.srv.SetRateLimit(1)
	if _, err := f.lookup(t, f.c, "isrc", "USRC17607839"); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(20 * time.Second)
	if _, err := f.lookup(t, f.c, "isrc", "USRC17607839"); err == nil || err.Kind != platform.RateLimited || err.RetryAfter != 40*time.Second {
		t.Fatalf("over the limit: %v", err)
	}
	f.srv.SetRateLimit(0)
	for _, st := range []int{500, 503} {
		f.srv.FailNext(1, standin.Fault{Status: st})
		if _, err := f.lookup(t, f.c, "upc", "123456789012"); err == nil || err.Kind != platform.Transient || err.Status != st {
			t.Fatalf("%d: %v", st, err)
		}
	}
	f.srv.FailNext(1, standin.Fault{Hang: true})
	if _, err := f.lookup(t, f.c, "upc", "123456789012"); err == nil || err.Kind != platform.Transient {
		t.Fatalf("timeout: %v", err)
	}
	if _, err := f.lookup(t, f.c, "spotify_track", "spotify:track:4uLU6hMCjMI75M1A2tKUQC"); err == nil || err.Kind != platform.Permanent {
		t.Fatalf("spotify source: %v", err)
	}
	if _, err := f.lookup(t, f.c, "isrc", "not-an-isrc/../x"); err == nil || err.Kind != platform.Permanent {
		t.Fatalf("bad ISRC: %v", err)
	}
	if n := f.srv.Requests(appletest.EndpointOther, 0); n != 0 {
		t.Fatalf("a malformed code reached the stand-in's other paths (%d)", n)
	}
	checkNoSecrets(t, f)
}

func TestBadCredentialsArePermanent(t *testing.T) {
	f := setup(t)
	f.seed()
	other, _, err := appletest.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*apple.Client{
		"wrong key":    f.client(f.srv.TeamID(), f.srv.KeyID(), other),
		"wrong key id": f.client(f.srv.TeamID(), "ABCDEFGHIJ", f.key),
		"wrong team":   f.client("ABCDEFGHIJ", f.srv.KeyID(), f.key),
	} {
		_, err := f.lookup(t, c, "isrc", "USRC17607839")
		if err == nil || err.Kind != platform.Permanent || err.Status != 401 ||
			!strings.Contains(err.Error(), "DROPDAY_APPLE_PRIVATE_KEY") || !strings.Contains(err.Error(), "40100") {
			t.Errorf("%s: %v", name, err)
		}
		if f.srv.LastAuthError() == "" {
			t.Errorf("%s: the stand-in says it refused nothing", name)
		}
	}
	// Without an Origin header a token naming an origin is refused too.
	tok, _ := f.c.DeveloperToken()
	req, _ := http.NewRequest("GET", f.srv.URL+"/v1/catalog/us/songs?filter[isrc]=USRC17607839", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("no Origin: %v %v", res, err)
	}
	res.Body.Close()
	checkNoSecrets(t, f)
}

func TestDeveloperToken(t *testing.T) {
	f := setup(t)
	f.seed()
	t0 := f.clk.Now()
	tok, err := f.c.DeveloperToken()
	if err != nil {
		t.Fatal(err)
	}
	var cl struct {
		Origin []string `json:"origin"`
		jwt.RegisteredClaims
	}
	parsed, err := jwt.ParseWithClaims(tok, &cl, func(*jwt.Token) (any, error) { return &f.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(f.clk.Now))
	if err != nil || !parsed.Valid {
		t.Fatalf("token does not verify with the public key: %v", err)
	}
	if parsed.Header["kid"] != f.srv.KeyID() || parsed.Header["alg"] != "ES256" {
		t.Fatalf("header = %v", parsed.Header)
	}
	if cl.Issuer != f.srv.TeamID() || !cl.IssuedAt.Equal(t0) || !cl.ExpiresAt.Equal(t0.Add(apple.TokenLifetime)) ||
		len(cl.Origin) != 1 || cl.Origin[0] != origin {
		t.Fatalf("claims = iss %q iat %v exp %v origin %v", cl.Issuer, cl.IssuedAt, cl.ExpiresAt, cl.Origin)
	}
	if apple.TokenLifetime > appletest.MaxTokenLife {
		t.Fatal("lifetime above Apple's six months")
	}
	// Another key does not verify it.
	other, _, _ := appletest.GenerateKey()
	if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return &other.PublicKey, nil }, jwt.WithTimeFunc(f.clk.Now)); err == nil {
		t.Fatal("token verified with an unrelated key")
	}

	// Cached: three look-ups, one token.
	for range 3 {
		if _, err := f.lookup(t, f.c, "isrc", "USRC17607839"); err != nil {
			t.Fatal(err)
		}
	}
	if again, _ := f.c.DeveloperToken(); again != tok || f.srv.Tokens() != 1 {
		t.Fatalf("token not cached: stand-in saw %d tokens", f.srv.Tokens())
	}
	// Still the same a little more than a day before expiry...
	f.clk.Advance(apple.TokenLifetime - apple.TokenRenewBefore - time.Minute)
	if again, _ := f.c.DeveloperToken(); again != tok {
		t.Fatal("token renewed too early")
	}
	// ...and renewed within the last day, before it runs out.
	f.clk.Advance(2 * time.Minute)
	fresh, _ := f.c.DeveloperToken()
	if fresh == tok {
		t.Fatal("token not renewed a day before expiry")
	}
	if _, err := f.lookup(t, f.c, "isrc", "USRC17607839"); err != nil || f.srv.Tokens() != 2 {
		t.Fatalf("renewed token: %v (stand-in saw %d tokens)", err, f.srv.Tokens())
	}
	var cl2 jwt.RegisteredClaims
	if _, err := jwt.ParseWithClaims(fresh, &cl2, func(*jwt.Token) (any, error) { return &f.key.PublicKey, nil }, jwt.WithTimeFunc(f.clk.Now)); err != nil ||
		!cl2.IssuedAt.Equal(f.clk.Now().Truncate(time.Second)) {
		t.Fatalf("renewed token: iat %v, %v", cl2.IssuedAt, err)
	}
	// A token past its exp is refused by the stand-in (had the client kept it).
	f.clk.Advance(apple.TokenRenewBefore)
	req, _ := http.NewRequest("GET", f.srv.URL+"/v1/catalog/us/songs?filter[isrc]=USRC17607839", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Origin", origin)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 401 || !strings.Contains(f.srv.LastAuthError(), "expired") {
		t.Fatalf("expired token: %v %v (%s)", res, err, f.srv.LastAuthError())
	}
	res.Body.Close()
}

// checkNoSecrets: no error string holds the private key (PEM, DER or its
// scalar) or a developer token.
func checkNoSecrets(t *testing.T, f *fixture) {
	t.Helper()
	der, _ := x509.MarshalPKCS8PrivateKey(f.key)
	d, _ := f.key.Bytes()
	tok, _ := f.c.DeveloperToken()
	secrets := []string{base64.StdEncoding.EncodeToString(der)[:40], base64.StdEncoding.EncodeToString(d), tok, "eyJ"}
	for _, err := range f.errs {
		for _, s := range secrets {
			if s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("error %q contains a secret", err)
			}
		}
	}
	if len(f.errs) == 0 {
		t.Error("no errors were checked")
	}
}

func equal(a, b platform.Release) bool {
	return strings.Join(a.Items, ",") == strings.Join(b.Items, ",") && a.Kind == b.Kind && a.Name == b.Name &&
		a.Artist == b.Artist && a.ArtworkURL == b.ArtworkURL && a.ISRC == b.ISRC && a.UPC == b.UPC && a.URL == b.URL
}
