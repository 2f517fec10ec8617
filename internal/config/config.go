// Package config reads dropday's typed configuration from DROPDAY_*
// environment variables (flags may override) and validates it once at start-up.
package config

import (
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is passed down explicitly; nothing reads the environment after Load.
type Config struct {
	Addr           string
	BaseURL        *url.URL
	DatabaseURL    string
	DataDir        string
	TrustedProxies []*net.IPNet
	// SecretKey signs and keys everything that needs a server secret
	// (cookies, keyed hashes). Empty means: read or generate DataDir/secret.key.
	SecretKey string
	// BcryptCost is lowered only by tests; production uses the default.
	BcryptCost int
	// LogFormat is "text" (default, readable in a terminal) or "json".
	LogFormat string
	LogLevel  string
	// MaxArtworkBytes caps artwork uploads.
	MaxArtworkBytes int64
	// SignupRate is how many email signups one client address may make per minute.
	SignupRate int
	// LoginRate is how many login attempts one client address may make per minute.
	LoginRate int
	// SessionTTL is how long an admin session lives without use.
	SessionTTL time.Duration
	// MasterKeys are the vault's key-encryption keys ("2:<b64>,1:<b64>", first is
	// primary). Empty means: read or generate DataDir/master.keys.
	MasterKeys string
	Spotify    Spotify
	// Workers is how many deliveries run at once on this instance.
	Workers int
	// JobLease is how long a worker holds a job before another instance may
	// rescue it (the worker died); a handler is stopped before its lease ends.
	JobLease time.Duration
	// SchedulerInterval is how often due links are released.
	SchedulerInterval time.Duration
	// SpotifyRate paces calls to Spotify (per second, shared by all workers).
	SpotifyRate float64
	Mail        Mail
	// ResolveInterval is how often a release not yet found on a platform is
	// looked up again; ResolveWindow is for how long after the release.
	ResolveInterval time.Duration
	ResolveWindow   time.Duration

	// Apple, Deezer and Tidal are the catalog look-ups that find a release
	// on those platforms (no direct pre-save yet).
	Apple  Apple
	Deezer Deezer
	Tidal  Tidal

	// YouTube is YouTube Music direct pre-save (Google OAuth, videos.rate).
	YouTube YouTube
	// MetricsToken is the bearer token /metrics asks for; empty hides /metrics (404).
	MetricsToken string
	// PlatformTimeout bounds one call to a streaming platform, so a hung
	// answer cannot hold a worker or a fan's request.
	PlatformTimeout time.Duration
	// PageCacheTTL is how long a rendered landing page is served from memory
	// without asking the database: the bound on how stale another instance's
	// copy may be after an edit. 0 revalidates on every request.
	PageCacheTTL time.Duration
	// Demo is set by `dropday demo`, never by the environment: every page shows a ribbon.
	Demo bool
}

// Spotify is the operator's Spotify app. Without a client id, Spotify works in
// email-signup mode on every landing page.
type Spotify struct {
	ClientID, ClientSecret string
	AccountsURL, APIURL    string
}

// Enabled tells whether direct pre-save on Spotify is configured.
func (s Spotify) Enabled() bool { return s.ClientID != "" }

// Apple is the operator's MusicKit key, which signs the developer token of
// Apple Music catalog look-ups. Without it Apple Music is not looked up.
type Apple struct {
	TeamID, KeyID string
	// PrivateKey is the parsed .p8 key (never printed or logged).
	PrivateKey *ecdsa.PrivateKey
	APIURL     string
	// Storefront is the catalog looked in ("us").
	Storefront string
	// MusicKitURL is the MusicKit JS the release page loads for the fan's pre-add.
	MusicKitURL string
	// Rate paces library adds (per second, shared by all workers).
	Rate float64
}

// Enabled tells whether Apple Music look-ups are configured.
func (a Apple) Enabled() bool { return a.PrivateKey != nil }

// Deezer's look-ups need no account, so they are on unless switched off.
// With an app id and secret Deezer also pre-saves directly.
type Deezer struct {
	APIURL  string
	Catalog bool
	// AppID and AppSecret are the operator's Deezer app (registered before
	// Deezer closed registration in 2024); without them Deezer is email-signup mode.
	AppID, AppSecret string
	ConnectURL       string
	// Rate paces calls to Deezer's API (per second, shared by all workers).
	Rate float64
}

// Enabled tells whether direct pre-save on Deezer is configured.
func (d Deezer) Enabled() bool { return d.AppID != "" && d.AppSecret != "" }

// Tidal is the operator's TIDAL app: its client-credentials token serves
// catalog look-ups, and the same app's authorization-code flow (PKCE) direct
// pre-save. Without a client id TIDAL is neither looked up nor direct (email
// signup on every landing page).
type Tidal struct {
	ClientID, ClientSecret string
	AuthURL, APIURL        string
	// LoginURL serves the fans' consent page (/authorize).
	LoginURL string
	// Country is the countryCode of look-ups ("US").
	Country string
	// Rate paces saves into fans' collections (calls per second, shared by all workers).
	Rate float64
}

// Enabled tells whether TIDAL is configured: look-ups and direct pre-save.
func (t Tidal) Enabled() bool { return t.ClientID != "" }

// Mail is how dropday sends email.
type Mail struct {
	// Driver is "outbox" (stored, shown in the admin panel) or "resend".
	Driver string
	// From is the sender of every email, "Name <address>" or an address.
	From          string
	ResendAPIKey  string
	ResendBaseURL string
	// ResendWebhookSecret verifies /webhooks/resend ("whsec_…").
	ResendWebhookSecret string
	// ResendRate is requests per second to Resend, shared by every sender.
	ResendRate float64
}

// Var documents one environment variable; the README's table is written from these.
type Var struct {
	Name, Default, Help string
}

// Vars lists every variable Load reads, in the order the README shows them.
var Vars = []Var{
	{"DROPDAY_ADDR", "127.0.0.1:8080", "address the HTTP server listens on"},
	{"DROPDAY_BASE_URL", "http://127.0.0.1:8080", "public URL fans and admins use (links, emails, OAuth redirects)"},
	{"DROPDAY_DATABASE_URL", "sqlite://./data/dropday.db", "sqlite://path or postgres://user:pass@host/db"},
	{"DROPDAY_DATA_DIR", "./data", "SQLite file, uploaded artwork, generated secrets"},
	{"DROPDAY_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is believed; empty trusts no header"},
	{"DROPDAY_SECRET_KEY", "(generated)", "32+ random bytes, hex or base64; generated into DATA_DIR/secret.key when unset. Set it when you run several instances"},
	{"DROPDAY_LOG_FORMAT", "text", "text or json"},
	{"DROPDAY_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"DROPDAY_METRICS_TOKEN", "", "bearer token for `/metrics` (Prometheus format); empty answers 404 there"},
	{"DROPDAY_MAX_ARTWORK_MB", "10", "largest artwork upload, in MB"},
	{"DROPDAY_SIGNUP_RATE", "10", "email signups per minute from one client address"},
	{"DROPDAY_LOGIN_RATE", "10", "login attempts per minute from one client address"},
	{"DROPDAY_SESSION_TTL", "720h", "admin session lifetime without use (Go duration)"},
	{"DROPDAY_WORKERS", "32", "deliveries run at once on this instance"},
	{"DROPDAY_JOB_LEASE", "5m", "how long a delivery may run before it is considered lost and retried elsewhere (Go duration)"},
	{"DROPDAY_SCHEDULER_INTERVAL", "15s", "how often due links are released (Go duration)"},
	{"DROPDAY_RESOLVE_INTERVAL", "1h", "how often a release not yet found on a platform is looked up again after its release time (Go duration)"},
	{"DROPDAY_RESOLVE_WINDOW", "24h", "for how long after the release time it is looked up; then the workspace's owners get one email about what is still missing (Go duration)"},
	{"DROPDAY_SPOTIFY_RATE", "50", "Spotify calls per second from this instance (all workers share it); a 429 pauses every worker for its Retry-After"},
	{"DROPDAY_PAGE_CACHE_TTL", "1s", "how long a landing page is served from memory before the database is asked again; with several instances, the longest an edit made on one takes to show on the others (Go duration; 0 asks on every request)"},
	{"DROPDAY_PLATFORM_TIMEOUT", "20s", "longest wait for one answer from a streaming platform before the call counts as failed and is retried (Go duration)"},
	{"DROPDAY_MASTER_KEYS", "(generated)", "key-encryption keys for fans' credentials, `2:<base64 32 bytes>,1:<base64>`; the first is primary"},
	{"DROPDAY_SPOTIFY_CLIENT_ID", "", "your Spotify app's client id; empty keeps Spotify in email-signup mode"},
	{"DROPDAY_SPOTIFY_CLIENT_SECRET", "", "your Spotify app's client secret"},
	{"DROPDAY_SPOTIFY_ACCOUNTS_URL", "https://accounts.spotify.com", "Spotify's accounts service (a stand-in in tests and the demo)"},
	{"DROPDAY_SPOTIFY_API_URL", "https://api.spotify.com", "Spotify's Web API (a stand-in in tests and the demo)"},
	{"DROPDAY_APPLE_TEAM_ID", "", "your Apple Developer team id (10 characters); with the key below it turns on Apple Music look-ups and the fans' pre-add"},
	{"DROPDAY_APPLE_KEY_ID", "", "the id (10 characters) of your MusicKit key"},
	{"DROPDAY_APPLE_PRIVATE_KEY", "", "the MusicKit key: the .p8 file's PEM contents, or the path to the file"},
	{"DROPDAY_APPLE_API_URL", "https://api.music.apple.com", "the Apple Music API (a stand-in in tests and the demo)"},
	{"DROPDAY_APPLE_STOREFRONT", "us", "the Apple Music storefront (two-letter country) releases are looked up in"},
	{"DROPDAY_APPLE_MUSICKIT_URL", "https://js-cdn.music.apple.com/musickit/v3/musickit.js", "MusicKit JS, loaded by the release page only when a fan picks Apple Music (a stand-in in tests and the demo)"},
	{"DROPDAY_APPLE_RATE", "20", "Apple Music library adds per second from this instance (all workers share it); a 429 pauses every worker"},
	{"DROPDAY_DEEZER_CATALOG", "true", "look releases up on Deezer (needs no account); false switches it off"},
	{"DROPDAY_DEEZER_API_URL", "https://api.deezer.com", "Deezer's API (a stand-in in tests and the demo)"},
	{"DROPDAY_DEEZER_APP_ID", "", "your Deezer app's id; with the secret it turns on direct pre-save on Deezer (else email-signup mode)"},
	{"DROPDAY_DEEZER_APP_SECRET", "", "your Deezer app's secret key"},
	{"DROPDAY_DEEZER_CONNECT_URL", "https://connect.deezer.com", "Deezer's OAuth service (a stand-in in tests and the demo)"},
	{"DROPDAY_DEEZER_RATE", "10", "Deezer calls per second from this instance (Deezer allows about 50 per 5 s); a quota error pauses every worker"},
	{"DROPDAY_TIDAL_CLIENT_ID", "", "your TIDAL app's client id; with the secret it turns on TIDAL look-ups and direct pre-save on every link (register BASE_URL/oauth/tidal/callback as its redirect URI, scopes collection.write and user.read)"},
	{"DROPDAY_TIDAL_CLIENT_SECRET", "", "your TIDAL app's client secret"},
	{"DROPDAY_TIDAL_AUTH_URL", "https://auth.tidal.com", "TIDAL's token service (a stand-in in tests and the demo)"},
	{"DROPDAY_TIDAL_API_URL", "https://openapi.tidal.com", "TIDAL's API (a stand-in in tests and the demo)"},
	{"DROPDAY_TIDAL_LOGIN_URL", "https://login.tidal.com", "TIDAL's login service, where fans consent (a stand-in in tests and the demo)"},
	{"DROPDAY_TIDAL_RATE", "10", "TIDAL saves per second from this instance (all workers share it; TIDAL publishes no limit); a 429 pauses every worker"},
	{"DROPDAY_TIDAL_COUNTRY", "US", "the country (two letters) releases are looked up in on TIDAL"},
	{"DROPDAY_GOOGLE_CLIENT_ID", "", "your Google OAuth client id (YouTube Data API enabled); empty keeps YouTube Music in email-signup mode"},
	{"DROPDAY_GOOGLE_CLIENT_SECRET", "", "your Google OAuth client secret"},
	{"DROPDAY_GOOGLE_AUTH_URL", "https://accounts.google.com/o/oauth2/v2/auth", "Google's consent page (a stand-in in tests and the demo)"},
	{"DROPDAY_GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token", "Google's token endpoint (a stand-in in tests and the demo)"},
	{"DROPDAY_YOUTUBE_API_URL", "https://www.googleapis.com", "the YouTube Data API v3 (a stand-in in tests and the demo)"},
	{"DROPDAY_YOUTUBE_RATE", "5", "YouTube likes per second from this instance; the daily quota (10,000 units, 50 a like) is the real limit: when it is used up, deliveries wait until midnight Pacific time"},
	{"DROPDAY_MAIL_DRIVER", "outbox", "`outbox` keeps emails in the admin panel's Outbox (nothing leaves the machine); `resend` sends through Resend"},
	{"DROPDAY_MAIL_FROM", "dropday <dropday@localhost>", "the sender of every email; with Resend, an address on a domain you verified there"},
	{"DROPDAY_RESEND_API_KEY", "", "your Resend API key (`re_…`), required with the resend driver"},
	{"DROPDAY_RESEND_BASE_URL", "https://api.resend.com", "Resend's API (a stand-in in tests and the demo)"},
	{"DROPDAY_RESEND_WEBHOOK_SECRET", "", "the signing secret (`whsec_…`) of your Resend webhook pointing at BASE_URL/webhooks/resend; without it webhooks are refused"},
	{"DROPDAY_RESEND_RATE", "2", "requests per second to Resend (its default limit is 2); a 429 pauses sending for its retry-after"},
}

// Load reads the environment, applies flags from args, and validates.
// Every bad value is reported, not just the first.
func Load(getenv func(string) string, args []string) (*Config, error) {
	def := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		for _, v := range Vars {
			if v.Name == name {
				return v.Default
			}
		}
		return ""
	}
	fs := flag.NewFlagSet("dropday", flag.ContinueOnError)
	addr := fs.String("addr", def("DROPDAY_ADDR"), "listen address (DROPDAY_ADDR)")
	baseURL := fs.String("base-url", def("DROPDAY_BASE_URL"), "public URL (DROPDAY_BASE_URL)")
	dbURL := fs.String("database-url", def("DROPDAY_DATABASE_URL"), "database URL (DROPDAY_DATABASE_URL)")
	dataDir := fs.String("data-dir", def("DROPDAY_DATA_DIR"), "data directory (DROPDAY_DATA_DIR)")
	proxies := fs.String("trusted-proxies", def("DROPDAY_TRUSTED_PROXIES"), "trusted proxy CIDRs (DROPDAY_TRUSTED_PROXIES)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}

	var errs []error
	bad := func(name, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, a...)...))
	}
	c := &Config{
		Addr:        *addr,
		DatabaseURL: *dbURL,
		DataDir:     *dataDir,
		SecretKey:   strings.TrimSpace(getenv("DROPDAY_SECRET_KEY")),
		BcryptCost:  12,
		LogFormat:   def("DROPDAY_LOG_FORMAT"),
		LogLevel:    def("DROPDAY_LOG_LEVEL"),
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("DROPDAY_ADDR", "%q is not host:port (%v)", c.Addr, err)
	}
	u, err := url.Parse(*baseURL)
	switch {
	case err != nil:
		bad("DROPDAY_BASE_URL", "%q is not a URL (%v)", *baseURL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		bad("DROPDAY_BASE_URL", "%q must start with http:// or https://", *baseURL)
	case u.Host == "":
		bad("DROPDAY_BASE_URL", "%q has no host", *baseURL)
	case u.RawQuery != "" || u.Fragment != "":
		bad("DROPDAY_BASE_URL", "%q must not have a query or fragment", *baseURL)
	default:
		u.Path = strings.TrimRight(u.Path, "/")
		c.BaseURL = u
	}
	if _, _, err := ParseDatabaseURL(c.DatabaseURL); err != nil {
		bad("DROPDAY_DATABASE_URL", "%v", err)
	}
	if c.DataDir == "" {
		bad("DROPDAY_DATA_DIR", "must not be empty")
	}
	for _, p := range strings.Split(*proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !strings.Contains(p, "/") { // a bare address means that one host
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			bad("DROPDAY_TRUSTED_PROXIES", "%q is not a CIDR like 10.0.0.0/8", p)
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, n)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("DROPDAY_LOG_FORMAT", "%q must be text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("DROPDAY_LOG_LEVEL", "%q must be debug, info, warn or error", c.LogLevel)
	}
	positive := func(name string) int {
		v := def(name)
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			bad(name, "%q must be a whole number above 0", v)
			return 1
		}
		return n
	}
	c.MaxArtworkBytes = int64(positive("DROPDAY_MAX_ARTWORK_MB")) << 20
	c.SignupRate = positive("DROPDAY_SIGNUP_RATE")
	c.LoginRate = positive("DROPDAY_LOGIN_RATE")
	ttl, err := time.ParseDuration(def("DROPDAY_SESSION_TTL"))
	if err != nil || ttl < time.Minute {
		bad("DROPDAY_SESSION_TTL", "%q must be a Go duration of at least 1m, like 720h", def("DROPDAY_SESSION_TTL"))
	}
	c.SessionTTL = ttl
	c.Workers = positive("DROPDAY_WORKERS")
	if ls, err := time.ParseDuration(def("DROPDAY_JOB_LEASE")); err != nil || ls < time.Second {
		bad("DROPDAY_JOB_LEASE", "%q must be a Go duration of at least 1s, like 5m", def("DROPDAY_JOB_LEASE"))
	} else {
		c.JobLease = ls
	}
	if iv, err := time.ParseDuration(def("DROPDAY_SCHEDULER_INTERVAL")); err != nil || iv < time.Second {
		bad("DROPDAY_SCHEDULER_INTERVAL", "%q must be a Go duration of at least 1s, like 15s", def("DROPDAY_SCHEDULER_INTERVAL"))
	} else {
		c.SchedulerInterval = iv
	}
	if iv, err := time.ParseDuration(def("DROPDAY_RESOLVE_INTERVAL")); err != nil || iv < time.Minute {
		bad("DROPDAY_RESOLVE_INTERVAL", "%q must be a Go duration of at least 1m, like 1h", def("DROPDAY_RESOLVE_INTERVAL"))
	} else {
		c.ResolveInterval = iv
	}
	if w, err := time.ParseDuration(def("DROPDAY_RESOLVE_WINDOW")); err != nil || w < 0 {
		bad("DROPDAY_RESOLVE_WINDOW", "%q must be a Go duration like 24h (0 looks only at the release time)", def("DROPDAY_RESOLVE_WINDOW"))
	} else {
		c.ResolveWindow = w
	}
	if r, err := strconv.ParseFloat(def("DROPDAY_SPOTIFY_RATE"), 64); err != nil || r <= 0 {
		bad("DROPDAY_SPOTIFY_RATE", "%q must be a number of calls per second above 0", def("DROPDAY_SPOTIFY_RATE"))
	} else {
		c.SpotifyRate = r
	}
	if pt, err := time.ParseDuration(def("DROPDAY_PLATFORM_TIMEOUT")); err != nil || pt < 100*time.Millisecond {
		bad("DROPDAY_PLATFORM_TIMEOUT", "%q must be a Go duration of at least 100ms, like 20s", def("DROPDAY_PLATFORM_TIMEOUT"))
	} else {
		c.PlatformTimeout = pt
	}
	if pc, err := time.ParseDuration(def("DROPDAY_PAGE_CACHE_TTL")); err != nil || pc < 0 || pc > time.Minute {
		bad("DROPDAY_PAGE_CACHE_TTL", "%q must be a Go duration from 0 to 1m, like 1s", def("DROPDAY_PAGE_CACHE_TTL"))
	} else {
		c.PageCacheTTL = pc
	}
	c.MetricsToken = strings.TrimSpace(getenv("DROPDAY_METRICS_TOKEN"))
	if t := c.MetricsToken; t != "" && len(t) < 16 {
		bad("DROPDAY_METRICS_TOKEN", "is too short: use 16 or more random characters (openssl rand -hex 32)")
	}
	c.MasterKeys = strings.TrimSpace(getenv("DROPDAY_MASTER_KEYS"))
	c.Spotify = Spotify{
		ClientID:     strings.TrimSpace(getenv("DROPDAY_SPOTIFY_CLIENT_ID")),
		ClientSecret: strings.TrimSpace(getenv("DROPDAY_SPOTIFY_CLIENT_SECRET")),
		AccountsURL:  strings.TrimRight(def("DROPDAY_SPOTIFY_ACCOUNTS_URL"), "/"),
		APIURL:       strings.TrimRight(def("DROPDAY_SPOTIFY_API_URL"), "/"),
	}
	if c.Spotify.ClientID != "" && c.Spotify.ClientSecret == "" {
		bad("DROPDAY_SPOTIFY_CLIENT_SECRET", "is required when DROPDAY_SPOTIFY_CLIENT_ID is set")
	}
	for name, v := range map[string]string{"DROPDAY_SPOTIFY_ACCOUNTS_URL": c.Spotify.AccountsURL, "DROPDAY_SPOTIFY_API_URL": c.Spotify.APIURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name, "%q is not an http(s) URL", v)
		}
	}
	loadCatalogs(c, getenv, def, bad)
	loadYouTube(c, getenv, def, bad)
	c.Mail = Mail{
		Driver:              def("DROPDAY_MAIL_DRIVER"),
		From:                def("DROPDAY_MAIL_FROM"),
		ResendAPIKey:        strings.TrimSpace(getenv("DROPDAY_RESEND_API_KEY")),
		ResendBaseURL:       strings.TrimRight(def("DROPDAY_RESEND_BASE_URL"), "/"),
		ResendWebhookSecret: strings.TrimSpace(getenv("DROPDAY_RESEND_WEBHOOK_SECRET")),
	}
	switch c.Mail.Driver {
	case "outbox":
	case "resend":
		if c.Mail.ResendAPIKey == "" {
			bad("DROPDAY_RESEND_API_KEY", "is required when DROPDAY_MAIL_DRIVER is resend")
		}
	default:
		bad("DROPDAY_MAIL_DRIVER", "%q must be outbox or resend", c.Mail.Driver)
	}
	if a, err := mail.ParseAddress(c.Mail.From); err != nil || !strings.Contains(a.Address, "@") {
		bad("DROPDAY_MAIL_FROM", "%q is not an email address like Mara Lune <news@example.com>", c.Mail.From)
	}
	if u, err := url.Parse(c.Mail.ResendBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("DROPDAY_RESEND_BASE_URL", "%q is not an http(s) URL", c.Mail.ResendBaseURL)
	}
	if sec := c.Mail.ResendWebhookSecret; sec != "" && !strings.HasPrefix(sec, "whsec_") {
		bad("DROPDAY_RESEND_WEBHOOK_SECRET", "must start with whsec_ (copy it from the webhook's page in Resend)")
	}
	if r, err := strconv.ParseFloat(def("DROPDAY_RESEND_RATE"), 64); err != nil || r <= 0 {
		bad("DROPDAY_RESEND_RATE", "%q must be a number of requests per second above 0", def("DROPDAY_RESEND_RATE"))
	} else {
		c.Mail.ResendRate = r
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("configuration is not valid:\n  %w", joinIndented(errs))
	}
	return c, nil
}

func joinIndented(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  "))
}

// Dialect names the database kind a URL selects.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ParseDatabaseURL tells the dialect and the driver's DSN for a DROPDAY_DATABASE_URL.
// sqlite://./data/dropday.db, sqlite:///abs/path.db and postgres://… are accepted.
func ParseDatabaseURL(raw string) (Dialect, string, error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return "", "", fmt.Errorf("%q is not a valid postgres:// URL", raw)
		}
		return Postgres, raw, nil
	case strings.HasPrefix(raw, "sqlite://"):
		p := strings.TrimPrefix(raw, "sqlite://")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if p == "" {
			return "", "", fmt.Errorf("%q names no SQLite file", raw)
		}
		return SQLite, p, nil
	default:
		return "", "", fmt.Errorf("%q must start with sqlite:// or postgres://", raw)
	}
}

// SQLitePath resolves the SQLite file of a sqlite:// URL (relative paths stay relative to the working directory).
func SQLitePath(dsn string) string { return filepath.Clean(dsn) }

// Origin is scheme://host of the base URL, as browsers send it in Origin.
func (c *Config) Origin() string { return c.BaseURL.Scheme + "://" + c.BaseURL.Host }

// URL joins a path onto the public base URL.
func (c *Config) URL(path string) string { return c.BaseURL.String() + path }

// Secure says whether cookies must carry the Secure flag.
func (c *Config) Secure() bool { return c.BaseURL.Scheme == "https" }
