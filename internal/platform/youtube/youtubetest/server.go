// Package youtubetest is a local stand-in for Google's OAuth and the parts
// of the YouTube Data API v3 dropday uses, speaking their wire protocol
// (PLATFORMS.md §5): a consent page with fake users, PKCE, single-use codes,
// tokens and refresh (invalid_grant "Token has been expired or revoked."),
// channels.list mine=true, userinfo, videos.rate answering 204, 404
// videoNotFound, and the daily quota: every like costs 50 units of a
// settable budget and, once it is spent, the 403 quotaExceeded body until
// midnight Pacific time by the stand-in's settable clock. It also serves a
// small watch page per video, so a smart link's button stays on the machine.
package youtubetest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dropday/dropday/internal/platform/standin"
)

// Endpoints, for Requests and faults.
const (
	EndpointAuthorize = "authorize"
	EndpointToken     = "token"
	EndpointChannels  = "channels"
	EndpointUserinfo  = "userinfo"
	EndpointRate      = "videos.rate"
	EndpointWatch     = "watch"
)

// Paths the stand-in serves (its URL + path is each configured URL).
const (
	AuthPath  = "/o/oauth2/v2/auth"
	TokenPath = "/token"
)

// Costs and the default day's budget, as YouTube counts them.
const (
	LikeCost     = 50
	ChannelsCost = 1
	DailyQuota   = 10000
)

const (
	scopeYouTube = "https://www.googleapis.com/auth/youtube"
	scopeForce   = "https://www.googleapis.com/auth/youtube.force-ssl"
)

var knownScopes = map[string]string{
	scopeYouTube: "Manage your YouTube account",
	scopeForce:   "See, edit, and permanently delete your YouTube videos, ratings, comments and captions",
	"https://www.googleapis.com/auth/youtube.readonly": "View your YouTube account",
	"email":   "See your primary Google Account email address",
	"profile": "See your personal info",
	"openid":  "Associate you with your personal info on Google",
	"https://www.googleapis.com/auth/userinfo.email": "See your primary Google Account email address",
}

// User is a fake Google account with a YouTube channel (ChannelID "" has none).
type User struct {
	ID, Name, Email, ChannelID string
}

// Video is a video fans can like.
type Video struct {
	ID, Title, Artist string
}

// Options configure the stand-in.
type Options struct {
	ClientID, ClientSecret string
	// RedirectURL is the one registered redirect URI ("" accepts any absolute one).
	RedirectURL string
	// Users are the accounts (default: one, "fan1").
	Users []User
	// ConsentPage shows a consent page with a user picker; without it the
	// current user consents at once (tests).
	ConsentPage bool
	// Now is the clock codes, tokens and the quota day are judged by (nil: time.Now).
	Now func() time.Time
	// Quota is the day's budget in units (0: DailyQuota).
	Quota int
}

// Server is the running stand-in. Its URL is AuthURL, TokenURL's and the API's base.
type Server struct {
	standin.Base
	URL  string
	opts Options
	srv  *httptest.Server

	mu      sync.Mutex
	users   map[string]*User
	order   []string
	current string
	deny    bool
	page    bool
	videos  map[string]Video
	codes   map[string]*authCode
	access  map[string]*accessToken
	refresh map[string]*grant
	likes   map[string]map[string]int // user → video → likes
	quota   int
	used    int
	day     string // the Pacific date `used` counts for
	tokens  []TokenRequest
}

type authCode struct {
	redirectURI, challenge, user string
	scopes                       []string
	expires                      time.Time
	used                         bool
}

type grant struct {
	user    string
	scopes  []string
	revoked bool
}

type accessToken struct {
	g       *grant
	expires time.Time
}

// TokenRequest is what the token endpoint saw (never the secrets).
type TokenRequest struct {
	GrantType string
	// PKCE is "ok", "mismatch" or "" (no challenge).
	PKCE   string
	Status int
}

// CodeTTL and AccessTTL are Google's lifetimes.
const (
	CodeTTL   = 10 * time.Minute
	AccessTTL = 3599 * time.Second
)

// New starts the stand-in on a loopback port.
func New(opts Options) *Server {
	s := NewHandler(opts)
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// NewHandler builds the stand-in without a listener (set URL yourself).
func NewHandler(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = "123456789012-standin.apps.googleusercontent.com"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "GOCSPX-" + randomToken("")[:28]
	}
	if len(opts.Users) == 0 {
		opts.Users = []User{{ID: "fan1", Name: "Fan One", Email: "fan1@example.com", ChannelID: "UCfan1fan1fan1fan1fan1fa"}}
	}
	s := &Server{opts: opts, users: map[string]*User{}, videos: map[string]Video{}, codes: map[string]*authCode{},
		access: map[string]*accessToken{}, refresh: map[string]*grant{}, likes: map[string]map[string]int{},
		quota: opts.Quota, page: opts.ConsentPage}
	if s.quota <= 0 {
		s.quota = DailyQuota
	}
	s.Init(opts.Now)
	for _, u := range opts.Users {
		s.addUserLocked(u)
	}
	s.current = opts.Users[0].ID
	return s
}

// Close stops the listener started by New.
func (s *Server) Close() {
	s.CloseBase()
	if s.srv != nil {
		s.srv.Close()
	}
}

// ClientID and ClientSecret are the registered app's credentials.
func (s *Server) ClientID() string     { return s.opts.ClientID }
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// AddUser adds (or replaces) an account.
func (s *Server) AddUser(u User) { s.mu.Lock(); s.addUserLocked(u); s.mu.Unlock() }

func (s *Server) addUserLocked(u User) {
	if _, ok := s.users[u.ID]; !ok {
		s.order = append(s.order, u.ID)
	}
	uu := u
	s.users[u.ID] = &uu
}

// SetCurrentUser is who consents without a page.
func (s *Server) SetCurrentUser(id string) { s.mu.Lock(); s.current = id; s.mu.Unlock() }

// SetDenyConsent makes the auto-consent press "Cancel".
func (s *Server) SetDenyConsent(deny bool) { s.mu.Lock(); s.deny = deny; s.mu.Unlock() }

// SetConsentPage turns the consent page on or off.
func (s *Server) SetConsentPage(on bool) { s.mu.Lock(); s.page = on; s.mu.Unlock() }

// AddVideo lists a video.
func (s *Server) AddVideo(v Video) { s.mu.Lock(); s.videos[v.ID] = v; s.mu.Unlock() }

// RevokeUser withdraws every grant of the user (they removed the app in
// their Google account): refresh answers invalid_grant, access tokens 401.
func (s *Server) RevokeUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.refresh {
		if g.user == id {
			g.revoked = true
		}
	}
}

// SetQuota sets the day's budget in units.
func (s *Server) SetQuota(units int) { s.mu.Lock(); s.quota = units; s.mu.Unlock() }

// QuotaUsed is how many units today (Pacific) has used.
func (s *Server) QuotaUsed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollDayLocked()
	return s.used
}

// Likes is how many times user liked video (a repeat like is harmless on YouTube, counted here).
func (s *Server) Likes(user, video string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.likes[user][video]
}

// LikedBy lists the videos user likes, sorted.
func (s *Server) LikedBy(user string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for v, n := range s.likes[user] {
		if n > 0 {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// TokenRequests lists what the token endpoint saw.
func (s *Server) TokenRequests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TokenRequest(nil), s.tokens...)
}

// WatchURL is the stand-in's watch page of a video (a music.youtube.com
// watch address, served locally).
func (s *Server) WatchURL(id string) string { return s.URL + "/watch?v=" + id }

var pacific = func() *time.Location {
	if l, err := time.LoadLocation("America/Los_Angeles"); err == nil {
		return l
	}
	return time.FixedZone("PST", -8*3600)
}()

// rollDayLocked starts a new quota day at midnight Pacific.
func (s *Server) rollDayLocked() {
	d := s.Now().In(pacific).Format("2006-01-02")
	if d != s.day {
		s.day, s.used = d, 0
	}
}

// spendLocked takes units from today's budget, or says it is spent.
func (s *Server) spendLocked(units int) bool {
	s.rollDayLocked()
	if s.used+units > s.quota {
		return false
	}
	s.used += units
	return true
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case AuthPath:
		s.Serve(w, r, EndpointAuthorize, s.fault, func(w http.ResponseWriter) { s.handleAuthorize(w, r) })
	case TokenPath:
		s.Serve(w, r, EndpointToken, s.tokenFault, func(w http.ResponseWriter) { s.handleToken(w, r) })
	case "/youtube/v3/channels":
		s.Serve(w, r, EndpointChannels, s.fault, func(w http.ResponseWriter) { s.handleChannels(w, r) })
	case "/oauth2/v3/userinfo":
		s.Serve(w, r, EndpointUserinfo, s.fault, func(w http.ResponseWriter) { s.handleUserinfo(w, r) })
	case "/youtube/v3/videos/rate":
		s.Serve(w, r, EndpointRate, s.fault, func(w http.ResponseWriter) { s.handleRate(w, r) })
	case "/watch":
		s.Serve(w, r, EndpointWatch, s.fault, func(w http.ResponseWriter) { s.handleWatch(w, r) })
	default:
		standin.NotFoundPage(w)
	}
}

func (s *Server) fault(w http.ResponseWriter, f standin.Fault) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", standin.Itoa(int64(f.RetryAfter)))
	}
	reason := "backendError"
	if f.Status == http.StatusTooManyRequests || f.Status == http.StatusForbidden {
		reason = "rateLimitExceeded"
	}
	apiErr(w, f.Status, "youtube.api", reason, http.StatusText(f.Status))
}

func (s *Server) tokenFault(w http.ResponseWriter, f standin.Fault) {
	tokenErr(w, f.Status, "internal_failure", http.StatusText(f.Status))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiErr answers in the Data API's error shape.
func apiErr(w http.ResponseWriter, status int, domain, reason, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "message": msg,
		"errors": []map[string]string{{"message": msg, "domain": domain, "reason": reason}},
	}})
}

func tokenErr(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func redirectWith(w http.ResponseWriter, r *http.Request, redirectURI string, vals url.Values) {
	u, _ := url.Parse(redirectURI)
	q := u.Query()
	for k, vs := range vals {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad request", http.StatusBadRequest)
		return
	}
	f := r.Form
	redirect := f.Get("redirect_uri")
	// Google shows these on its own page ("Error 400: redirect_uri_mismatch"), never redirecting.
	if f.Get("client_id") != s.opts.ClientID {
		http.Error(w, "Error 401: invalid_client", http.StatusUnauthorized)
		return
	}
	if u, err := url.Parse(redirect); err != nil || !u.IsAbs() || (s.opts.RedirectURL != "" && redirect != s.opts.RedirectURL) {
		http.Error(w, "Error 400: redirect_uri_mismatch", http.StatusBadRequest)
		return
	}
	state := f.Get("state")
	fail := func(code string) { redirectWith(w, r, redirect, url.Values{"error": {code}, "state": {state}}) }
	if f.Get("response_type") != "code" {
		fail("unsupported_response_type")
		return
	}
	if f.Get("code_challenge_method") != "S256" || len(f.Get("code_challenge")) != 43 {
		// dropday always sends S256 PKCE; the stand-in insists, so a regression shows.
		fail("invalid_request")
		return
	}
	scopes := strings.Fields(f.Get("scope"))
	if len(scopes) == 0 {
		fail("invalid_scope")
		return
	}
	for _, sc := range scopes {
		if _, ok := knownScopes[sc]; !ok {
			fail("invalid_scope")
			return
		}
	}
	if f.Get("access_type") != "offline" {
		// Without offline access Google sends no refresh token; say so loudly.
		fail("invalid_request")
		return
	}
	s.mu.Lock()
	page, deny, current := s.page, s.deny, s.current
	s.mu.Unlock()
	if r.Method == http.MethodPost {
		if r.PostForm.Get("action") != "allow" {
			fail("access_denied")
			return
		}
		user := r.PostForm.Get("user")
		if user == "" {
			user = current
		}
		s.issueCode(w, r, redirect, state, f.Get("code_challenge"), scopes, user)
		return
	}
	if !page {
		if deny {
			fail("access_denied")
			return
		}
		s.issueCode(w, r, redirect, state, f.Get("code_challenge"), scopes, current)
		return
	}
	s.renderConsent(w, r, scopes, current)
}

func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, redirect, state, challenge string, scopes []string, user string) {
	s.mu.Lock()
	if _, ok := s.users[user]; !ok {
		s.mu.Unlock()
		http.Error(w, "Unknown account", http.StatusBadRequest)
		return
	}
	code := "4/0A" + randomToken("")
	s.codes[code] = &authCode{redirectURI: redirect, challenge: challenge, scopes: scopes, user: user, expires: s.Now().Add(CodeTTL)}
	s.mu.Unlock()
	redirectWith(w, r, redirect, url.Values{"code": {code}, "scope": {strings.Join(scopes, " ")}, "state": {state}})
}

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in with Google (stand-in)</title>
<style>
body{font-family:system-ui,sans-serif;background:#fff;color:#202124;display:flex;justify-content:center;padding:2rem 1rem;margin:0}
main{max-width:28rem;width:100%;border:1px solid #dadce0;border-radius:8px;padding:1.5rem}
h1{font-size:1.3rem;font-weight:500}
label{display:block;margin:1rem 0 .3rem}
select{font-size:1rem;padding:.4rem;width:100%}
.buttons{display:flex;justify-content:flex-end;gap:.75rem;margin-top:1.5rem}
button{font-size:.95rem;padding:.55rem 1.4rem;border-radius:4px;border:1px solid #dadce0;background:#fff;color:#1a73e8;cursor:pointer}
button[value=allow]{background:#1a73e8;border-color:#1a73e8;color:#fff}
button:focus-visible{outline:3px solid #174ea6;outline-offset:2px}
.note{color:#5f6368;font-size:.85rem;margin-top:1.5rem}
</style></head><body><main>
<h1 data-testid="consent-title">dropday wants to access your Google Account</h1>
<ul data-testid="consent-scopes">{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="{{.Action}}">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<label for="user">Choose an account</label>
<select id="user" name="user" data-testid="consent-user">
{{range .Users}}<option value="{{.ID}}"{{if .Selected}} selected{{end}}>{{.Name}}</option>
{{end}}</select>
<div class="buttons">
<button type="submit" name="action" value="deny" data-testid="consent-cancel">Cancel</button>
<button type="submit" name="action" value="allow" data-testid="consent-agree">Allow</button>
</div></form>
<p class="note">This is dropday's local Google and YouTube stand-in. Nothing leaves this machine.</p>
</main></body></html>`))

func (s *Server) renderConsent(w http.ResponseWriter, r *http.Request, scopes []string, current string) {
	type opt struct {
		ID, Name string
		Selected bool
	}
	s.mu.Lock()
	var users []opt
	for _, id := range s.order {
		u := s.users[id]
		users = append(users, opt{ID: u.ID, Name: u.Name + " (" + u.Email + ")", Selected: u.ID == current})
	}
	s.mu.Unlock()
	var texts []string
	for _, sc := range scopes {
		texts = append(texts, knownScopes[sc])
	}
	hidden := map[string]string{}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "state", "scope", "code_challenge",
		"code_challenge_method", "access_type", "prompt", "include_granted_scopes"} {
		if v := r.Form.Get(k); v != "" {
			hidden[k] = v
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = consentTmpl.Execute(w, map[string]any{"Scopes": texts, "Users": users, "Hidden": hidden, "Action": AuthPath})
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	tr := TokenRequest{}
	rec := &standin.Recorder{ResponseWriter: w}
	defer func() {
		tr.Status = rec.Status
		s.mu.Lock()
		s.tokens = append(s.tokens, tr)
		s.mu.Unlock()
	}()
	w = rec
	if r.Method != http.MethodPost {
		tokenErr(w, http.StatusMethodNotAllowed, "invalid_request", "Method not allowed")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		tokenErr(w, http.StatusBadRequest, "invalid_request", "Malformed body")
		return
	}
	f := r.PostForm
	tr.GrantType = f.Get("grant_type")
	id, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if id != s.opts.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
		tokenErr(w, http.StatusUnauthorized, "invalid_client", "Unauthorized")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	switch tr.GrantType {
	case "authorization_code":
		code := s.codes[f.Get("code")]
		if code == nil || code.used || !now.Before(code.expires) {
			tokenErr(w, http.StatusBadRequest, "invalid_grant", "Bad Request")
			return
		}
		code.used = true // single use, whatever happens next
		if f.Get("redirect_uri") != code.redirectURI {
			tokenErr(w, http.StatusBadRequest, "redirect_uri_mismatch", "Bad Request")
			return
		}
		if challengeOf(f.Get("code_verifier")) != code.challenge {
			tr.PKCE = "mismatch"
			tokenErr(w, http.StatusBadRequest, "invalid_grant", "Invalid code verifier.")
			return
		}
		tr.PKCE = "ok"
		g := &grant{user: code.user, scopes: code.scopes}
		at, rt := "ya29."+randomToken(""), "1//0"+randomToken("")
		s.access[at] = &accessToken{g: g, expires: now.Add(AccessTTL)}
		s.refresh[rt] = g
		writeJSON(w, http.StatusOK, map[string]any{"access_token": at, "expires_in": int(AccessTTL / time.Second),
			"refresh_token": rt, "scope": strings.Join(g.scopes, " "), "token_type": "Bearer"})
	case "refresh_token":
		g := s.refresh[f.Get("refresh_token")]
		if g == nil || g.revoked {
			tokenErr(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
			return
		}
		at := "ya29." + randomToken("")
		s.access[at] = &accessToken{g: g, expires: now.Add(AccessTTL)}
		// Google keeps the refresh token: the answer has none.
		writeJSON(w, http.StatusOK, map[string]any{"access_token": at, "expires_in": int(AccessTTL / time.Second),
			"scope": strings.Join(g.scopes, " "), "token_type": "Bearer"})
	default:
		tokenErr(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+tr.GrantType)
	}
}

// authorize finds the bearer token's grant, answering 401 itself when there is none.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) *grant {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	at := s.access[tok]
	s.mu.Unlock()
	if at == nil || at.g.revoked || !s.Now().Before(at.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		apiErr(w, http.StatusUnauthorized, "global", "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return nil
	}
	return at.g
}

func has(scopes []string, want ...string) bool {
	for _, s := range scopes {
		for _, w := range want {
			if s == w {
				return true
			}
		}
	}
	return false
}

func (s *Server) handleChannels(w http.ResponseWriter, r *http.Request) {
	g := s.authorize(w, r)
	if g == nil {
		return
	}
	if r.URL.Query().Get("mine") != "true" || r.URL.Query().Get("part") == "" {
		apiErr(w, http.StatusBadRequest, "youtube.parameter", "missingRequiredParameter", "No filter selected. Expected one of: mine, id, forHandle, forUsername, managedByMe")
		return
	}
	s.mu.Lock()
	ok := s.spendLocked(ChannelsCost)
	u := s.users[g.user]
	s.mu.Unlock()
	if !ok {
		quotaExceeded(w)
		return
	}
	items := []map[string]any{}
	if u != nil && u.ChannelID != "" {
		items = append(items, map[string]any{"kind": "youtube#channel", "id": u.ChannelID,
			"snippet": map[string]any{"title": u.Name}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "youtube#channelListResponse",
		"pageInfo": map[string]int{"totalResults": len(items), "resultsPerPage": 5}, "items": items})
}

func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	g := s.authorize(w, r)
	if g == nil {
		return
	}
	if !has(g.scopes, "email", "https://www.googleapis.com/auth/userinfo.email") {
		writeJSON(w, http.StatusOK, map[string]any{"sub": g.user})
		return
	}
	s.mu.Lock()
	u := s.users[g.user]
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"sub": g.user, "email": u.Email, "email_verified": true})
}

func quotaExceeded(w http.ResponseWriter) {
	apiErr(w, http.StatusForbidden, "youtube.quota", "quotaExceeded",
		"The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.")
}

func (s *Server) handleRate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		apiErr(w, http.StatusMethodNotAllowed, "global", "httpMethodNotAllowed", "Method Not Allowed")
		return
	}
	g := s.authorize(w, r)
	if g == nil {
		return
	}
	q := r.URL.Query()
	id, rating := q.Get("id"), q.Get("rating")
	if !has(g.scopes, scopeYouTube, scopeForce) {
		apiErr(w, http.StatusForbidden, "global", "insufficientPermissions", "Request had insufficient authentication scopes.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.spendLocked(LikeCost) {
		quotaExceeded(w)
		return
	}
	if rating != "like" && rating != "dislike" && rating != "none" {
		apiErr(w, http.StatusBadRequest, "youtube.video", "invalidRating", "The request contained an unexpected value for the <code>rating</code> parameter.")
		return
	}
	if _, ok := s.videos[id]; !ok {
		apiErr(w, http.StatusNotFound, "youtube.video", "videoNotFound", "The video identified by the <code>id</code> parameter could not be found.")
		return
	}
	if s.likes[g.user] == nil {
		s.likes[g.user] = map[string]int{}
	}
	switch rating {
	case "like":
		s.likes[g.user][id]++
	case "none", "dislike":
		delete(s.likes[g.user], id)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleWatch(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("v")
	s.mu.Lock()
	v, ok := s.videos[id]
	s.mu.Unlock()
	if !ok || !validID.MatchString(id) {
		standin.NotFoundPage(w)
		return
	}
	standin.ListenPage(w, standin.Listen{Platform: "YouTube Music", Kind: "video", ID: id, Name: v.Title, Artist: v.Artist})
}

var validID = regexp.MustCompile(`^[A-Za-z0-9_-]{11}$`)

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func randomToken(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}
