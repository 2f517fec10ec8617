package apple_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/platform/apple/appletest"
	"github.com/dropday/dropday/internal/platform/standin"
)

func kindOf(t *testing.T, err error) *platform.Error {
	t.Helper()
	var pe *platform.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *platform.Error", err, err)
	}
	return pe
}

// The fan's side: storefront, the library add (202, unknown ids silently
// ignored), and every failure sorted into what the worker does next.
func TestUserTokenCalls(t *testing.T) {
	f := setup(t)
	f.seed()
	ctx := context.Background()
	f.srv.AddUser(appletest.User{Name: "robin", Storefront: "gb"})
	mut := f.srv.IssueUserToken("robin")

	var _ platform.Client = f.c
	prof, err := f.c.Profile(ctx, mut)
	if err != nil || prof.Storefront != "gb" || prof.ID != "" {
		t.Fatalf("profile %+v %v: want storefront gb and no account id (Apple gives none)", prof, err)
	}
	tok, err := f.c.Refresh(ctx, mut)
	if err != nil || tok.AccessToken != mut || tok.RefreshToken != mut {
		t.Fatalf("refresh must hand back the stored Music User Token: %+v %v", tok, err)
	}
	if f.c.AuthorizeURL("s", "v", nil) != "" || f.c.ConsentOrigin() != "" || len(f.c.Scopes(true)) != 0 {
		t.Fatal("Apple has no OAuth redirect: no authorize URL, consent origin or scopes")
	}
	if _, err := f.c.Exchange(ctx, "code", "v"); kindOf(t, err).Kind != platform.Permanent {
		t.Fatalf("exchange: %v", err)
	}

	// The album and a song dropday does not know: 202, only the album is added.
	if err := f.c.Save(ctx, mut, []string{"albums:1577502911", "songs:999"}); err != nil {
		t.Fatal(err)
	}
	if lib := f.srv.Library("robin"); !slices.Equal(lib, []string{"albums:1577502911"}) {
		t.Fatalf("library %v", lib)
	}
	if n := f.srv.Requests(appletest.EndpointLibrary, 202); n != 1 {
		t.Fatalf("library adds with 202: %d", n)
	}
	// Saving again is one more 202 and no duplicate.
	if err := f.c.Save(ctx, mut, []string{"albums:1577502911"}); err != nil || len(f.srv.Library("robin")) != 1 {
		t.Fatalf("second save: %v %v", err, f.srv.Library("robin"))
	}
	if err := f.c.Save(ctx, mut, []string{"spotify:album:x"}); kindOf(t, err).Kind != platform.Permanent {
		t.Fatalf("foreign item: %v", err)
	}

	// Rate limit and outage.
	f.srv.FailNext(1, standin.Fault{Endpoint: appletest.EndpointLibrary, Status: 429, RetryAfter: 7})
	err = f.c.Save(ctx, mut, []string{"albums:1577502911"})
	if pe := kindOf(t, err); pe.Kind != platform.RateLimited || pe.RetryAfter != 7*time.Second {
		t.Fatalf("429: %+v", pe)
	}
	f.errs = append(f.errs, err)
	f.srv.FailNext(1, standin.Fault{Endpoint: appletest.EndpointLibrary, Status: 503})
	err = f.c.Save(ctx, mut, []string{"albums:1577502911"})
	if pe := kindOf(t, err); pe.Kind != platform.Transient || pe.Status != 503 {
		t.Fatalf("503: %+v", pe)
	}
	f.errs = append(f.errs, err)

	// Expired (401) and revoked (403): the fan must authorize again.
	other := f.srv.IssueUserToken("robin")
	f.srv.ExpireUser("robin")
	err = f.c.Save(ctx, other, []string{"albums:1577502911"})
	if pe := kindOf(t, err); pe.Kind != platform.AuthExpired || pe.Status != 401 || !strings.Contains(pe.Message, "authorize again") {
		t.Fatalf("expired: %+v", pe)
	}
	f.errs = append(f.errs, err)
	f.srv.AddUser(appletest.User{Name: "sam"})
	sam := f.srv.IssueUserToken("sam")
	f.srv.RevokeUser("sam")
	_, err = f.c.Profile(ctx, sam)
	if pe := kindOf(t, err); pe.Kind != platform.AuthExpired || pe.Status != 403 {
		t.Fatalf("revoked: %+v", pe)
	}
	f.errs = append(f.errs, err)
	_, err = f.c.Profile(ctx, "mut.made-up")
	if pe := kindOf(t, err); pe.Kind != platform.AuthExpired || pe.Status != 401 {
		t.Fatalf("unknown token: %+v", pe)
	}
	f.errs = append(f.errs, err)
	checkNoSecrets(t, f)
	for _, e := range f.errs {
		for _, s := range []string{mut, other, sam} {
			if strings.Contains(e.Error(), s) {
				t.Errorf("error %q holds a Music User Token", e)
			}
		}
	}
}

// The stand-in's error bodies carry string status and code, as Apple's do.
func TestStandInUserErrorsAreStrings(t *testing.T) {
	f := setup(t)
	tok, _ := f.c.DeveloperToken()
	req, _ := newReq(f.srv.URL+"/v1/me/storefront", tok, "mut.nope")
	body, status := do(t, req)
	if status != 401 || !strings.Contains(body, `"status":"401"`) || !strings.Contains(body, `"code":"40100"`) {
		t.Fatalf("%d %s", status, body)
	}
}

// The fan's storefront matters when it is not the one the release was found
// in: an album missing there would be "added" with a 202 and never appear.
func TestSaveChecksTheFansStorefront(t *testing.T) {
	f := setup(t) // the client looks releases up in "de"
	ctx := context.Background()
	f.srv.AddAlbum(appletest.Album{ID: "1577502911", Name: "Afterglow", Artist: "Mara Lune", UPC: "123456789012", Storefronts: []string{"de", "us"}}, time.Time{})
	f.srv.AddUser(appletest.User{Name: "us-fan", Storefront: "us"})
	f.srv.AddUser(appletest.User{Name: "jp-fan", Storefront: "jp"})
	us, jp := f.srv.IssueUserToken("us-fan"), f.srv.IssueUserToken("jp-fan")
	if err := f.c.Save(platform.WithStorefront(ctx, "us"), us, []string{"albums:1577502911"}); err != nil {
		t.Fatal(err)
	}
	if len(f.srv.Library("us-fan")) != 1 {
		t.Fatal("not added for the US fan")
	}
	err := f.c.Save(platform.WithStorefront(ctx, "jp"), jp, []string{"albums:1577502911"})
	if pe := kindOf(t, err); pe.Kind != platform.NotFound || !strings.Contains(pe.Message, "storefront (jp)") {
		t.Fatalf("jp: %+v", pe)
	}
	if f.srv.Requests(appletest.EndpointLibrary, 0) != 1 {
		t.Fatal("the add was sent although the album is not in the fan's storefront")
	}
}

func newReq(u, dev, mut string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+dev)
	req.Header.Set("Origin", origin)
	req.Header.Set("Music-User-Token", mut)
	return req, nil
}

func do(t *testing.T, req *http.Request) (string, int) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b), res.StatusCode
}
