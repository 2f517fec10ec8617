package tidaltest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// CodeTTL is how long an authorization code may be exchanged.
const CodeTTL = 10 * time.Minute

// User is a fake TIDAL account.
type User struct {
	ID       string // digits, like TIDAL's user ids
	Username string
	Email    string
	Country  string // default US
}

// RefreshMode is how the token endpoint answers a refresh.
type RefreshMode int

const (
	// RefreshOmit leaves refresh_token out, as TIDAL documents: the client keeps the old one.
	RefreshOmit RefreshMode = iota
	// RefreshRotate returns a new refresh token; the old one stops working.
	RefreshRotate
)

// TokenRequest is what the token endpoint saw (no secrets).
type TokenRequest struct {
	GrantType string
	// AuthMethod is "basic", "body" (client_id + client_secret in the form) or "public" (client_id only).
	AuthMethod string
	// PKCE is "ok", "mismatch" or "" (not a code exchange).
	PKCE   string
	Status int
}

// knownScopes are TIDAL's third-party scopes (r_usr and w_usr are internal only).
var knownScopes = map[string]string{
	"collection.read":      "See your collection",
	"collection.write":     "Add to your collection",
	"user.read":            "See your account (username, email, country)",
	"playlists.read":       "See your playlists",
	"playlists.write":      "Change your playlists",
	"entitlements.read":    "See your subscription",
	"playback":             "Play music",
	"recommendations.read": "See your recommendations",
	"search.read":          "Search for you",
	"search.write":         "Change your search history",
}

type oauthState struct {
	users       map[string]*User
	order       []string
	current     string
	deny        bool
	refreshMode RefreshMode
	codes       map[string]*authCode
	refresh     map[string]*refreshToken
	grants      []*grant
	tokenLog    []TokenRequest
}

type authCode struct {
	redirectURI, challenge string
	scopes                 []string
	user                   string
	expires                time.Time
	used                   bool
}

type grant struct {
	user    string
	scopes  []string
	revoked bool
}

func (g *grant) has(scope string) bool { return slices.Contains(g.scopes, scope) }

type access struct {
	expires time.Time
	grant   *grant // nil for an app token (client credentials)
}

type refreshToken struct {
	grant *grant
	used  bool // rotated away
}

func (s *Server) initOAuth() {
	s.oauth = oauthState{users: map[string]*User{}, codes: map[string]*authCode{}, refresh: map[string]*refreshToken{}}
	for _, u := range s.opts.Users {
		s.addUserLocked(u)
	}
}

func (s *Server) addUserLocked(u User) {
	if u.Country == "" {
		u.Country = "US"
	}
	if _, ok := s.oauth.users[u.ID]; !ok {
		s.oauth.order = append(s.oauth.order, u.ID)
	}
	s.oauth.users[u.ID] = &u
	if s.oauth.current == "" {
		s.oauth.current = u.ID
	}
}

// AddUser adds (or replaces) a fake account.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	s.addUserLocked(u)
	s.mu.Unlock()
}

// SetCurrentUser is who auto-consent consents as (and the consent page's preselected account).
func (s *Server) SetCurrentUser(id string) {
	s.mu.Lock()
	s.oauth.current = id
	s.mu.Unlock()
}

// SetConsentPage switches between the HTML consent page and auto-consent.
func (s *Server) SetConsentPage(on bool) {
	s.mu.Lock()
	s.opts.ConsentPage = on
	s.mu.Unlock()
}

// DenyConsent makes auto-consent refuse (error=access_denied), as a fan pressing Cancel.
func (s *Server) DenyConsent(deny bool) {
	s.mu.Lock()
	s.oauth.deny = deny
	s.mu.Unlock()
}

// SetRefreshMode sets how refreshes are answered (default RefreshOmit).
func (s *Server) SetRefreshMode(m RefreshMode) {
	s.mu.Lock()
	s.oauth.refreshMode = m
	s.mu.Unlock()
}

// RevokeUser removes dropday's access for a user, as the fan would in TIDAL's
// settings: their refresh tokens get invalid_grant and access tokens 401.
func (s *Server) RevokeUser(id string) {
	s.mu.Lock()
	for _, g := range s.oauth.grants {
		if g.user == id {
			g.revoked = true
		}
	}
	s.mu.Unlock()
}

// TokenRequests are the token endpoint's requests so far, oldest first.
func (s *Server) TokenRequests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.oauth.tokenLog)
}

// ---- /authorize ----

type authzParams struct {
	redirectURI, state, challenge string
	scopes                        []string
}

// validateAuthorize checks the request. A bad client or redirect URI is
// shown on the page (never redirected to); other problems go back to the
// redirect URI as ?error=.
func (s *Server) validateAuthorize(q url.Values) (p authzParams, showErr, redirectErr string) {
	p = authzParams{redirectURI: q.Get("redirect_uri"), state: q.Get("state"), challenge: q.Get("code_challenge")}
	if q.Get("client_id") != s.opts.ClientID {
		return p, "Unknown client_id", ""
	}
	if u, err := url.Parse(p.redirectURI); err != nil || !u.IsAbs() || (s.opts.RedirectURL != "" && p.redirectURI != s.opts.RedirectURL) {
		return p, "redirect_uri is not registered for this app", ""
	}
	if q.Get("response_type") != "code" {
		return p, "", "unsupported_response_type"
	}
	// OAuth 2.1: PKCE is required, and TIDAL takes S256 only.
	if q.Get("code_challenge_method") != "S256" || len(p.challenge) != 43 {
		return p, "", "invalid_request"
	}
	for _, sc := range strings.Fields(q.Get("scope")) {
		if _, ok := knownScopes[sc]; !ok {
			return p, "", "invalid_scope"
		}
		p.scopes = append(p.scopes, sc)
	}
	return p, "", ""
}

func redirectWith(w http.ResponseWriter, r *http.Request, redirectURI string, vals url.Values) {
	u, _ := url.Parse(redirectURI) // validated before
	q := u.Query()
	for k, vs := range vals {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad request", http.StatusBadRequest)
		return
	}
	p, showErr, redirErr := s.validateAuthorize(r.Form)
	if showErr != "" {
		http.Error(w, showErr, http.StatusBadRequest)
		return
	}
	if redirErr != "" {
		redirectWith(w, r, p.redirectURI, url.Values{"error": {redirErr}, "state": {p.state}})
		return
	}
	s.mu.Lock()
	page, deny, current := s.opts.ConsentPage, s.oauth.deny, s.oauth.current
	s.mu.Unlock()
	if r.Method == http.MethodPost {
		if r.PostForm.Get("action") != "agree" {
			redirectWith(w, r, p.redirectURI, url.Values{"error": {"access_denied"}, "state": {p.state}})
			return
		}
		user := r.PostForm.Get("user")
		if user == "" {
			user = current
		}
		s.consent(w, r, p, user)
		return
	}
	if !page {
		if deny {
			redirectWith(w, r, p.redirectURI, url.Values{"error": {"access_denied"}, "state": {p.state}})
			return
		}
		s.consent(w, r, p, current)
		return
	}
	s.renderConsent(w, r, p, current)
}

func (s *Server) consent(w http.ResponseWriter, r *http.Request, p authzParams, user string) {
	s.mu.Lock()
	if _, ok := s.oauth.users[user]; !ok {
		s.mu.Unlock()
		http.Error(w, "Unknown user", http.StatusBadRequest)
		return
	}
	code := randomToken(32)
	s.oauth.codes[code] = &authCode{redirectURI: p.redirectURI, challenge: p.challenge, scopes: p.scopes, user: user,
		expires: s.Now().Add(CodeTTL)}
	s.mu.Unlock()
	redirectWith(w, r, p.redirectURI, url.Values{"code": {code}, "state": {p.state}})
}

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TIDAL (stand-in): connect {{.App}}</title>
<style>
body{font-family:system-ui,sans-serif;background:#000;color:#fff;display:flex;justify-content:center;padding:2rem 1rem;margin:0}
main{max-width:26rem;width:100%}
.logo{font-weight:800;letter-spacing:.3em;font-size:1.1rem;margin-bottom:2rem}
h1{font-size:1.4rem;line-height:1.3}
ul{padding-left:1.2rem;color:#ddd}
li{margin:.3rem 0}
label{display:block;margin:1.2rem 0 .3rem;color:#bbb}
select{font-size:1rem;padding:.5rem;width:100%;background:#111;color:#fff;border:1px solid #555;border-radius:.4rem}
.buttons{display:flex;flex-direction:column;gap:.8rem;margin-top:1.8rem}
button{font-size:1rem;font-weight:600;padding:.85rem 1.5rem;border-radius:.5rem;border:1px solid #fff;background:transparent;color:#fff;cursor:pointer}
button[value=agree]{background:#fff;color:#000}
button:focus-visible{outline:3px solid #33ffee;outline-offset:2px}
.note{color:#999;font-size:.85rem;margin-top:2rem}
</style>
</head>
<body>
<main>
<div class="logo" aria-hidden="true">TIDAL</div>
<h1 data-testid="consent-title">{{.App}} wants to connect to your TIDAL account and:</h1>
<ul data-testid="consent-scopes">
{{range .Scopes}}<li>{{.}}</li>
{{end}}</ul>
<form method="post" action="authorize">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}{{if gt (len .Users) 1}}<label for="user">Logged in as</label>
<select id="user" name="user" data-testid="consent-user">
{{range .Users}}<option value="{{.ID}}"{{if .Selected}} selected{{end}}>{{.Name}}</option>
{{end}}</select>
{{else}}{{range .Users}}<p>Logged in as <strong>{{.Name}}</strong></p>
<input type="hidden" name="user" value="{{.ID}}">
{{end}}{{end}}<div class="buttons">
<button type="submit" name="action" value="agree" data-testid="consent-agree">Allow</button>
<button type="submit" name="action" value="cancel" data-testid="consent-cancel">Cancel</button>
</div>
</form>
<p class="note">This is dropday's local TIDAL stand-in. Nothing leaves this machine.</p>
</main>
</body>
</html>
`))

type consentUser struct {
	ID, Name string
	Selected bool
}

func (s *Server) renderConsent(w http.ResponseWriter, r *http.Request, p authzParams, current string) {
	s.mu.Lock()
	var users []consentUser
	for _, id := range s.oauth.order {
		u := s.oauth.users[id]
		name := u.Username
		if name == "" {
			name = u.ID
		}
		users = append(users, consentUser{ID: u.ID, Name: name, Selected: u.ID == current})
	}
	app := s.opts.AppName
	s.mu.Unlock()
	var scopes []string
	for _, sc := range p.scopes {
		scopes = append(scopes, knownScopes[sc])
	}
	hidden := map[string]string{}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "state", "scope", "code_challenge", "code_challenge_method"} {
		if v := r.Form.Get(k); v != "" {
			hidden[k] = v
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = consentTmpl.Execute(w, map[string]any{"App": app, "Scopes": scopes, "Users": users, "Hidden": hidden})
}

// ---- token endpoint ----

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	tr := TokenRequest{AuthMethod: "public"}
	status := http.StatusOK
	defer func() {
		tr.Status = status
		s.mu.Lock()
		s.oauth.tokenLog = append(s.oauth.tokenLog, tr)
		s.mu.Unlock()
	}()
	tokenErr := func(st int, code, desc string, sub int) {
		status = st
		writeJSON(w, st, "application/json", map[string]any{"error": code, "error_description": desc, "status": st, "sub_status": sub})
	}
	if r.Method != http.MethodPost {
		tokenErr(http.StatusMethodNotAllowed, "invalid_request", "POST only", 1001)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		tokenErr(http.StatusBadRequest, "invalid_request", "unreadable form", 1001)
		return
	}
	f := r.PostForm
	tr.GrantType = f.Get("grant_type")
	id, secret, hasSecret := f.Get("client_id"), f.Get("client_secret"), f.Has("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		tr.AuthMethod, id, secret, hasSecret = "basic", u, p, true
	} else if hasSecret {
		tr.AuthMethod = "body"
	}
	if id != s.opts.ClientID || (hasSecret && subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1) {
		tokenErr(http.StatusUnauthorized, "invalid_client", "Client authentication failed", 1002)
		return
	}
	now := s.Now()
	issue := func(g *grant, refresh string) {
		tok := randomToken(24)
		s.tokens[tok] = &access{expires: now.Add(s.opts.TokenTTL), grant: g}
		s.issued++
		body := map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(s.opts.TokenTTL / time.Second), "scope": ""}
		if g != nil {
			body["scope"] = strings.Join(g.scopes, " ")
			body["user_id"] = g.user
		}
		if refresh != "" {
			body["refresh_token"] = refresh
		}
		writeJSON(w, http.StatusOK, "application/json", body)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch tr.GrantType {
	case "client_credentials":
		if !hasSecret {
			tokenErr(http.StatusUnauthorized, "invalid_client", "Client authentication failed", 1002)
			return
		}
		issue(nil, "")
	case "authorization_code":
		code := s.oauth.codes[f.Get("code")]
		if code == nil || code.used || !now.Before(code.expires) {
			tokenErr(http.StatusBadRequest, "invalid_grant", "Invalid or expired authorization code", 1005)
			return
		}
		// Single use whatever happens next, so a wrong verifier cannot be retried.
		code.used = true
		if f.Get("redirect_uri") != code.redirectURI {
			tokenErr(http.StatusBadRequest, "invalid_grant", "redirect_uri does not match", 1005)
			return
		}
		if challengeOf(f.Get("code_verifier")) != code.challenge {
			tr.PKCE = "mismatch"
			tokenErr(http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge", 1005)
			return
		}
		tr.PKCE = "ok"
		g := &grant{user: code.user, scopes: code.scopes}
		s.oauth.grants = append(s.oauth.grants, g)
		rt := randomToken(32)
		s.oauth.refresh[rt] = &refreshToken{grant: g}
		issue(g, rt)
	case "refresh_token":
		rt := s.oauth.refresh[f.Get("refresh_token")]
		if rt == nil || rt.used {
			tokenErr(http.StatusBadRequest, "invalid_grant", "Invalid refresh token", 1005)
			return
		}
		if rt.grant.revoked {
			tokenErr(http.StatusBadRequest, "invalid_grant", "The user has revoked access", 1005)
			return
		}
		next := ""
		if s.oauth.refreshMode == RefreshRotate {
			rt.used = true
			next = randomToken(32)
			s.oauth.refresh[next] = &refreshToken{grant: rt.grant}
		}
		issue(rt.grant, next)
	case "":
		tokenErr(http.StatusBadRequest, "invalid_request", "grant_type is required", 1001)
	default:
		tokenErr(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials, authorization_code or refresh_token", 1003)
	}
}

// challengeOf is the S256 PKCE challenge of verifier (RFC 7636 §4.2).
func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// IssuedTokens are every access and refresh token handed out so far, for
// tests that check no secret reached a log.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.tokens {
		out = append(out, k)
	}
	for k := range s.oauth.refresh {
		out = append(out, k)
	}
	return out
}
