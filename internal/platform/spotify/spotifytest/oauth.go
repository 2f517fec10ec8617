package spotifytest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// knownScopes are Spotify's documented scopes; anything else is invalid_scope.
var knownScopes = map[string]string{
	"user-library-modify":         "Save to your library",
	"user-library-read":           "See what is in your library",
	"user-read-email":             "See your email address",
	"user-read-private":           "See your subscription details and country",
	"user-follow-modify":          "Follow and unfollow artists for you",
	"user-follow-read":            "See who you follow",
	"playlist-modify-public":      "Manage your public playlists",
	"playlist-modify-private":     "Manage your private playlists",
	"playlist-read-private":       "See your private playlists",
	"playlist-read-collaborative": "See your collaborative playlists",
	"user-top-read":               "See your top artists and content",
	"user-read-recently-played":   "See what you played recently",
}

// authzParams are the /authorize parameters, validated.
type authzParams struct {
	clientID, redirectURI, state, challenge string
	scopes                                  []string
}

// validateAuthorize checks the request. A bad client or redirect URI is
// shown to the user (Spotify never redirects to an unregistered URI);
// other problems go back to the redirect URI as ?error=.
func (s *Server) validateAuthorize(q url.Values) (p authzParams, showErr string, redirectErr string) {
	p = authzParams{
		clientID:    q.Get("client_id"),
		redirectURI: q.Get("redirect_uri"),
		state:       q.Get("state"),
		challenge:   q.Get("code_challenge"),
	}
	if p.clientID != s.opts.ClientID {
		return p, "INVALID_CLIENT: Invalid client", ""
	}
	if p.redirectURI == "" || (s.opts.RedirectURL != "" && p.redirectURI != s.opts.RedirectURL) {
		return p, "INVALID_CLIENT: Invalid redirect URI", ""
	}
	if u, err := url.Parse(p.redirectURI); err != nil || !u.IsAbs() {
		return p, "INVALID_CLIENT: Invalid redirect URI", ""
	}
	if q.Get("response_type") != "code" {
		return p, "", "unsupported_response_type"
	}
	if p.challenge != "" || q.Get("code_challenge_method") != "" {
		// dropday always uses PKCE; Spotify only supports S256 for it.
		if q.Get("code_challenge_method") != "S256" || len(p.challenge) != 43 {
			return p, "", "invalid_request"
		}
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
	switch r.Method {
	case http.MethodGet, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The consent page posts its hidden fields back here.
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
	page, deny, current := s.opts.ConsentPage, s.denyConsent, s.currentUser
	s.mu.Unlock()

	if r.Method == http.MethodPost {
		switch r.PostForm.Get("action") {
		case "agree":
			user := r.PostForm.Get("user")
			if user == "" {
				user = current
			}
			s.consent(w, r, p, user)
		default:
			redirectWith(w, r, p.redirectURI, url.Values{"error": {"access_denied"}, "state": {p.state}})
		}
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

// consent issues a code for user and sends the browser back.
func (s *Server) consent(w http.ResponseWriter, r *http.Request, p authzParams, user string) {
	s.mu.Lock()
	if _, ok := s.users[user]; !ok {
		s.mu.Unlock()
		http.Error(w, "Unknown user", http.StatusBadRequest)
		return
	}
	code := randomToken("AQ")
	s.codes[code] = &authCode{
		clientID:    p.clientID,
		redirectURI: p.redirectURI,
		challenge:   p.challenge,
		scopes:      p.scopes,
		user:        user,
		expires:     s.now().Add(CodeTTL),
	}
	s.mu.Unlock()
	redirectWith(w, r, p.redirectURI, url.Values{"code": {code}, "state": {p.state}})
}

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Spotify (stand-in): authorize {{.App}}</title>
<style>
body{font-family:system-ui,sans-serif;background:#121212;color:#fff;display:flex;justify-content:center;padding:2rem 1rem}
main{max-width:26rem;width:100%}
h1{font-size:1.4rem}
ul{padding-left:1.2rem}
label{display:block;margin:1rem 0 .3rem}
select{font-size:1rem;padding:.4rem;width:100%}
.buttons{display:flex;gap:1rem;margin-top:1.5rem}
button{font-size:1rem;padding:.7rem 1.5rem;border-radius:2rem;border:2px solid #fff;background:transparent;color:#fff;cursor:pointer}
button[value=agree]{background:#1ed760;border-color:#1ed760;color:#000}
button:focus-visible{outline:3px solid #fff;outline-offset:2px}
.note{color:#b3b3b3;font-size:.85rem;margin-top:2rem}
</style>
</head>
<body>
<main>
<h1 data-testid="consent-title">{{.App}} wants to:</h1>
<ul data-testid="consent-scopes">
{{range .Scopes}}<li>{{.}}</li>
{{end}}</ul>
<form method="post" action="authorize">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}{{if gt (len .Users) 1}}<label for="user">Signed in as</label>
<select id="user" name="user" data-testid="consent-user">
{{range .Users}}<option value="{{.ID}}"{{if .Selected}} selected{{end}}>{{.Name}}</option>
{{end}}</select>
{{else}}{{range .Users}}<p>Signed in as <strong>{{.Name}}</strong></p>
<input type="hidden" name="user" value="{{.ID}}">
{{end}}{{end}}<div class="buttons">
<button type="submit" name="action" value="agree" data-testid="consent-agree">Agree</button>
<button type="submit" name="action" value="cancel" data-testid="consent-cancel">Cancel</button>
</div>
</form>
<p class="note">This is dropday's local Spotify stand-in. Nothing leaves this machine.</p>
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
	for _, id := range s.order {
		u := s.users[id]
		name := u.DisplayName
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
	if len(scopes) == 0 {
		scopes = []string{"See your public profile"}
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

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

func tokenErr(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]string{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	tr := TokenRequest{AuthMethod: "none"}
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		tr.Status = rec.status
		s.mu.Lock()
		s.tokenLog = append(s.tokenLog, tr)
		if len(s.tokenLog) > tokenLogSize {
			s.tokenLog = s.tokenLog[len(s.tokenLog)-tokenLogSize:]
		}
		s.mu.Unlock()
	}()
	w = rec

	if r.Method != http.MethodPost {
		tokenErr(w, http.StatusMethodNotAllowed, "invalid_request", "Only POST is supported")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		tokenErr(w, http.StatusBadRequest, "invalid_request", "Unsupported content type")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		tokenErr(w, http.StatusBadRequest, "invalid_request", "Malformed body")
		return
	}
	f := r.PostForm
	tr.GrantType = f.Get("grant_type")

	// Client authentication: Basic header, or client_id (+ secret) in the body.
	var id, secret string
	hasSecret := false
	if u, p, ok := r.BasicAuth(); ok {
		tr.AuthMethod = "basic"
		// RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
		id, secret, hasSecret = unescape(u), unescape(p), true
	} else if f.Get("client_id") != "" {
		id = f.Get("client_id")
		if f.Has("client_secret") {
			tr.AuthMethod = "body"
			secret, hasSecret = f.Get("client_secret"), true
		} else {
			tr.AuthMethod = "public"
		}
	}
	if id == "" {
		tokenErr(w, http.StatusBadRequest, "invalid_client", "")
		return
	}
	if id != s.opts.ClientID {
		tokenErr(w, http.StatusBadRequest, "invalid_client", "Invalid client")
		return
	}
	if hasSecret && subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
		tokenErr(w, http.StatusBadRequest, "invalid_client", "Invalid client secret")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch tr.GrantType {
	case "authorization_code":
		code := s.codes[f.Get("code")]
		if code == nil || code.used || !now.Before(code.expires) || code.clientID != id {
			tokenErr(w, http.StatusBadRequest, "invalid_grant", "Invalid authorization code")
			return
		}
		// Single use, whatever happens next, so a wrong verifier cannot be retried.
		code.used = true
		if f.Get("redirect_uri") != code.redirectURI {
			tokenErr(w, http.StatusBadRequest, "invalid_grant", "Invalid redirect URI")
			return
		}
		if code.challenge != "" {
			if challengeOf(f.Get("code_verifier")) != code.challenge {
				tr.PKCE = "mismatch"
				tokenErr(w, http.StatusBadRequest, "invalid_grant", "code_verifier was incorrect")
				return
			}
			tr.PKCE = "ok"
		} else if !hasSecret {
			// Without PKCE only a confidential client may exchange.
			tokenErr(w, http.StatusBadRequest, "invalid_client", "Invalid client secret")
			return
		}
		g := &grant{user: code.user, scopes: code.scopes, pkce: code.challenge != "", authorizedAt: now}
		s.grants = append(s.grants, g)
		at, rt := randomToken("BQ"), randomToken("AQ")
		s.access[at] = &accessToken{grant: g, expires: now.Add(AccessTokenTTL)}
		s.refresh[rt] = &refreshToken{grant: g}
		writeToken(w, tokenResponse{AccessToken: at, TokenType: "Bearer", Scope: strings.Join(g.scopes, " "),
			ExpiresIn: int(AccessTokenTTL / time.Second), RefreshToken: rt})

	case "refresh_token":
		old := f.Get("refresh_token")
		rt := s.refresh[old]
		if rt == nil || rt.used {
			tokenErr(w, http.StatusBadRequest, "invalid_grant", "Invalid refresh token")
			return
		}
		g := rt.grant
		if !hasSecret && !g.pkce {
			tokenErr(w, http.StatusBadRequest, "invalid_client", "Invalid client secret")
			return
		}
		if g.revoked {
			tokenErr(w, http.StatusBadRequest, "invalid_grant", "Refresh token revoked")
			return
		}
		// Six months from the original consent; refreshing does not extend it.
		if g.expired || !now.Before(g.authorizedAt.AddDate(0, 6, 0)) {
			tokenErr(w, http.StatusBadRequest, "invalid_grant", "Invalid refresh token")
			return
		}
		at := randomToken("BQ")
		s.access[at] = &accessToken{grant: g, expires: now.Add(AccessTokenTTL)}
		resp := tokenResponse{AccessToken: at, TokenType: "Bearer", Scope: strings.Join(g.scopes, " "),
			ExpiresIn: int(AccessTokenTTL / time.Second)}
		switch s.refreshMode {
		case RefreshSame:
			resp.RefreshToken = old
		case RefreshRotate:
			rt.used = true
			resp.RefreshToken = randomToken("AQ")
			s.refresh[resp.RefreshToken] = &refreshToken{grant: g}
		}
		writeToken(w, resp)

	case "client_credentials":
		if !hasSecret {
			tokenErr(w, http.StatusBadRequest, "invalid_client", "Invalid client secret")
			return
		}
		at := randomToken("BQ")
		s.access[at] = &accessToken{expires: now.Add(AccessTokenTTL)}
		writeToken(w, tokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: int(AccessTokenTTL / time.Second)})

	case "":
		tokenErr(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type parameter is missing")
	default:
		tokenErr(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials, authorization_code or refresh_token")
	}
}

func writeToken(w http.ResponseWriter, t tokenResponse) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(t)
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// challengeOf is the S256 PKCE challenge of verifier (RFC 7636 §4.2).
func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// randomToken makes an opaque token that looks like Spotify's.
func randomToken(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// writeRateLimited answers 429 the way Spotify does.
func writeRateLimited(w http.ResponseWriter, retryAfter int, quota bool) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	if quota {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
			"status": 429, "message": "Too many requests", "reason": "QUOTA_EXCEEDED"}})
		return
	}
	apiErr(w, http.StatusTooManyRequests, "API rate limit exceeded")
}
