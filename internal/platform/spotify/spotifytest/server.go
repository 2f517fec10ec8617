// Package spotifytest is a local stand-in for Spotify's accounts service and
// Web API, for tests and `dropday demo`. It speaks the wire protocol the
// spotify client uses (see /work/shared/PLATFORMS.md §1) on one base URL:
// /authorize and /api/token as on accounts.spotify.com, /v1/... as on
// api.spotify.com.
//
// Knobs (latency, rate limit, injected faults, revoked or expired grants,
// refresh-token rotation, development mode, the clock) can be changed while
// it runs; counters let tests assert what it saw. It logs nothing, so no
// secret can leak through it.
package spotifytest

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Endpoint names used by the counters.
const (
	EndpointAuthorize = "authorize"
	EndpointToken     = "token"
	EndpointMe        = "me"
	EndpointLibrary   = "library"
	EndpointTracks    = "tracks"
	EndpointAlbums    = "albums"
	EndpointSearch    = "search"
	EndpointOther     = "other"
)

// Defaults for Options left empty.
const (
	DefaultClientID     = "dropday-test-client"
	DefaultClientSecret = "dropday-test-secret"
	// RateWindow is Spotify's rolling rate-limit window.
	RateWindow = 30 * time.Second
	// CodeTTL is how long an authorization code may be exchanged.
	CodeTTL = 10 * time.Minute
	// AccessTokenTTL is expires_in of every access token.
	AccessTokenTTL = time.Hour
	// MaxLibraryURIs is the cap on PUT /v1/me/library.
	MaxLibraryURIs = 40
)

// User is a fake Spotify account.
type User struct {
	ID          string
	DisplayName string
	Email       string
	// AccountID, when set, is returned as account_id.
	AccountID string
	// NotAllowlisted makes the Web API answer 403 "User not registered in
	// the Developer Dashboard", as for a dev-mode app's stranger.
	NotAllowlisted bool
}

// Options configure a Server.
type Options struct {
	ClientID     string // default DefaultClientID
	ClientSecret string // default DefaultClientSecret
	// RedirectURL is the one registered redirect URI; /authorize and the
	// code exchange reject any other. Empty accepts any (for quick tests).
	RedirectURL string
	// AppName is shown on the consent page (default "dropday").
	AppName string
	// Users are the fake accounts (default one user "fan1").
	Users []User
	// ConsentPage shows an HTML consent page at /authorize instead of
	// consenting at once as the first user (auto-consent, for tests).
	ConsentPage bool
	// DevMode mimics a development-mode app: /v1/me has no email.
	DevMode bool
	// Now is the clock for code, token and rate-window expiry (default time.Now).
	Now func() time.Time
	// Seed makes fractional fault injection reproducible.
	Seed uint64
}

// RefreshMode is how the token endpoint answers a refresh.
type RefreshMode int

const (
	// RefreshOmit leaves refresh_token out: the client keeps the old one.
	RefreshOmit RefreshMode = iota
	// RefreshSame returns the same refresh token again.
	RefreshSame
	// RefreshRotate returns a new refresh token; the old one stops working.
	RefreshRotate
)

// Fault is an injected failure.
type Fault struct {
	// Endpoint limits the fault to one endpoint (Endpoint* constants); empty means any.
	Endpoint string
	// Status is answered (500, 502, 503, 429, ...). 429 gets Spotify's rate-limit body.
	Status int
	// RetryAfter is sent with a 429 (seconds, default 1).
	RetryAfter int
	// Hang holds the request until the client gives up or the server closes.
	Hang bool
}

// TokenRequest is what the token endpoint saw (no secrets).
type TokenRequest struct {
	GrantType string
	// AuthMethod is "basic", "body" (client_id + client_secret in the form),
	// "public" (client_id only, PKCE) or "none".
	AuthMethod string
	// PKCE is "ok", "mismatch" or "" (not a PKCE exchange).
	PKCE   string
	Status int
}

// Server is the stand-in. Use New for a running httptest server, or
// NewHandler to mount it yourself (it is an http.Handler).
type Server struct {
	// URL is the base URL for both AccountsURL and APIURL. NewHandler leaves
	// it empty; whoever mounts the handler knows (and may set) its base.
	URL string

	ts      *httptest.Server
	closing chan struct{}
	closeMu sync.Once

	mu   sync.Mutex
	opts Options
	now  func() time.Time
	rng  *rand.Rand

	users map[string]*User
	order []string // user ids in the order added (consent page picker)

	currentUser string // who "is logged in" for auto-consent
	denyConsent bool
	refreshMode RefreshMode

	codes   map[string]*authCode
	access  map[string]*accessToken
	refresh map[string]*refreshToken
	grants  []*grant

	tracks map[string]*Track
	albums map[string]*Album

	latency      time.Duration
	rateLimit    int
	quotaBody    bool
	window       []time.Time // requests in the rolling window, oldest first, from windowHead
	windowHead   int
	faultsNext   []Fault
	faultFrac    float64
	fracFault    Fault
	mix          []Share
	requests     map[string]map[int]int
	saves        map[saveKey]int
	saveOrder    []Save
	duplicates   int
	sent429      int
	libraryCalls []int
	tokenLog     []TokenRequest
}

type saveKey struct{ user, uri string }

// Save is one recorded library save.
type Save struct {
	User string
	URI  string
	At   time.Time // on the stand-in's clock
}

type authCode struct {
	clientID    string
	redirectURI string
	challenge   string
	scopes      []string
	user        string
	expires     time.Time
	used        bool
}

type grant struct {
	user         string
	scopes       []string
	pkce         bool
	authorizedAt time.Time
	revoked      bool
	expired      bool
}

type accessToken struct {
	grant   *grant // nil for client credentials
	expires time.Time
}

type refreshToken struct {
	grant *grant
	used  bool // rotated away
}

// tokenLogSize is how many token requests are kept for assertions.
const tokenLogSize = 100

// New starts a stand-in on a loopback httptest server.
func New(opts Options) *Server {
	s := NewHandler(opts)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// NewHandler returns a stand-in that is not listening; mount it (under a
// prefix with http.StripPrefix) and call Close when done to release hung requests.
func NewHandler(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.AppName == "" {
		opts.AppName = "dropday"
	}
	if len(opts.Users) == 0 {
		opts.Users = []User{{ID: "fan1", DisplayName: "Fan One", Email: "fan1@example.test"}}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		closing:  make(chan struct{}),
		opts:     opts,
		now:      now,
		rng:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		users:    map[string]*User{},
		codes:    map[string]*authCode{},
		access:   map[string]*accessToken{},
		refresh:  map[string]*refreshToken{},
		tracks:   map[string]*Track{},
		albums:   map[string]*Album{},
		requests: map[string]map[int]int{},
		saves:    map[saveKey]int{},
	}
	for _, u := range opts.Users {
		s.addUserLocked(u)
	}
	s.currentUser = opts.Users[0].ID
	return s
}

// Close releases hung requests and stops the server (if New started one).
func (s *Server) Close() {
	s.closeMu.Do(func() { close(s.closing) })
	if s.ts != nil {
		s.ts.Close()
	}
}

// ClientID and ClientSecret are the registered app's credentials.
func (s *Server) ClientID() string     { return s.opts.ClientID }
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// ---- knobs ----

// SetClock replaces the clock (nil means time.Now).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now == nil {
		now = time.Now
	}
	s.now = now
}

// AddUser adds or replaces a fake account.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUserLocked(u)
}

func (s *Server) addUserLocked(u User) {
	if _, ok := s.users[u.ID]; !ok {
		s.order = append(s.order, u.ID)
	}
	s.users[u.ID] = &u
}

// Grant records a consent the user gave earlier (adding the user if new) and
// returns its refresh token, as if the fan had been through /authorize: for
// seeding many pre-saves without a browser round trip each (benchmarks,
// fault tests). The grant has the user-library-modify scope.
func (s *Server) Grant(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[userID]; !ok {
		s.addUserLocked(User{ID: userID, DisplayName: userID})
	}
	g := &grant{user: userID, scopes: []string{"user-library-modify"}, authorizedAt: s.now()}
	s.grants = append(s.grants, g)
	rt := randomToken("AQ")
	s.refresh[rt] = &refreshToken{grant: g}
	return rt
}

// SetCurrentUser picks who auto-consent (and the consent page's default) signs in as.
func (s *Server) SetCurrentUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.currentUser = id
}

// SetAllowlisted marks a user as (not) on the dev-mode allowlist.
func (s *Server) SetAllowlisted(id string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[id]; u != nil {
		u.NotAllowlisted = !ok
	}
}

// SetConsentPage switches between the HTML consent page and auto-consent.
func (s *Server) SetConsentPage(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.ConsentPage = on
}

// SetDenyConsent makes auto-consent answer error=access_denied.
func (s *Server) SetDenyConsent(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denyConsent = deny
}

// SetDevMode switches development mode (no email on /v1/me).
func (s *Server) SetDevMode(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.DevMode = on
}

// SetRefreshMode chooses how refresh responses treat refresh_token.
func (s *Server) SetRefreshMode(m RefreshMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshMode = m
}

// RevokeUser withdraws every grant the user gave: refreshes answer
// invalid_grant "Refresh token revoked" and access tokens stop working.
func (s *Server) RevokeUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.grants {
		if g.user == id {
			g.revoked = true
		}
	}
}

// ExpireGrant makes the user's refresh tokens expired (as six months after
// consent): refreshes answer invalid_grant "Invalid refresh token".
func (s *Server) ExpireGrant(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.grants {
		if g.user == id {
			g.expired = true
		}
	}
}

// SetLatency delays every request by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetRateLimit allows n Web API requests per rolling 30-second window (0
// turns it off); quotaExceeded sends the QUOTA_EXCEEDED body variant.
func (s *Server) SetRateLimit(n int, quotaExceeded bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit = n
	s.quotaBody = quotaExceeded
	s.window, s.windowHead = nil, 0
}

// FailNext makes the next n matching requests fail with f.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faultsNext = append(s.faultsNext, f)
	}
}

// FailFraction makes a fraction p (0..1) of matching requests fail with f; 0 turns it off.
func (s *Server) FailFraction(p float64, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultFrac = p
	s.fracFault = f
}

// Share is a fault answered to a fraction of requests (see FailMix).
type Share struct {
	Fraction float64
	Fault    Fault
}

// FailMix makes every request (any endpoint) draw once from the seeded
// generator (Options.Seed) and fail with the first share its draw falls in:
// FailMix(Share{0.05, Fault{Status: 429}}, Share{0.01, Fault{Status: 500}},
// Share{0.005, Fault{Hang: true}}) answers 5% 429s, 1% 500s and hangs 0.5%,
// the same sequence for the same seed and order of requests. No shares
// turns it off. It applies after FailNext's faults and instead of
// FailFraction's.
func (s *Server) FailMix(shares ...Share) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mix = append([]Share(nil), shares...)
}

// ClearFaults drops every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultsNext = nil
	s.faultFrac = 0
	s.mix = nil
}

// ---- counters ----

// Requests is how many requests to endpoint got status (status 0: any status).
func (s *Server) Requests(endpoint string, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status != 0 {
		return s.requests[endpoint][status]
	}
	n := 0
	for _, c := range s.requests[endpoint] {
		n += c
	}
	return n
}

// RequestCounts is a copy of all counts: endpoint → status → requests.
func (s *Server) RequestCounts() map[string]map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[int]int, len(s.requests))
	for e, m := range s.requests {
		out[e] = make(map[int]int, len(m))
		for st, n := range m {
			out[e][st] = n
		}
	}
	return out
}

// Saves is how many times user saved uri.
func (s *Server) Saves(user, uri string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves[saveKey{user, uri}]
}

// Saved lists every save in order, duplicates included.
func (s *Server) Saved() []Save {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Save(nil), s.saveOrder...)
}

// SavedBy lists the distinct URIs user has saved, in first-saved order.
func (s *Server) SavedBy(user string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, sv := range s.saveOrder {
		if sv.User == user && !seen[sv.URI] {
			seen[sv.URI] = true
			out = append(out, sv.URI)
		}
	}
	return out
}

// Duplicates is how many saves repeated an earlier (user, uri).
func (s *Server) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.duplicates
}

// RateLimited is how many 429s were sent (window limit and injected).
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent429
}

// LibraryCalls lists the number of URIs in each successful PUT /v1/me/library.
func (s *Server) LibraryCalls() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.libraryCalls...)
}

// TokenRequests lists the last 100 token requests, oldest first.
func (s *Server) TokenRequests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TokenRequest(nil), s.tokenLog...)
}

// ---- request handling ----

func endpointOf(path string) string {
	switch {
	case path == "/authorize":
		return EndpointAuthorize
	case path == "/api/token":
		return EndpointToken
	case path == "/v1/me":
		return EndpointMe
	case path == "/v1/me/library":
		return EndpointLibrary
	case strings.HasPrefix(path, "/v1/tracks/"):
		return EndpointTracks
	case strings.HasPrefix(path, "/v1/albums/"):
		return EndpointAlbums
	case path == "/v1/search":
		return EndpointSearch
	}
	return EndpointOther
}

type statusRecorder struct {
	http.ResponseWriter
	status   int
	noAnswer bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// ServeHTTP implements http.Handler: count, delay, inject faults, rate-limit, route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep := endpointOf(r.URL.Path)
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		if s.requests[ep] == nil {
			s.requests[ep] = map[int]int{}
		}
		// A request that got no answer (hung, client gone) counts as status 0.
		st := rec.status
		if st == 0 && !rec.noAnswer {
			st = http.StatusOK
		}
		s.requests[ep][st]++
		s.mu.Unlock()
	}()

	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 && !s.wait(r, latency) {
		rec.noAnswer = true
		return
	}
	if f, ok := s.takeFault(ep); ok {
		s.serveFault(rec, r, f)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		if retry, limited := s.rateCheck(); limited {
			s.mu.Lock()
			quota := s.quotaBody
			s.sent429++
			s.mu.Unlock()
			writeRateLimited(rec, retry, quota)
			return
		}
	}
	switch ep {
	case EndpointAuthorize:
		s.handleAuthorize(rec, r)
	case EndpointToken:
		s.handleToken(rec, r)
	case EndpointMe:
		s.handleMe(rec, r)
	case EndpointLibrary:
		s.handleLibrary(rec, r)
	case EndpointTracks:
		s.handleTrack(rec, r)
	case EndpointAlbums:
		s.handleAlbum(rec, r)
	case EndpointSearch:
		s.handleSearch(rec, r)
	default:
		if strings.HasPrefix(r.URL.Path, "/listen/") {
			s.serveListen(rec, r)
			return
		}
		apiErr(rec, http.StatusNotFound, "Service not found")
	}
}

// wait sleeps d unless the client leaves or the server closes first.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closing:
	}
	return false
}

func (s *Server) takeFault(ep string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faultsNext {
		if f.Endpoint == "" || f.Endpoint == ep {
			s.faultsNext = append(s.faultsNext[:i], s.faultsNext[i+1:]...)
			return f, true
		}
	}
	if len(s.mix) > 0 {
		draw := s.rng.Float64()
		for _, sh := range s.mix {
			if draw < sh.Fraction {
				return sh.Fault, true
			}
			draw -= sh.Fraction
		}
		return Fault{}, false
	}
	if s.faultFrac > 0 && (s.fracFault.Endpoint == "" || s.fracFault.Endpoint == ep) && s.rng.Float64() < s.faultFrac {
		return s.fracFault, true
	}
	return Fault{}, false
}

func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if f.Hang {
		if rec, ok := w.(*statusRecorder); ok {
			rec.noAnswer = true
		}
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	}
	switch f.Status {
	case http.StatusTooManyRequests:
		s.mu.Lock()
		s.sent429++
		quota := s.quotaBody
		s.mu.Unlock()
		writeRateLimited(w, max(f.RetryAfter, 1), quota)
	case 0:
		apiErr(w, http.StatusInternalServerError, "Server error")
	default:
		apiErr(w, f.Status, http.StatusText(f.Status))
	}
}

// rateCheck counts this request in the rolling window, or says how many
// seconds until the oldest counted request leaves it.
func (s *Server) rateCheck() (retryAfter int, limited bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rateLimit <= 0 {
		return 0, false
	}
	now := s.now()
	// Drop what left the window from the front: O(1) per request, even with
	// 60,000 requests in a 30-second window.
	for s.windowHead < len(s.window) && now.Sub(s.window[s.windowHead]) >= RateWindow {
		s.windowHead++
	}
	if s.windowHead > len(s.window)/2 {
		s.window = append(s.window[:0], s.window[s.windowHead:]...)
		s.windowHead = 0
	}
	if len(s.window)-s.windowHead < s.rateLimit {
		s.window = append(s.window, now)
		return 0, false
	}
	wait := s.window[s.windowHead].Add(RateWindow).Sub(now)
	secs := int((wait + time.Second - 1) / time.Second)
	return max(secs, 1), true
}
