package deezer_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
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

// directSetup is setup with the stand-in's app configured for direct pre-save.
func directSetup(t *testing.T) (*deezertest.Server, *deezer.Client, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	srv := deezertest.New(deezertest.Options{Now: clk.Now})
	t.Cleanup(srv.Close)
	c := deezer.New(deezer.Config{APIURL: srv.URL, ConnectURL: srv.URL, AppID: srv.AppID(), AppSecret: srv.AppSecret(),
		RedirectURL: "http://127.0.0.1:1/oauth/deezer/callback", HTTPClient: &http.Client{Timeout: 500 * time.Millisecond,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, Now: clk.Now})
	return srv, c, clk
}

// consentCode walks the stand-in's auto-consent and returns the code.
func consentCode(t *testing.T, c *deezer.Client, perms []string) string {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Get(c.AuthorizeURL("st4te", "", perms))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Query().Get("state") != "st4te" || loc.Query().Get("code") == "" {
		t.Fatalf("consent answered %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

// The token: offline_access gives a non-expiring token that Refresh hands
// back unchanged (Deezer has no refresh grant); without it the token
// expires in an hour and, once dead, answers code 300 (re-authorize).
func TestDirectTokenAndSave(t *testing.T) {
	srv, c, clk := directSetup(t)
	srv.AddAlbum(deezertest.Album{ID: 302127, Title: "Afterglow", Artist: "Mara Lune", UPC: "123456789012"}, time.Time{})
	srv.AddTrack(deezertest.Track{ID: 3135556, Title: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839", AlbumID: 302127}, time.Time{})
	ctx := context.Background()

	tok, err := c.Exchange(ctx, consentCode(t, c, c.Scopes(true)), "")
	if err != nil || tok.AccessToken == "" || tok.RefreshToken != tok.AccessToken || !tok.Expiry.IsZero() {
		t.Fatalf("exchange = %+v, %v", tok, err)
	}
	if _, err := c.Exchange(ctx, "used-or-wrong", ""); platform.KindOf(err) != platform.Permanent {
		t.Fatalf("wrong code: %v", err)
	}
	r, err := c.Refresh(ctx, tok.RefreshToken)
	if err != nil || r.AccessToken != tok.AccessToken || r.RefreshToken != tok.RefreshToken {
		t.Fatalf("refresh = %+v, %v", r, err)
	}
	p, err := c.Profile(ctx, tok.AccessToken)
	if err != nil || p.ID != "1001" || p.DisplayName != "Fan One" || p.Email != "fan1@example.test" {
		t.Fatalf("profile = %+v, %v", p, err)
	}
	if err := c.Save(ctx, tok.AccessToken, []string{"album:302127", "track:3135556"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.SavedBy(1001); strings.Join(got, ",") != "album:302127,track:3135556" {
		t.Fatalf("library = %v", got)
	}
	if err := c.Save(ctx, tok.AccessToken, []string{"spotify:album:x"}); platform.KindOf(err) != platform.Permanent {
		t.Fatalf("foreign item: %v", err)
	}

	// Without offline_access and without email: an hour-long token, no email.
	short, err := c.Exchange(ctx, consentCode(t, c, []string{deezer.PermBasic, deezer.PermLibrary}), "")
	if err != nil || short.Expiry.IsZero() {
		t.Fatalf("short token = %+v, %v", short, err)
	}
	if p, err := c.Profile(ctx, short.AccessToken); err != nil || p.Email != "" {
		t.Fatalf("profile without the email perm = %+v, %v", p, err)
	}
	clk.Advance(deezertest.TokenTTL)
	if err := c.Save(ctx, short.AccessToken, []string{"album:302127"}); !errors.Is(err, platform.ErrAuthExpired) {
		t.Fatalf("dead token: %v", err)
	}
}

// Deezer's codes inside HTTP 200 sort into the worker's kinds.
func TestDirectErrorCodes(t *testing.T) {
	srv, c, _ := directSetup(t)
	srv.SetRateLimit(0, 0)
	srv.AddAlbum(deezertest.Album{ID: 302127, Title: "Afterglow", Artist: "Mara Lune", UPC: "123456789012"}, time.Time{})
	tok := srv.Grant(2002)
	ctx := context.Background()
	for code, want := range map[int]platform.Kind{
		deezertest.CodeQuota: platform.RateLimited, deezertest.CodeTokenInvalid: platform.AuthExpired,
		deezertest.CodePermission: platform.AuthExpired, deezertest.CodeNotFound: platform.NotFound,
		deezertest.CodeServiceBusy: platform.Transient, 901: platform.NotAllowed, 100: platform.Permanent,
		deezertest.CodeParameter: platform.Permanent,
	} {
		srv.FailNextCodeAt(deezertest.EndpointLibrary, 1, code)
		err := c.Save(ctx, tok, []string{"album:302127"})
		var pe *platform.Error
		if !errors.As(err, &pe) || pe.Kind != want || pe.Status != http.StatusOK {
			t.Errorf("code %d: %v, want %s", code, err, want)
		}
		if code == deezertest.CodeQuota && pe != nil && pe.RetryAfter != 5*time.Second {
			t.Errorf("quota wait = %s", pe.RetryAfter)
		}
	}
	if len(srv.SavedBy(2002)) != 0 {
		t.Fatal("saved despite the errors")
	}
	// Over the stand-in's rate: the quota answer, as Deezer throttles.
	srv.SetRateLimit(1, 5*time.Second)
	_ = c.Save(ctx, tok, []string{"album:302127"})
	if err := c.Save(ctx, tok, []string{"album:302127"}); !errors.Is(err, platform.ErrRateLimited) {
		t.Fatalf("over the rate: %v", err)
	}
}

// Tokens and the app secret travel in query strings, which Go's transport
// errors quote: the client's errors must not.
func TestDirectErrorsHoldNoSecrets(t *testing.T) {
	srv, c, _ := directSetup(t)
	tok := srv.Grant(2002)
	srv.FailNext(3, standin.Fault{Hang: true})
	ctx := context.Background()
	errs := []error{}
	_, err := c.Profile(ctx, tok)
	errs = append(errs, err)
	errs = append(errs, c.Save(ctx, tok, []string{"album:1"}))
	_, err = c.Exchange(ctx, "some-code", "")
	errs = append(errs, err)
	for _, err := range errs {
		if platform.KindOf(err) != platform.Transient {
			t.Errorf("timeout: %v, want transient", err)
		}
		if err == nil || strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), srv.AppSecret()) || strings.Contains(err.Error(), "some-code") {
			t.Errorf("error holds a secret: %v", err)
		}
	}
}
