// Package resendtest is a local stand-in for Resend's email API, for tests,
// `dropday demo` and the benchmark. It speaks the wire protocol of
// /work/shared/PLATFORMS.md §6 over real HTTP: POST /emails and
// /emails/batch, Bearer API keys, the {statusCode,name,message} error body,
// Idempotency-Key replay and its two 409s, and a rolling one-second rate
// limit answered with 429 and the ratelimit-* and retry-after headers. It
// also emits Svix-signed webhooks about the emails it accepted.
//
// Knobs (rate, latency, injected faults, holding sends in flight, the clock)
// can be changed while it runs; counters let tests assert what it saw. It
// logs nothing, so no key or email body can leak through it.
package resendtest

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Endpoint names used by the counters and by Fault.Endpoint.
const (
	EndpointEmails = "emails"
	EndpointBatch  = "batch"
	EndpointOther  = "other"
)

// Defaults and Resend's limits.
const (
	DefaultAPIKey = "re_dropday_test_key"
	// DefaultWebhookSecret is "whsec_" and the base64 of "dropday-test-webhook-secret".
	DefaultWebhookSecret = "whsec_ZHJvcGRheS10ZXN0LXdlYmhvb2stc2VjcmV0"
	// DefaultRate is Resend's documented 2 requests per second per team.
	DefaultRate = 2
	// RateWindow is the rolling window the rate applies to.
	RateWindow = time.Second
	// IdempotencyTTL is how long a key is remembered.
	IdempotencyTTL = 24 * time.Hour
	// MaxBatch, MaxRecipients and MaxIdempotencyKey are Resend's caps.
	MaxBatch          = 100
	MaxRecipients     = 50
	MaxIdempotencyKey = 256
)

// Options configure a Server.
type Options struct {
	APIKey        string // default DefaultAPIKey
	WebhookSecret string // default DefaultWebhookSecret
	// Rate is requests per RateWindow across both endpoints (default
	// DefaultRate; negative turns the limit off).
	Rate int
	// VerifiedDomains, when set, are the domains From may use; any other
	// answers 403 validation_error as for an unverified domain.
	VerifiedDomains []string
	// DiscardBodies keeps everything about an accepted email but its HTML and
	// text, so a 100,000-recipient benchmark does not hold every body.
	DiscardBodies bool
	// Now is the clock for the rate window, key expiry, email and webhook
	// times (default time.Now). Latency, hangs and holds use real time.
	Now func() time.Time
	// Seed makes fractional fault injection reproducible.
	Seed uint64
	// WebhookClient posts Emit's deliveries (default: a 10 s timeout).
	WebhookClient *http.Client
}

// Fault is an injected failure.
type Fault struct {
	// Endpoint limits the fault to one endpoint (Endpoint* constants); empty means any.
	Endpoint string
	// Status is answered with Resend's error body (default 500). A 429 gets
	// the rate-limit headers too.
	Status int
	// Name is the error name (default: Resend's usual name for Status).
	Name string
	// RetryAfter is retry-after for a 429, in seconds (default 1).
	RetryAfter int
	// Hang holds the request without answering until the client gives up or
	// the server closes; nothing is sent.
	Hang bool
}

// Tag is an email's tag as the API received it.
type Tag struct {
	Name  string
	Value string
}

// Email is one accepted email.
type Email struct {
	ID      string
	From    string
	To      []string
	Cc      []string
	Bcc     []string
	ReplyTo []string
	Subject string
	HTML    string // empty with Options.DiscardBodies
	Text    string // empty with Options.DiscardBodies
	Headers map[string]string
	Tags    []Tag
	// IdempotencyKey is the request's key ("" without one).
	IdempotencyKey string
	// Batch is true when it came through /emails/batch.
	Batch bool
	At    time.Time // on the stand-in's clock
}

// Server is the stand-in. Use New for a running httptest server, or
// NewHandler to mount it yourself (it is an http.Handler).
type Server struct {
	// URL is the base URL (no trailing slash). NewHandler leaves it empty;
	// whoever mounts the handler knows (and may set) its base.
	URL string

	ts      *httptest.Server
	closing chan struct{}
	closeMu sync.Once

	mu      sync.Mutex
	opts    Options
	now     func() time.Time
	rng     *rand.Rand
	webhook *http.Client

	rate       int
	window     []time.Time // requests in the rolling window, oldest first, from windowHead
	windowHead int
	latency    time.Duration
	faultsNext []Fault
	faultFrac  float64
	fracFault  Fault
	hold       chan struct{} // non-nil: sends wait here until it is closed
	release    func()        // closes hold
	held       int

	keys      map[string]*idemEntry
	keysSwept time.Time

	emails     []Email
	byID       map[string]int // email id → index in emails
	received   map[string]int // address → emails received
	seen       map[dupKey]int // (address, subject) → emails received
	duplicates int
	replays    int
	sent429    int
	requests   map[string]map[int]int
	emitted    []Delivery
}

type dupKey struct{ addr, subject string }

// New starts a stand-in on a loopback httptest server.
func New(opts Options) *Server {
	s := NewHandler(opts)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// NewHandler returns a stand-in that is not listening; mount it (under a
// prefix with http.StripPrefix) and call Close when done to release held requests.
func NewHandler(opts Options) *Server {
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if opts.WebhookSecret == "" {
		opts.WebhookSecret = DefaultWebhookSecret
	}
	if opts.Rate == 0 {
		opts.Rate = DefaultRate
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	wc := opts.WebhookClient
	if wc == nil {
		wc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Server{
		closing:  make(chan struct{}),
		opts:     opts,
		now:      now,
		rng:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		webhook:  wc,
		rate:     opts.Rate,
		keys:     map[string]*idemEntry{},
		byID:     map[string]int{},
		received: map[string]int{},
		seen:     map[dupKey]int{},
		requests: map[string]map[int]int{},
	}
}

// Close releases held and hung requests and stops the server (if New started one).
func (s *Server) Close() {
	s.closeMu.Do(func() { close(s.closing) })
	if s.ts != nil {
		s.ts.Close()
	}
}

// APIKey is the key the stand-in accepts.
func (s *Server) APIKey() string { return s.opts.APIKey }

// WebhookSecret is the whsec_ secret Emit signs with.
func (s *Server) WebhookSecret() string { return s.opts.WebhookSecret }

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

// SetRate allows n requests per rolling RateWindow (0 or negative turns the
// limit off) and empties the window.
func (s *Server) SetRate(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate = n
	s.window, s.windowHead = nil, 0
}

// SetLatency delays every request by d (real time).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
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

// ClearFaults drops every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultsNext = nil
	s.faultFrac = 0
}

// Hold makes requests that passed validation wait before sending, with their
// idempotency key in flight, until release is called (or the server closes).
// A held request completes even if its client has gone, as Resend finishes
// what it accepted: the way to stage "the client timed out, was it sent?".
// Calling Hold again before release returns the same release.
func (s *Server) Hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold != nil {
		return s.release
	}
	ch := make(chan struct{})
	var once sync.Once
	s.hold = ch
	s.release = func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hold == ch {
				s.hold, s.release = nil, nil
			}
			s.mu.Unlock()
			close(ch)
		})
	}
	return s.release
}

// ---- counters ----

// Held is how many requests are waiting at Hold right now.
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// Emails lists every accepted email in order (replays add none).
func (s *Server) Emails() []Email {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Email(nil), s.emails...)
}

// Email finds an accepted email by id.
func (s *Server) Email(id string) (Email, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byID[id]
	if !ok {
		return Email{}, false
	}
	return s.emails[i], true
}

// Sent is how many emails were accepted.
func (s *Server) Sent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.emails)
}

// Received is how many accepted emails had addr among To, Cc or Bcc
// (case-insensitive).
func (s *Server) Received(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received[strings.ToLower(addr)]
}

// Recipients is how many distinct addresses received at least one email.
func (s *Server) Recipients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.received)
}

// Duplicates is how many deliveries repeated an earlier (address, subject):
// a broadcast sent twice to someone counts, a test send and then the
// broadcast with another subject does not.
func (s *Server) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.duplicates
}

// Replays is how many requests were answered from an idempotency key's
// stored response, sending nothing.
func (s *Server) Replays() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replays
}

// RateLimited is how many 429s were sent (window limit and injected).
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent429
}

// Requests is how many requests to endpoint got status; status 0 counts
// them all, answered or not (RequestCounts tells the unanswered apart).
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

// RequestCounts is a copy of all counts: endpoint → status → requests
// (status 0: no answer, the client gave up).
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

// ---- request handling ----

func endpointOf(path string) string {
	switch path {
	case "/emails":
		return EndpointEmails
	case "/emails/batch":
		return EndpointBatch
	}
	return EndpointOther
}

type statusRecorder struct {
	http.ResponseWriter
	status int
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

// ServeHTTP implements http.Handler: delay, inject faults, authenticate,
// rate-limit, then route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep := endpointOf(r.URL.Path)
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		if s.requests[ep] == nil {
			s.requests[ep] = map[int]int{}
		}
		s.requests[ep][rec.status]++
		s.mu.Unlock()
	}()

	// Read the body first: until it is read, net/http cannot notice that a
	// client gave up, and a hang or a delay would never end.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 && !s.wait(r, latency) {
		return
	}
	if f, ok := s.takeFault(ep); ok {
		s.serveFault(rec, r, f)
		return
	}
	if ep == EndpointOther {
		writeError(rec, http.StatusNotFound, "not_found", "The requested endpoint does not exist.")
		return
	}
	if r.Method != http.MethodPost {
		writeError(rec, http.StatusMethodNotAllowed, "method_not_allowed", "Method is not allowed for the requested path.")
		return
	}
	if !s.authorized(rec, r) {
		return
	}
	if !s.rateCheck(rec) {
		return
	}
	s.handleSend(rec, r, ep == EndpointBatch)
}

// authorized answers 401 or 403 as Resend does and reports whether to go on.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	switch {
	case !ok || token == "":
		writeError(w, http.StatusUnauthorized, "missing_api_key", "Missing API key in the authorization header. Include the following header in the request: Authorization: Bearer YOUR_API_KEY")
		return false
	case token != s.opts.APIKey:
		writeError(w, http.StatusForbidden, "invalid_api_key", "API key is invalid")
		return false
	}
	return true
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
	if s.faultFrac > 0 && (s.fracFault.Endpoint == "" || s.fracFault.Endpoint == ep) && s.rng.Float64() < s.faultFrac {
		return s.fracFault, true
	}
	return Fault{}, false
}

func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	name := f.Name
	if name == "" {
		name = defaultName(status)
	}
	if status == http.StatusTooManyRequests {
		s.mu.Lock()
		s.sent429++
		limit := s.rate
		s.mu.Unlock()
		retry := max(f.RetryAfter, 1)
		// The window itself frees within a second; retry-after is the advice
		// that counts (as with a quota rather than a burst).
		setRateHeaders(w, limit, 0, 1)
		w.Header().Set("Retry-After", itoa(retry))
		writeError(w, status, name, "Too many requests. You can only make "+itoa(limit)+" requests per second.")
		return
	}
	writeError(w, status, name, http.StatusText(status))
}

// defaultName is Resend's usual error name for a status.
func defaultName(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return "validation_error"
	case http.StatusUnauthorized:
		return "missing_api_key"
	case http.StatusForbidden:
		return "invalid_api_key"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusConflict:
		return "concurrent_idempotent_requests"
	case http.StatusTooManyRequests:
		return "rate_limit_exceeded"
	case http.StatusInternalServerError:
		return "internal_server_error"
	}
	return "application_error"
}

// rateCheck counts this request in the rolling window and sets the
// ratelimit-* headers; over the limit it answers 429 and reports false.
func (s *Server) rateCheck(w http.ResponseWriter) bool {
	s.mu.Lock()
	limit := s.rate
	if limit <= 0 {
		s.mu.Unlock()
		return true
	}
	now := s.now()
	// Drop what left the window from the front: O(1) per request.
	for s.windowHead < len(s.window) && now.Sub(s.window[s.windowHead]) >= RateWindow {
		s.windowHead++
	}
	if s.windowHead > len(s.window)/2 {
		s.window = append(s.window[:0], s.window[s.windowHead:]...)
		s.windowHead = 0
	}
	inWindow := len(s.window) - s.windowHead
	allowed := inWindow < limit
	if allowed {
		s.window = append(s.window, now)
		inWindow++
	} else {
		s.sent429++
	}
	// Whole seconds until the oldest counted request leaves the window, as
	// the headers carry integers; at least 1 so a client never spins.
	wait := s.window[s.windowHead].Add(RateWindow).Sub(now)
	reset := max(int((wait+time.Second-1)/time.Second), 1)
	s.mu.Unlock()

	setRateHeaders(w, limit, limit-inWindow, reset)
	if !allowed {
		w.Header().Set("Retry-After", itoa(reset))
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Too many requests. You can only make "+itoa(limit)+" requests per second. See rate limit response headers for more information. Or contact support to increase rate limit.")
	}
	return allowed
}

func setRateHeaders(w http.ResponseWriter, limit, remaining, reset int) {
	h := w.Header()
	h.Set("Ratelimit-Limit", itoa(limit))
	h.Set("Ratelimit-Remaining", itoa(max(remaining, 0)))
	h.Set("Ratelimit-Reset", itoa(reset))
}
