package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dropday/dropday/handlers"
	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/pace"
	"github.com/dropday/dropday/internal/platform/apple"
	"github.com/dropday/dropday/internal/platform/apple/appletest"
	"github.com/dropday/dropday/internal/platform/registry"
	"github.com/dropday/dropday/internal/platform/standin"
	"github.com/dropday/dropday/internal/presave"
	rel "github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/resolve"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/models"
)

const (
	appleAlbum = "1577502911"
	appleUPC   = "123456789012"
)

// appleStart is the landing page's musickit.js asking for a pre-add: the
// one-time state and the developer token.
type appleStart struct {
	State          string `json:"state"`
	DeveloperToken string `json:"developerToken"`
	MusicKitURL    string `json:"musicKitURL"`
	TokenURL       string `json:"tokenURL"`
}

// sameSite are the headers a browser sends with our page's fetch.
func sameSite(app *testapp.App) http.Header {
	return http.Header{"Accept": {"application/json"}, "Sec-Fetch-Site": {"same-origin"}, "Origin": {app.URL}}
}

func startAppleAdd(t *testing.T, app *testapp.App, c *testapp.Client, slug string, optIn bool) appleStart {
	t.Helper()
	form := url.Values{}
	if optIn {
		form.Set("email_opt_in", "1")
	}
	res, body := c.Do(http.MethodPost, "/"+slug+"/presave/"+apple.Key, form, sameSite(app))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("pre-add start: %d %s", res.StatusCode, body)
	}
	var s appleStart
	if err := json.Unmarshal([]byte(body), &s); err != nil || s.State == "" || s.DeveloperToken == "" {
		t.Fatalf("pre-add start answered %q (%v)", body, err)
	}
	return s
}

// postAppleToken is the page posting what MusicKit's authorize() resolved to.
func postAppleToken(t *testing.T, app *testapp.App, c *testapp.Client, state, mut string, h http.Header) (*http.Response, string) {
	t.Helper()
	form := url.Values{"music_user_token": {mut}}
	if state != "" {
		form.Set("state", state)
	}
	return c.Do(http.MethodPost, "/oauth/"+apple.Key+"/token", form, h)
}

func appleLink(t *testing.T, app *testapp.App, releaseAt time.Time) *models.Link {
	t.Helper()
	o := app.CreateOwner("artist@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, releaseAt)
	l.SourceKind, l.SourceValue = models.SourceUPC, appleUPC
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	return l
}

func applePresaves(t *testing.T, app *testapp.App) []models.Presave {
	t.Helper()
	var ps []models.Presave
	if err := app.DB.NewSelect().Model(&ps).Where("platform = ?", apple.Key).Order("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ps
}

// A fan pre-adds on Apple Music through the real router: the Music User
// Token MusicKit gave the page is stored sealed, with the consent record and
// the fan's storefront; the same browser again is one pre-save; foreign,
// stateless and replayed posts change nothing; no secret reaches the logs.
func TestApplePreAdd(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			var logs syncBuffer
			app := testapp.New(t, testapp.Options{Apple: true, Postgres: pg, Log: &logs})
			appleLink(t, app, app.Clock.Now().Add(72*time.Hour))
			app.Apple.AddUser(appletest.User{Name: "robin", Storefront: "gb"})
			c := app.NewClient()

			res, page := c.Get("/night-drive")
			if !strings.Contains(page, `data-testid="presave-apple_music"`) || !strings.Contains(page, "data-inpage") ||
				strings.Contains(page, `data-testid="platform-apple_music"`) {
				t.Fatal("Apple Music is not in direct (in-page) mode on the landing page")
			}
			if strings.Contains(page, app.Apple.URL) || !strings.Contains(page, "/js/musickit.") {
				t.Fatal("the page must load MusicKit JS only when the fan picks Apple Music (our musickit.js, not Apple's script)")
			}
			csp := res.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self' "+app.Apple.URL+";") || !strings.Contains(csp, "connect-src 'self' "+app.Apple.URL+";") {
				t.Fatalf("CSP does not allow the MusicKit script and API origins: %s", csp)
			}

			// Without JavaScript the button says what it needs and stores nothing.
			res, body := c.Do(http.MethodPost, "/night-drive/presave/apple_music", url.Values{}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
			if res.StatusCode != 200 || !strings.Contains(body, "needs JavaScript") || app.CountRows("oauth_states") != 0 {
				t.Fatalf("no-JS press: %d rows=%d", res.StatusCode, app.CountRows("oauth_states"))
			}

			s := startAppleAdd(t, app, c, "night-drive", true)
			if s.MusicKitURL != app.Apple.URL+"/musickit/v3/musickit.js" || s.TokenURL != "/oauth/apple_music/token" {
				t.Fatalf("start %+v", s)
			}
			// The developer token handed to the page verifies with the key and names our origin.
			checkPageToken(t, app, s.DeveloperToken)

			mut := app.Apple.IssueUserToken("robin") // what the consent popup gives MusicKit
			// Refused: another site's post, a post without state, a state from another browser.
			for name, h := range map[string]http.Header{
				"cross-site":     {"Sec-Fetch-Site": {"cross-site"}, "Accept": {"application/json"}},
				"foreign origin": {"Origin": {"https://evil.example"}, "Accept": {"application/json"}},
			} {
				if res, _ := postAppleToken(t, app, c, s.State, mut, h); res.StatusCode != http.StatusForbidden {
					t.Fatalf("%s post: %d", name, res.StatusCode)
				}
			}
			if res, _ := postAppleToken(t, app, c, "", mut, sameSite(app)); res.StatusCode != http.StatusBadRequest {
				t.Fatalf("no state: %d", res.StatusCode)
			}
			if res, _ := postAppleToken(t, app, c, "made-up-state", mut, sameSite(app)); res.StatusCode != http.StatusBadRequest {
				t.Fatalf("bad state: %d", res.StatusCode)
			}
			if len(applePresaves(t, app)) != 0 {
				t.Fatal("a refused post stored a pre-save")
			}
			// A fresh start (the bad posts spent the cookie), then the real post.
			s = startAppleAdd(t, app, c, "night-drive", true)
			res, body = postAppleToken(t, app, c, s.State, mut, sameSite(app))
			if res.StatusCode != 200 {
				t.Fatalf("token post: %d %s", res.StatusCode, body)
			}
			var done struct{ Location string }
			_ = json.Unmarshal([]byte(body), &done)
			if !strings.HasPrefix(done.Location, "/night-drive/presaved?t=") {
				t.Fatalf("answer %s", body)
			}
			if res, _ := postAppleToken(t, app, c, s.State, mut, sameSite(app)); res.StatusCode != http.StatusBadRequest {
				t.Fatalf("replayed state: %d", res.StatusCode)
			}
			_, conf := c.Get(done.Location)
			if !strings.Contains(conf, `data-testid="presave-done"`) || !strings.Contains(conf, "Apple Music library") ||
				!strings.Contains(conf, `data-testid="need-email"`) {
				t.Fatal("the confirmation (with the email Apple does not share) is not shown")
			}

			ps := applePresaves(t, app)
			if len(ps) != 1 {
				t.Fatalf("%d pre-saves", len(ps))
			}
			p := ps[0]
			if p.Storefront != "gb" || !strings.HasPrefix(p.PlatformUserID, "browser:") || p.ConsentTextID == nil ||
				p.ConsentVersion != presave.ConsentVersion || p.IP == "" || p.UserAgent == "" || !p.EmailOptIn || p.State != models.PresavePending {
				t.Fatalf("pre-save %+v", p)
			}
			if bytes.Contains(p.Credential, []byte(mut)) {
				t.Fatal("the Music User Token is stored in the clear")
			}
			if got, err := presave.OpenCredential(app.Vault, p.ID, p.Credential); err != nil || got != mut {
				t.Fatalf("sealed credential opens to %q, %v", got, err)
			}
			if n := app.Apple.Requests(appletest.EndpointStorefront, 200); n != 1 {
				t.Fatalf("storefront looked up %d times", n)
			}

			// The same fan (browser) again, with a new token: still one pre-save, holding the new token.
			mut2 := app.Apple.IssueUserToken("robin")
			s = startAppleAdd(t, app, c, "night-drive", false)
			if res, body := postAppleToken(t, app, c, s.State, mut2, sameSite(app)); res.StatusCode != 200 {
				t.Fatalf("second pre-add: %d %s", res.StatusCode, body)
			}
			ps = applePresaves(t, app)
			if len(ps) != 1 {
				t.Fatalf("the same fan twice made %d pre-saves", len(ps))
			}
			if got, _ := presave.OpenCredential(app.Vault, ps[0].ID, ps[0].Credential); got != mut2 {
				t.Fatal("the second consent did not replace the token")
			}
			// Another browser is another fan.
			c2 := app.NewClient()
			s = startAppleAdd(t, app, c2, "night-drive", false)
			if res, _ := postAppleToken(t, app, c2, s.State, app.Apple.IssueUserToken("robin"), sameSite(app)); res.StatusCode != 200 {
				t.Fatal("second browser")
			}
			// A token Apple refuses stores nothing.
			app.Apple.AddUser(appletest.User{Name: "gone"})
			bad := app.Apple.IssueUserToken("gone")
			app.Apple.RevokeUser("gone")
			c3 := app.NewClient()
			s = startAppleAdd(t, app, c3, "night-drive", false)
			if res, body := postAppleToken(t, app, c3, s.State, bad, sameSite(app)); res.StatusCode != http.StatusBadGateway || !strings.Contains(body, "didn't accept") {
				t.Fatalf("revoked token: %d %s", res.StatusCode, body)
			}
			if n := len(applePresaves(t, app)); n != 2 {
				t.Fatalf("%d pre-saves, want 2", n)
			}
			if _, pp := c.Get("/privacy/night-drive"); !strings.Contains(pp, `data-testid="pp-apple"`) {
				t.Error("the privacy page does not say what an Apple Music pre-add keeps")
			}
			noAppleSecrets(t, app, logs.String(), s.DeveloperToken, mut, mut2, bad)
		})
	}
}

// checkPageToken verifies the developer token the page got with the
// stand-in's public key: ES256, our team and key, and our site's origin.
func checkPageToken(t *testing.T, app *testapp.App, raw string) {
	t.Helper()
	key, err := config.ParseAppleKey(app.Apple.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	var cl struct {
		Origin []string `json:"origin"`
		jwt.RegisteredClaims
	}
	tok, err := jwt.ParseWithClaims(raw, &cl, func(tk *jwt.Token) (any, error) {
		if tk.Header["kid"] != app.Apple.KeyID() {
			return nil, fmt.Errorf("kid %v", tk.Header["kid"])
		}
		return &key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(app.Apple.TeamID()), jwt.WithTimeFunc(app.Clock.Now))
	if err != nil || !tok.Valid {
		t.Fatalf("the page's developer token does not verify: %v", err)
	}
	if !slices.Equal(cl.Origin, []string{app.URL}) {
		t.Fatalf("origin claim %v, want [%s]", cl.Origin, app.URL)
	}
}

func noAppleSecrets(t *testing.T, app *testapp.App, logs string, secrets ...string) {
	t.Helper()
	key, _ := config.ParseAppleKey(app.Apple.PrivateKeyPEM())
	d, _ := key.Bytes()
	secrets = append(secrets, base64.StdEncoding.EncodeToString(d), strings.Split(app.Apple.PrivateKeyPEM(), "\n")[1])
	if logs == "" {
		t.Fatal("no logs captured")
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("a secret (%.12s…) is in the logs", s)
		}
	}
	if strings.Contains(logs, "eyJ") || strings.Contains(logs, "mut.") {
		t.Error("a token-shaped string is in the logs")
	}
}

// stepApple is one scheduler tick and every job it makes due, on the test's
// clock; deliveries that snooze are put back for their wait.
func stepApple(t *testing.T, app *testapp.App) (snoozed []time.Duration) {
	t.Helper()
	ctx := context.Background()
	if err := app.Release.Scheduler.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if err := app.Release.Resolver.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	q := app.Release.Queue
	for _, kinds := range [][]string{{resolve.KindCheck, resolve.KindAlert}, {rel.KindDeliver}} {
		js, err := q.Claim(ctx, kinds, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range js {
			err := app.Release.Runner.Handlers[j.Kind](ctx, j)
			switch {
			case err == nil:
				err = q.Complete(ctx, j)
			case strings.HasPrefix(err.Error(), "jobs: snooze for "):
				d, perr := time.ParseDuration(strings.TrimPrefix(err.Error(), "jobs: snooze for "))
				if perr != nil {
					t.Fatal(perr)
				}
				snoozed = append(snoozed, d)
				err = q.Snooze(ctx, j, d)
			default:
				err = q.Cancel(ctx, j, jobs.Cancel(err))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return snoozed
}

// Release day on Apple Music: the delivery waits until Apple lists the
// album, a 429 snoozes it (no attempt spent) and it is delivered after;
// an expired (401) or revoked (403) authorization fails with "authorize again".
func TestAppleReleaseDay(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			var logs syncBuffer
			app := testapp.New(t, testapp.Options{Apple: true, Postgres: pg, Log: &logs,
				Env: map[string]string{"DROPDAY_RESOLVE_INTERVAL": "1m"}})
			// The pace limiter's 429 pause on the test's clock (it is on the wall clock in service).
			app.Release.Deliverer.Limits[apple.Key] = pace.NewLimiter(0, app.Clock.Now)
			l := appleLink(t, app, app.Clock.Now().Add(time.Hour))
			// Apple lists the album three minutes late.
			app.Apple.AddAlbum(appletest.Album{ID: appleAlbum, Name: "Night Drive", Artist: "Mara Lune", UPC: appleUPC}, l.ReleaseAt.Add(3*time.Minute))
			fans := map[string]string{}
			var muts []string
			for _, name := range []string{"robin", "kim", "sam"} {
				app.Apple.AddUser(appletest.User{Name: name, Storefront: "us"})
				c := app.NewClient()
				s := startAppleAdd(t, app, c, "night-drive", false)
				mut := app.Apple.IssueUserToken(name)
				muts = append(muts, mut)
				res, body := postAppleToken(t, app, c, s.State, mut, sameSite(app))
				if res.StatusCode != 200 {
					t.Fatalf("%s: %d %s", name, res.StatusCode, body)
				}
				fans[name] = fmt.Sprint(len(fans))
			}
			ps := applePresaves(t, app)
			byName := map[string]int64{"robin": ps[0].ID, "kim": ps[1].ID, "sam": ps[2].ID}
			app.Apple.ExpireUser("kim") // 401
			app.Apple.RevokeUser("sam") // 403

			app.Clock.Set(l.ReleaseAt)
			if n := stepApple(t, app); len(n) != 3 {
				t.Fatalf("at the release, before Apple lists it: %d deliveries waiting, want 3", len(n))
			}
			for _, p := range applePresaves(t, app) {
				if p.State != models.PresavePending {
					t.Fatalf("delivered before Apple listed it: %+v", p)
				}
			}
			// The first library add is rate limited.
			app.Apple.FailNext(1, standin.Fault{Endpoint: appletest.EndpointLibrary, Status: 429, RetryAfter: 30})
			delivered := false
			for i := 0; i < 20 && !delivered; i++ {
				app.Clock.Advance(time.Minute)
				stepApple(t, app)
				p, err := store.PresaveByID(context.Background(), app.DB, byName["robin"])
				if err != nil {
					t.Fatal(err)
				}
				delivered = p.State == models.PresaveDelivered
			}
			if !delivered {
				p, _ := store.PresaveByID(context.Background(), app.DB, byName["robin"])
				var js []jobs.Job
				_ = app.DB.NewSelect().Model(&js).Scan(context.Background())
				for _, j := range js {
					t.Logf("job %s %s run_at=%s attempt=%d err=%s", j.Kind, j.State, j.RunAt, j.Attempt, j.LastError)
				}
				t.Fatalf("robin's pre-add was not delivered: %s %q (now %s, library 429s %d)", p.State, p.LastError, app.Clock.Now(), app.Apple.Requests(appletest.EndpointLibrary, 0))
			}
			if app.Apple.Requests(appletest.EndpointLibrary, 429) != 1 {
				t.Fatal("the 429 was not met")
			}
			if lib := app.Apple.Library("robin"); !slices.Equal(lib, []string{"albums:" + appleAlbum}) {
				t.Fatalf("robin's library %v", lib)
			}
			var attempt int
			if err := app.DB.NewSelect().Table("jobs").Column("attempt").Where("kind = ? AND state = ?", rel.KindDeliver, jobs.StateCompleted).
				Scan(context.Background(), &attempt); err != nil {
				t.Fatal(err)
			}
			if attempt != 1 {
				t.Fatalf("the delivery spent %d attempts; waiting and the 429 must spend none", attempt)
			}
			for name, status := range map[string]int{"kim": 401, "sam": 403} {
				p, err := store.PresaveByID(context.Background(), app.DB, byName[name])
				if err != nil {
					t.Fatal(err)
				}
				want := fmt.Sprintf(rel.ReasonAuthorizeAgain, "Apple Music", status)
				if p.State != models.PresaveFailed || p.LastError != want || p.Credential != nil {
					t.Fatalf("%s: %s %q (want %q), credential kept=%v", name, p.State, p.LastError, want, p.Credential != nil)
				}
				if len(app.Apple.Library(name)) != 0 {
					t.Fatalf("%s's library changed", name)
				}
			}
			// The smart link: Apple Music found, its Save runs MusicKit in the page too.
			_, smart := app.NewClient().Get("/night-drive")
			if !strings.Contains(smart, `data-testid="save-apple_music"`) || !strings.Contains(smart, "data-inpage") || !strings.Contains(smart, "/js/musickit.") {
				t.Fatal("the smart link's Apple Music Save does not run in the page")
			}
			dev, _ := app.Catalogs[apple.Key].(*apple.Client).DeveloperToken()
			noAppleSecrets(t, app, logs.String(), append(muts, dev)...)
		})
	}
}

// Configuring Apple Music turns it on for links that are already live, with
// no edit: the same database, served again with Apple configured (as after
// a restart with the new settings), offers the in-page pre-add.
func TestAppleConfiguredLinksGoDirect(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("artist@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
	res, page := app.NewClient().Get("/night-drive")
	if !strings.Contains(page, `data-testid="platform-apple_music"`) || strings.Contains(page, `data-testid="presave-apple_music"`) ||
		strings.Contains(page, "/js/musickit.") {
		t.Fatal("without Apple configured, Apple Music must be email signup")
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "connect-src 'self';") {
		t.Fatalf("CSP loosened without Apple: %s", csp)
	}

	// The operator adds the MusicKit key and restarts: a second server on the same database.
	st := appletest.New(appletest.Options{Now: app.Clock.Now})
	defer st.Close()
	key, err := config.ParseAppleKey(st.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	cfg := *app.Config
	cfg.Apple = config.Apple{TeamID: st.TeamID(), KeyID: st.KeyID(), PrivateKey: key, APIURL: st.URL, Storefront: "us",
		MusicKitURL: st.URL + "/musickit/v3/musickit.js", Rate: 20}
	clients := registry.New(&cfg, registry.HTTPClient(), app.Clock.Now)
	h := handlers.New(handlers.Deps{Config: &cfg, DB: app.DB, Log: testdb.Logger(), Now: app.Clock.Now,
		Presave: &presave.Flow{DB: app.DB, Vault: app.Vault, Clients: clients, Now: app.Clock.Now, Erasure: app.Fans.Key},
		Release: app.Release, Broadcast: app.Broadcast, AccountMail: app.AccountMail, Analytics: app.Analytics, Fans: app.Fans})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/night-drive", nil))
	page = rec.Body.String()
	if rec.Code != 200 || !strings.Contains(page, `data-testid="presave-apple_music"`) || strings.Contains(page, `data-testid="platform-apple_music"`) ||
		!strings.Contains(page, "/js/musickit.") {
		t.Fatalf("with Apple configured, the live link does not offer the Apple Music pre-add (%d)", rec.Code)
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self' "+st.URL+";") {
		t.Fatalf("CSP %s", csp)
	}
	if l2, err := store.LinkForFan(context.Background(), app.DB, l.ID); err != nil || !l2.UpdatedAt.Equal(l.UpdatedAt) {
		t.Fatalf("the link was edited: %v", err)
	}
}
