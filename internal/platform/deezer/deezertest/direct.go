package deezertest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dropday/dropday/internal/platform/standin"
)

// Defaults for Options left empty.
const (
	DefaultAppID     = "100001"
	DefaultAppSecret = "deezer-test-secret"
	// CodeTTL is how long an authorization code may be exchanged.
	CodeTTL = 10 * time.Minute
	// TokenTTL is a token's life without offline_access ("expires" 3600).
	TokenTTL = time.Hour
)

// knownPerms are Deezer's permissions and what the consent page says of them.
var knownPerms = map[string]string{
	"basic_access":      "Access your basic information",
	"email":             "Get your email address",
	"offline_access":    "Access your data at any time",
	"manage_library":    "Manage your library",
	"manage_community":  "Manage your friends",
	"delete_library":    "Delete items from your library",
	"listening_history": "Access your listening history",
}

// User is a fake Deezer account.
type User struct {
	ID    int64
	Name  string
	Email string
}

// Save is one recorded library save.
type Save struct {
	User int64
	Item string // "album:ID" or "track:ID"
	At   time.Time
}

// direct is the stand-in's OAuth and library state (guarded by Server.mu).
type direct struct {
	appID, appSecret, redirectURL string
	consentPage                   bool
	users                         map[int64]*User
	order                         []int64
	current                       int64
	deny                          bool
	codes                         map[string]*authCode
	tokens                        map[string]*grant
	grants                        []*grant
	saves                         []Save
	tokenCalls                    int
}

type authCode struct {
	user        int64
	perms       []string
	redirectURI string
	expires     time.Time
	used        bool
}

type grant struct {
	user    int64
	perms   []string
	expires time.Time // zero: offline_access, never
	revoked bool
}

func (s *Server) initDirect(o Options) {
	d := &s.direct
	d.appID, d.appSecret, d.redirectURL, d.consentPage = o.AppID, o.AppSecret, o.RedirectURL, o.ConsentPage
	if d.appID == "" {
		d.appID = DefaultAppID
	}
	if d.appSecret == "" {
		d.appSecret = DefaultAppSecret
	}
	users := o.Users
	if len(users) == 0 {
		users = []User{{ID: 1001, Name: "Fan One", Email: "fan1@example.test"}}
	}
	d.users, d.codes, d.tokens = map[int64]*User{}, map[string]*authCode{}, map[string]*grant{}
	for _, u := range users {
		d.addUser(u)
	}
	d.current = users[0].ID
}

func (d *direct) addUser(u User) {
	if _, ok := d.users[u.ID]; !ok {
		d.order = append(d.order, u.ID)
	}
	d.users[u.ID] = &u
}

// AppID and AppSecret are the registered app's credentials.
func (s *Server) AppID() string     { return s.direct.appID }
func (s *Server) AppSecret() string { return s.direct.appSecret }

// AddUser adds or replaces a fake account.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.direct.addUser(u)
}

// SetCurrentUser picks who auto-consent (and the consent page's default) signs in as.
func (s *Server) SetCurrentUser(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.direct.current = id
}

// SetConsentPage switches between the HTML consent page and auto-consent.
func (s *Server) SetConsentPage(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.direct.consentPage = on
}

// SetDenyConsent makes auto-consent refuse (error_reason=user_denied).
func (s *Server) SetDenyConsent(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.direct.deny = deny
}

// Grant records a consent the user gave earlier (adding the user if new)
// with basic_access, offline_access and manage_library, and returns its
// access token: for seeding pre-saves without a browser round trip.
func (s *Server) Grant(user int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.direct.users[user]; !ok {
		s.direct.addUser(User{ID: user, Name: "Fan " + strconv.FormatInt(user, 10)})
	}
	return s.issueLocked(user, []string{"basic_access", "offline_access", "manage_library"})
}

func (s *Server) issueLocked(user int64, perms []string) string {
	g := &grant{user: user, perms: perms}
	if !slices.Contains(perms, "offline_access") {
		g.expires = s.Now().Add(TokenTTL)
	}
	s.direct.grants = append(s.direct.grants, g)
	tok := randomToken("fr")
	s.direct.tokens[tok] = g
	return tok
}

// RevokeUser withdraws every grant the user gave (as removing the app in
// Deezer's settings): their tokens answer code 300 TOKEN_INVALID.
func (s *Server) RevokeUser(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.direct.grants {
		if g.user == id {
			g.revoked = true
		}
	}
}

// DropPermission takes perm away from the user's grants: calls that need
// it answer code 200 PERMISSION.
func (s *Server) DropPermission(id int64, perm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.direct.grants {
		if g.user == id {
			g.perms = slices.DeleteFunc(slices.Clone(g.perms), func(p string) bool { return p == perm })
		}
	}
}

// SavedBy lists the distinct items ("album:ID") in the user's library, in first-saved order.
func (s *Server) SavedBy(user int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, sv := range s.direct.saves {
		if sv.User == user && !slices.Contains(out, sv.Item) {
			out = append(out, sv.Item)
		}
	}
	return out
}

// Saved lists every save in order, repeats included.
func (s *Server) Saved() []Save {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.direct.saves)
}

// ---- consent ----

type authzParams struct {
	appID, redirectURI, state string
	perms                     []string
}

// handleAuthorize is /oauth/auth.php: GET shows the consent page (or
// consents at once), POST is the page's answer. A bad app or redirect URI
// is shown, not redirected, as Deezer does.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad request", http.StatusBadRequest)
		return
	}
	p := authzParams{appID: r.Form.Get("app_id"), redirectURI: r.Form.Get("redirect_uri"), state: r.Form.Get("state")}
	s.mu.Lock()
	d := s.direct
	s.mu.Unlock()
	if p.appID != d.appID {
		http.Error(w, "Wrong app_id", http.StatusBadRequest)
		return
	}
	if u, err := url.Parse(p.redirectURI); err != nil || !u.IsAbs() || (d.redirectURL != "" && p.redirectURI != d.redirectURL) {
		http.Error(w, "Wrong redirect_uri", http.StatusBadRequest)
		return
	}
	for _, pm := range strings.Split(r.Form.Get("perms"), ",") {
		if pm = strings.TrimSpace(pm); pm == "" {
			continue
		}
		if _, ok := knownPerms[pm]; !ok {
			http.Error(w, "Unknown permission "+pm, http.StatusBadRequest)
			return
		}
		p.perms = append(p.perms, pm)
	}
	if r.Method == http.MethodPost {
		if r.PostForm.Get("action") != "agree" {
			s.refuse(w, r, p)
			return
		}
		id, _ := strconv.ParseInt(r.PostForm.Get("user"), 10, 64)
		if id == 0 {
			id = d.current
		}
		s.consent(w, r, p, id)
		return
	}
	if !d.consentPage {
		if d.deny {
			s.refuse(w, r, p)
			return
		}
		s.consent(w, r, p, d.current)
		return
	}
	s.renderConsent(w, r, p)
}

func back(w http.ResponseWriter, r *http.Request, redirectURI string, vals url.Values) {
	u, _ := url.Parse(redirectURI) // validated before
	q := u.Query()
	for k, vs := range vals {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// refuse is Deezer's answer to "cancel": error_reason=user_denied.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, p authzParams) {
	back(w, r, p.redirectURI, url.Values{"error_reason": {"user_denied"}, "state": {p.state}})
}

func (s *Server) consent(w http.ResponseWriter, r *http.Request, p authzParams, user int64) {
	s.mu.Lock()
	if _, ok := s.direct.users[user]; !ok {
		s.mu.Unlock()
		http.Error(w, "Unknown user", http.StatusBadRequest)
		return
	}
	code := randomToken("fr")
	s.direct.codes[code] = &authCode{user: user, perms: p.perms, redirectURI: p.redirectURI, expires: s.Now().Add(CodeTTL)}
	s.mu.Unlock()
	back(w, r, p.redirectURI, url.Values{"code": {code}, "state": {p.state}})
}

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Deezer (stand-in): connect dropday</title>
<style>
body{font-family:system-ui,sans-serif;background:#fff;color:#191922;display:flex;justify-content:center;padding:2rem 1rem;margin:0}
main{max-width:26rem;width:100%}
h1{font-size:1.4rem}
ul{padding-left:1.2rem}
label{display:block;margin:1rem 0 .3rem}
select{font-size:1rem;padding:.4rem;width:100%}
.buttons{display:flex;gap:1rem;margin-top:1.5rem;flex-wrap:wrap}
button{font-size:1rem;padding:.7rem 1.5rem;border-radius:2rem;border:2px solid #a238ff;background:#fff;color:#a238ff;cursor:pointer}
button[value=agree]{background:#a238ff;color:#fff}
button:focus-visible{outline:3px solid #191922;outline-offset:2px}
.note{color:#6b6b76;font-size:.85rem;margin-top:2rem}
</style>
</head>
<body>
<main>
<h1 data-testid="consent-title">dropday would like to:</h1>
<ul data-testid="consent-scopes">
{{range .Perms}}<li>{{.}}</li>
{{end}}</ul>
<form method="post" action="auth.php">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<label for="user">Signed in as</label>
<select id="user" name="user" data-testid="consent-user">
{{range .Users}}<option value="{{.ID}}"{{if .Selected}} selected{{end}}>{{.Name}}</option>
{{end}}</select>
<div class="buttons">
<button type="submit" name="action" value="agree" data-testid="consent-agree">Accept</button>
<button type="submit" name="action" value="cancel" data-testid="consent-cancel">Cancel</button>
</div>
</form>
<p class="note">This is dropday's local Deezer stand-in. Nothing leaves this machine.</p>
</main>
</body>
</html>
`))

func (s *Server) renderConsent(w http.ResponseWriter, r *http.Request, p authzParams) {
	type opt struct {
		ID       int64
		Name     string
		Selected bool
	}
	s.mu.Lock()
	var users []opt
	for _, id := range s.direct.order {
		u := s.direct.users[id]
		users = append(users, opt{ID: u.ID, Name: u.Name, Selected: u.ID == s.direct.current})
	}
	s.mu.Unlock()
	var perms []string
	for _, pm := range p.perms {
		perms = append(perms, knownPerms[pm])
	}
	hidden := map[string]string{}
	for _, k := range []string{"app_id", "redirect_uri", "perms", "state"} {
		if v := r.Form.Get(k); v != "" {
			hidden[k] = v
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = consentTmpl.Execute(w, map[string]any{"Perms": perms, "Users": users, "Hidden": hidden})
}

// ---- token ----

// TokenCalls is how many access_token.php requests were answered.
func (s *Server) TokenCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.direct.tokenCalls
}

// handleToken is /oauth/access_token.php?app_id&secret&code[&output=json]:
// form-encoded access_token=…&expires=N by default, JSON with output=json;
// expires is 0 with offline_access. A wrong code or secret gets Deezer's
// bare "wrong code".
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.direct.tokenCalls++
	c := s.direct.codes[q.Get("code")]
	okSecret := subtle.ConstantTimeCompare([]byte(q.Get("secret")), []byte(s.direct.appSecret)) == 1
	if q.Get("app_id") != s.direct.appID || !okSecret || c == nil || c.used || !s.Now().Before(c.expires) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("wrong code"))
		return
	}
	c.used = true
	tok := s.issueLocked(c.user, c.perms)
	expires := 0
	if g := s.direct.tokens[tok]; !g.expires.IsZero() {
		expires = int(TokenTTL / time.Second)
	}
	if q.Get("output") == "json" {
		writeJSON(w, map[string]any{"access_token": tok, "expires": expires})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(url.Values{"access_token": {tok}, "expires": {strconv.Itoa(expires)}}.Encode()))
}

// ---- API with the fan's token ----

// grantFor checks the access_token parameter, answering Deezer's errors:
// none → 200 (an active token is needed), unknown/expired/revoked → 300,
// missing perm → 200.
func (s *Server) grantFor(w http.ResponseWriter, r *http.Request, perm string) *grant {
	tok := r.URL.Query().Get("access_token")
	s.mu.Lock()
	g := s.direct.tokens[tok]
	now := s.Now()
	var code int
	switch {
	case tok == "":
		code = CodePermission
	case g == nil || g.revoked || (!g.expires.IsZero() && !now.Before(g.expires)):
		code = CodeTokenInvalid
	case perm != "" && !slices.Contains(g.perms, perm):
		code = CodePermission
	}
	var out grant
	if g != nil {
		out = *g
	}
	s.mu.Unlock()
	if code != 0 {
		writeCode(w, code)
		return nil
	}
	return &out
}

// serveMe is GET /user/me; email only with the email permission.
func (s *Server) serveMe(w http.ResponseWriter, r *http.Request) {
	g := s.grantFor(w, r, "")
	if g == nil {
		return
	}
	s.mu.Lock()
	u := *s.direct.users[g.user]
	s.mu.Unlock()
	me := map[string]any{"id": u.ID, "name": u.Name, "type": "user", "country": "FR",
		"link": s.URL + "/profile/" + strconv.FormatInt(u.ID, 10)}
	if slices.Contains(g.perms, "email") && u.Email != "" {
		me["email"] = u.Email
	}
	writeJSON(w, me)
}

// serveLibrary is POST /user/me/albums?album_id= and /user/me/tracks?track_id=:
// the bare JSON true, or an error in HTTP 200 (800 for an item that is not
// in the catalog, or not visible yet).
func (s *Server) serveLibrary(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, "ParameterException", "Wrong method", CodeParameter)
		return
	}
	g := s.grantFor(w, r, "manage_library")
	if g == nil {
		return
	}
	kind := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/user/me/"), "s")
	id, err := strconv.ParseInt(r.URL.Query().Get(kind+"_id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, "ParameterException", "Missing parameter "+kind+"_id", 501)
		return
	}
	now := s.Now()
	s.mu.Lock()
	found := false
	if kind == "album" {
		found = s.albumLocked(id, now) != nil
	} else {
		for _, e := range s.tracks {
			if e.item.ID == id && standin.Visible(e.visible, now) {
				found = true
			}
		}
	}
	if found {
		s.direct.saves = append(s.direct.saves, Save{User: g.user, Item: kind + ":" + strconv.FormatInt(id, 10), At: now})
	}
	s.mu.Unlock()
	if !found {
		writeError(w, "DataException", "no data", CodeNotFound)
		return
	}
	writeJSON(w, true)
}

// randomToken makes an opaque token.
func randomToken(prefix string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}
