// Package testapp starts the real dropday router over real HTTP on a real
// database, for handler, API and browser tests.
package testapp

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/crypto/bcrypt"

	"github.com/dropday/dropday/handlers"
	"github.com/dropday/dropday/internal/accounts"
	"github.com/dropday/dropday/internal/analytics"
	"github.com/dropday/dropday/internal/apitokens"
	"github.com/dropday/dropday/internal/artwork"
	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/broadcast"
	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/fans"
	"github.com/dropday/dropday/internal/keys"
	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/platform/apple/appletest"
	"github.com/dropday/dropday/internal/platform/deezer/deezertest"
	"github.com/dropday/dropday/internal/platform/registry"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/platform/tidal/tidaltest"
	"github.com/dropday/dropday/internal/platform/youtube/youtubetest"
	"github.com/dropday/dropday/internal/presave"
	"github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/internal/vault"
	"github.com/dropday/dropday/models"
)

// Clock is a settable clock for tests: no sleeps.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Set moves the clock.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// App is a running dropday.
type App struct {
	T      testing.TB
	URL    string
	DB     *bun.DB
	Config *config.Config
	Clock  *Clock
	Server *httptest.Server
	// Spotify is the Spotify stand-in, when Options.Spotify asked for one.
	Spotify *spotifytest.Server
	Vault   *vault.Keyring
	Release *release.Engine
	// Broadcast is the release-day email engine (outbox driver unless the config says otherwise).
	Broadcast *broadcast.Service
	// AccountMail sends invitations and password resets; tests may swap its
	// Sender before the first request, and call Wait after a "forgot password".
	AccountMail *accounts.Mailer

	// Apple, Deezer and Tidal are the catalog stand-ins, when Options asked
	// for them; each judges release visibility and tokens by Clock.
	Apple  *appletest.Server
	Deezer *deezertest.Server
	Tidal  *tidaltest.Server
	// Catalogs are the configured catalog look-ups (registry.Catalogs),
	// dating their tokens by Clock.
	Catalogs map[string]platform.Catalog
	// Analytics counts views and clicks; tests call its Flush (no background loop runs).
	Analytics *analytics.Recorder
	// Fans is the fans' data rights service; call Wait after a "email me a link".
	Fans *fans.Service

	// YouTube is the Google/YouTube stand-in, when Options.YouTube asked for
	// one; its tokens and quota day follow Clock.
	YouTube        *youtubetest.Server
	dbURL, dataDir string // for Options.Beside
}

// Options tweak New.
type Options struct {
	// Postgres runs on the test PostgreSQL instead of SQLite.
	Postgres bool
	// Env overrides DROPDAY_* variables.
	Env map[string]string
	// Spotify starts the Spotify stand-in (auto-consent) and configures dropday for it.
	Spotify bool
	// Apple starts the Apple Music stand-in (with a generated MusicKit key)
	// and configures dropday for it: catalog look-ups and the fans' pre-add.
	Apple bool
	// Deezer starts the Deezer stand-in and configures dropday for it.
	// Without it Deezer look-ups are off (DROPDAY_DEEZER_CATALOG=false), so
	// no test reaches the real Deezer.
	Deezer bool
	// DeezerDirect (with Deezer) also configures Deezer's direct pre-save
	// with the stand-in's app (auto-consent as its first user).
	DeezerDirect bool
	// Tidal starts the TIDAL stand-in and configures dropday for it.
	Tidal bool
	// Log receives the server's logs (JSON), for tests that read them.
	Log io.Writer
	// Demo serves as `dropday demo` does (the ribbon on every page).
	Demo bool
	// Deliver runs the release engine (workers and scheduler) for the test's lifetime.
	Deliver bool

	// YouTube starts the Google/YouTube stand-in (auto-consent) and turns on
	// YouTube Music direct pre-save for it.
	YouTube bool
	// Beside starts another instance on that app's database, data directory
	// (so its keys) and clock: a second instance behind a load balancer, or
	// the operator restarting with a changed configuration. It has its own
	// listener, page cache and limits.
	Beside *App
}

// Start is the fixed "now" tests begin at.
var Start = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// New starts dropday on a fresh database.
func New(t testing.TB, opts ...Options) *App {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	var db *bun.DB
	var dbURL string
	switch {
	case o.Beside != nil:
		db, dbURL = o.Beside.DB, o.Beside.dbURL
	case o.Postgres:
		db, dbURL = testdb.Postgres(t)
	default:
		db, dbURL = testdb.SQLite(t)
	}
	dataDir := t.TempDir()
	clock := &Clock{t: Start}
	if o.Beside != nil {
		dataDir, clock = o.Beside.dataDir, o.Beside.Clock
	}
	a := &App{T: t, DB: db, Clock: clock, dbURL: dbURL, dataDir: dataDir}
	// The handler is set after the listener exists, because the base URL is the listener's.
	var h http.Handler
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(a.Server.Close)
	a.URL = a.Server.URL
	env := map[string]string{
		"DROPDAY_BASE_URL":     a.URL,
		"DROPDAY_DATABASE_URL": dbURL,
		"DROPDAY_DATA_DIR":     dataDir,
		"DROPDAY_LOGIN_RATE":   "1000",
		"DROPDAY_SIGNUP_RATE":  "1000",
		// Every request asks the database, as before the page cache, so tests
		// that write to the store directly see their change; the cache's own
		// tests set a TTL.
		"DROPDAY_PAGE_CACHE_TTL": "0",
	}
	if o.Spotify {
		a.Spotify = spotifytest.New(spotifytest.Options{RedirectURL: a.URL + registry.CallbackPath("spotify")})
		t.Cleanup(a.Spotify.Close)
		env["DROPDAY_SPOTIFY_CLIENT_ID"] = a.Spotify.ClientID()
		env["DROPDAY_SPOTIFY_CLIENT_SECRET"] = a.Spotify.ClientSecret()
		env["DROPDAY_SPOTIFY_ACCOUNTS_URL"] = a.Spotify.URL
		env["DROPDAY_SPOTIFY_API_URL"] = a.Spotify.URL
	}
	env["DROPDAY_DEEZER_CATALOG"] = "false"
	if o.Apple {
		a.Apple = appletest.New(appletest.Options{Now: clock.Now})
		t.Cleanup(a.Apple.Close)
		env["DROPDAY_APPLE_TEAM_ID"] = a.Apple.TeamID()
		env["DROPDAY_APPLE_KEY_ID"] = a.Apple.KeyID()
		env["DROPDAY_APPLE_PRIVATE_KEY"] = a.Apple.PrivateKeyPEM()
		env["DROPDAY_APPLE_API_URL"] = a.Apple.URL
		env["DROPDAY_APPLE_MUSICKIT_URL"] = a.Apple.URL + "/musickit/v3/musickit.js"
	}
	if o.Deezer {
		a.Deezer = deezertest.New(deezertest.Options{Now: clock.Now, RedirectURL: a.URL + registry.CallbackPath("deezer")})
		t.Cleanup(a.Deezer.Close)
		env["DROPDAY_DEEZER_CATALOG"] = "true"
		env["DROPDAY_DEEZER_API_URL"] = a.Deezer.URL
		if o.DeezerDirect {
			env["DROPDAY_DEEZER_APP_ID"] = a.Deezer.AppID()
			env["DROPDAY_DEEZER_APP_SECRET"] = a.Deezer.AppSecret()
			env["DROPDAY_DEEZER_CONNECT_URL"] = a.Deezer.URL
		}
	}
	if o.Tidal {
		// Configured is direct too (one TIDAL app does look-ups and consent).
		a.Tidal = tidaltest.New(tidaltest.Options{Now: clock.Now, RedirectURL: a.URL + registry.CallbackPath("tidal")})
		t.Cleanup(a.Tidal.Close)
		env["DROPDAY_TIDAL_CLIENT_ID"] = a.Tidal.ClientID()
		env["DROPDAY_TIDAL_CLIENT_SECRET"] = a.Tidal.ClientSecret()
		env["DROPDAY_TIDAL_AUTH_URL"] = a.Tidal.URL
		env["DROPDAY_TIDAL_API_URL"] = a.Tidal.URL
		env["DROPDAY_TIDAL_LOGIN_URL"] = a.Tidal.URL
	}
	if o.YouTube {
		a.YouTube = youtubetest.New(youtubetest.Options{RedirectURL: a.URL + registry.CallbackPath("youtube_music"), Now: clock.Now})
		t.Cleanup(a.YouTube.Close)
		env["DROPDAY_GOOGLE_CLIENT_ID"] = a.YouTube.ClientID()
		env["DROPDAY_GOOGLE_CLIENT_SECRET"] = a.YouTube.ClientSecret()
		env["DROPDAY_GOOGLE_AUTH_URL"] = a.YouTube.URL + youtubetest.AuthPath
		env["DROPDAY_GOOGLE_TOKEN_URL"] = a.YouTube.URL + youtubetest.TokenPath
		env["DROPDAY_YOUTUBE_API_URL"] = a.YouTube.URL
	}
	for k, v := range o.Env {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.BcryptCost = bcrypt.MinCost
	cfg.Demo = o.Demo
	a.Config = cfg
	secret, err := keys.New([]byte("test-secret-test-secret-test-secret!"))
	if err != nil {
		t.Fatal(err)
	}
	a.Vault, err = vault.Parse("1:" + base64.StdEncoding.EncodeToString([]byte("test-master-key-test-master-key!")))
	if err != nil {
		t.Fatal(err)
	}
	log := testdb.Logger()
	if o.Log != nil {
		log = slog.New(slog.NewJSONHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	clients := registry.New(cfg, registry.HTTPClient(), clock.Now)
	a.Catalogs = registry.Catalogs(cfg, clients, registry.HTTPClient(), clock.Now)
	a.Release = release.NewEngine(cfg, db, a.Vault, clients, a.Catalogs, clock.Now, log)
	a.Release.Runner.PollInterval = 50 * time.Millisecond
	a.Broadcast, err = broadcast.New(cfg, db, secret, clock.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	a.Broadcast.Notify = a.Release.Runner
	a.Release.Also(broadcast.KindSend, a.Broadcast.Work, a.Broadcast.Tick)
	a.AccountMail, err = accounts.NewMailer(cfg, db, clock.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.AccountMail.Wait) // before the database closes
	a.Fans, err = fans.New(cfg, db, secret, clock.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Fans.Wait)
	a.Release.Scheduler.Hourly = append(a.Release.Scheduler.Hourly, a.Fans.Retention)
	if o.Deliver {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = a.Release.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	a.Analytics = analytics.New(db, clock.Now, log, cfg.BaseURL)
	h = handlers.New(handlers.Deps{
		Config: cfg, DB: db, Log: log, Now: clock.Now, Release: a.Release, Broadcast: a.Broadcast, AccountMail: a.AccountMail,
		Presave: &presave.Flow{DB: db, Vault: a.Vault, Clients: clients, Now: clock.Now, Erasure: a.Fans.Key}, Fans: a.Fans,
		Hasher: auth.NewHasher(cfg.BcryptCost), Secret: secret,
		Artwork: &artwork.Store{Dir: filepath.Join(dataDir, "artwork"), MaxBytes: cfg.MaxArtworkBytes},
		// Analytics counts in memory; tests flush it (or the insights page does).
		Analytics: a.Analytics,
	})
	return a
}

// Owner is a created admin with their workspace.
type Owner struct {
	Email, Password string
	User            *models.User
	Workspace       *models.Workspace
}

// CreateOwner makes an owner and workspace directly (as `dropday user create` does).
func (a *App) CreateOwner(email, workspace string) Owner {
	a.T.Helper()
	pw := "correct horse battery"
	u, w, errs, err := accounts.CreateOwner(context.Background(), a.DB, auth.NewHasher(bcrypt.MinCost),
		accounts.OwnerInput{Name: "Owner", Email: email, Password: pw, Workspace: workspace}, "", a.Clock.Now())
	if err != nil || errs.Has() {
		a.T.Fatalf("create owner: %v %v", err, errs)
	}
	return Owner{Email: email, Password: pw, User: u, Workspace: w}
}

// APIToken issues a token for a workspace.
func (a *App) APIToken(workspaceID int64) string {
	a.T.Helper()
	tok, _, msg, err := apitokens.Create(context.Background(), a.DB, workspaceID, "test", nil, a.Clock.Now())
	if err != nil || msg != "" {
		a.T.Fatalf("api token: %v %s", err, msg)
	}
	return tok
}

// Client is a browser-like HTTP client with a cookie jar that does not follow redirects.
type Client struct {
	*http.Client
	app *App
}

// NewClient returns a fresh "browser".
func (a *App) NewClient() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}, app: a}
}

// Get fetches path and returns the response with its body read.
func (c *Client) Get(path string) (*http.Response, string) {
	c.app.T.Helper()
	return c.Do(http.MethodGet, path, nil, nil)
}

// Do sends a request; form values go form-encoded.
func (c *Client) Do(method, path string, form url.Values, header http.Header) (*http.Response, string) {
	c.app.T.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.app.URL+path, body)
	if err != nil {
		c.app.T.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	return c.Send(req)
}

// Send sends a prepared request and reads the body.
func (c *Client) Send(req *http.Request) (*http.Response, string) {
	c.app.T.Helper()
	res, err := c.Client.Do(req)
	if err != nil {
		c.app.T.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.app.T.Fatal(err)
	}
	return res, string(b)
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// CSRF returns the browser's CSRF token: the double-submit cookie when it has
// one, otherwise the token in the first form on path (which sets the cookie).
func (c *Client) CSRF(path string) string {
	c.app.T.Helper()
	u, _ := url.Parse(c.app.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "dropday_csrf" {
			return ck.Value
		}
	}
	res, body := c.Get(path)
	m := csrfRE.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		c.app.T.Fatalf("no CSRF token on %s (status %d)", path, res.StatusCode)
	}
	return m[1]
}

// PostForm submits a form the way the page would: with the CSRF token from csrfPage.
func (c *Client) PostForm(csrfPage, path string, form url.Values) (*http.Response, string) {
	c.app.T.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", c.CSRF(csrfPage))
	return c.Do(http.MethodPost, path, form, nil)
}

// Login signs the client in and fails the test if it does not work.
func (c *Client) Login(o Owner) {
	c.app.T.Helper()
	res, body := c.PostForm("/login", "/login", url.Values{"email": {o.Email}, "password": {o.Password}})
	if res.StatusCode != http.StatusSeeOther {
		c.app.T.Fatalf("login as %s: status %d\n%s", o.Email, res.StatusCode, body)
	}
}

// CountRows counts a table's rows, for "nothing was written" assertions.
func (a *App) CountRows(table string) int {
	a.T.Helper()
	n, err := a.DB.NewSelect().Table(table).Count(context.Background())
	if err != nil {
		a.T.Fatalf("count %s: %v", table, err)
	}
	return int(n)
}

// Link creates a link directly in the store (tests of other features use it).
func (a *App) Link(workspaceID int64, slug, state string, releaseAt time.Time) *models.Link {
	a.T.Helper()
	now := a.Clock.Now()
	l := &models.Link{WorkspaceID: workspaceID, Slug: slug, Title: "Night Drive", Artist: "Mara Lune",
		Subtitle: "The new single", ReleaseAt: releaseAt, TimeZone: "Europe/Berlin", State: state,
		CreatedAt: now, UpdatedAt: now}
	if err := store.CreateLink(context.Background(), a.DB, l); err != nil {
		a.T.Fatalf("create link: %v", err)
	}
	return l
}
