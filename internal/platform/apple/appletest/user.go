package appletest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dropday/dropday/internal/platform/standin"
)

var errKid = errors.New("wrong kid")

// DefaultUserTokenLife is how long a Music User Token works unless
// Options.UserTokenLife says otherwise (a third-party guide's six months).
const DefaultUserTokenLife = 180 * 24 * time.Hour

// User is an Apple Music subscriber of the stand-in.
type User struct {
	Name       string
	Storefront string // two letters, "us" when empty
	// Library is what POST /v1/me/library actually added ("albums:ID",
	// "songs:ID"); unknown ids are not in it (the 202 ignores them).
	library []string
}

type userToken struct {
	user    string
	expires time.Time
	revoked bool
}

// AddUser makes a subscriber that the consent popup offers.
func (s *Server) AddUser(u User) {
	if u.Storefront == "" {
		u.Storefront = "us"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.Name]; !ok {
		s.userNames = append(s.userNames, u.Name)
	}
	u.library = nil
	s.users[u.Name] = &u
}

// IssueUserToken gives the user a new Music User Token, as the consent popup
// does when the fan allows access ("" for an unknown user).
func (s *Server) IssueUserToken(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked(name)
}

func (s *Server) issueLocked(name string) string {
	if s.users[name] == nil {
		return ""
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := "mut." + base64.RawURLEncoding.EncodeToString(b)
	s.userTokens[tok] = &userToken{user: name, expires: s.Base.Now().Add(s.opts.UserTokenLife)}
	return tok
}

// RevokeUser revokes every Music User Token of the user (the fan removed
// the app in their Apple account settings): 403 from then on.
func (s *Server) RevokeUser(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.userTokens {
		if t.user == name {
			t.revoked = true
		}
	}
}

// ExpireUser makes every Music User Token of the user expired: 401 from then on.
func (s *Server) ExpireUser(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Base.Now()
	for _, t := range s.userTokens {
		if t.user == name {
			t.expires = now
		}
	}
}

// Library is what the user's library holds (added by dropday), in the order added.
func (s *Server) Library(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[name]; u != nil {
		return slices.Clone(u.library)
	}
	return nil
}

// authenticateUser checks the Music-User-Token header: 401 when it is
// missing, unknown or expired, 403 when revoked.
func (s *Server) authenticateUser(w http.ResponseWriter, r *http.Request) *User {
	raw := r.Header.Get("Music-User-Token")
	now := s.Now()
	s.mu.Lock()
	t := s.userTokens[raw]
	var u *User
	if t != nil {
		u = s.users[t.user]
	}
	s.mu.Unlock()
	switch {
	case raw == "" || t == nil || u == nil || !now.Before(t.expires):
		writeErr(w, http.StatusUnauthorized, "40100", "Unauthorized", "The Music User Token is invalid or expired")
		return nil
	case t.revoked:
		writeErr(w, http.StatusForbidden, "40300", "Forbidden", "The user revoked access for this application")
		return nil
	}
	return u
}

var storefrontNames = map[string]string{"us": "United States", "gb": "United Kingdom", "de": "Germany", "fr": "France", "jp": "Japan"}

func (s *Server) serveStorefront(w http.ResponseWriter, r *http.Request, u *User) {
	if r.Method != http.MethodGet {
		writeErr(w, http.StatusMethodNotAllowed, "40500", "Method Not Allowed", "Use GET")
		return
	}
	name := storefrontNames[u.Storefront]
	if name == "" {
		name = strings.ToUpper(u.Storefront)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": []map[string]any{{
		"id": u.Storefront, "type": "storefronts", "href": "/v1/storefronts/" + u.Storefront,
		"attributes": map[string]any{"defaultLanguageTag": "en-US", "name": name, "supportedLanguageTags": []string{"en-US"}},
	}}})
}

// serveLibraryAdd is POST /v1/me/library?ids[albums]=…&ids[songs]=…: 202
// with no body, adding what exists in the user's storefront and silently
// ignoring the rest (Apple's quirk).
func (s *Server) serveLibraryAdd(w http.ResponseWriter, r *http.Request, u *User) {
	if r.Method != http.MethodPost {
		writeErr(w, http.StatusMethodNotAllowed, "40500", "Method Not Allowed", "Use POST")
		return
	}
	q := r.URL.Query()
	named := false
	now := s.Now()
	s.mu.Lock()
	for _, typ := range []string{"albums", "songs"} {
		for _, id := range strings.Split(q.Get("ids["+typ+"]"), ",") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			named = true
			if !s.addableLocked(typ, id, u.Storefront, now) {
				continue // silently ignored
			}
			if item := typ + ":" + id; !slices.Contains(u.library, item) {
				u.library = append(u.library, item)
			}
		}
	}
	s.mu.Unlock()
	if !named {
		writeErr(w, http.StatusBadRequest, "40005", "Invalid Parameter Value", "ids[albums] or ids[songs] is required")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) addableLocked(typ, id, sf string, now time.Time) bool {
	if typ == "songs" {
		for _, e := range s.songs {
			if e.item.ID == id && standin.Visible(e.visible, now) && inStorefront(e.item.Storefronts, sf) {
				return true
			}
		}
		return false
	}
	for _, e := range s.albums {
		if e.item.ID == id && standin.Visible(e.visible, now) && inStorefront(e.item.Storefronts, sf) {
			return true
		}
	}
	return false
}

// ---- the fake MusicKit JS and its consent popup ----

// musicKitJS implements the part of MusicKit JS v3 dropday uses:
// MusicKit.configure({developerToken, app}) and getInstance().authorize(),
// which opens the stand-in's consent popup and resolves to the Music User
// Token the popup posts back (only to the origin the developer token names).
const musicKitJS = `(function () {
  "use strict";
  var base = new URL(document.currentScript.src).origin;
  var config = null, instance = null;
  function Instance() { this.musicUserToken = ""; this.isAuthorized = false; }
  Instance.prototype.authorize = function () {
    var self = this;
    if (self.musicUserToken) { return Promise.resolve(self.musicUserToken); }
    return new Promise(function (resolve, reject) {
      var u = base + "/musickit/authorize?developerToken=" + encodeURIComponent(config.developerToken) +
        "&app=" + encodeURIComponent((config.app && config.app.name) || "") + "&origin=" + encodeURIComponent(location.origin);
      var popup = window.open(u, "musickit-authorize", "width=480,height=640");
      if (!popup) { reject(new Error("AUTHORIZATION_ERROR: popup blocked")); return; }
      var done = false;
      function onMessage(ev) {
        if (ev.origin !== base || !ev.data || ev.data.type !== "musickit-authorize") { return; }
        done = true;
        window.removeEventListener("message", onMessage);
        if (ev.data.musicUserToken) {
          self.musicUserToken = ev.data.musicUserToken; self.isAuthorized = true;
          resolve(ev.data.musicUserToken);
        } else {
          reject(new Error(ev.data.error || "AUTHORIZATION_ERROR"));
        }
      }
      window.addEventListener("message", onMessage);
      var timer = setInterval(function () {
        if (!popup.closed) { return; }
        clearInterval(timer);
        setTimeout(function () {
          if (!done) { window.removeEventListener("message", onMessage); reject(new Error("AUTHORIZATION_ERROR: closed")); }
        }, 500);
      }, 250);
    });
  };
  window.MusicKit = {
    version: "3.0.0-standin",
    configure: function (opts) {
      if (!opts || !opts.developerToken) { return Promise.reject(new Error("MusicKit: developerToken is required")); }
      config = opts; instance = new Instance();
      return Promise.resolve(instance);
    },
    getInstance: function () { return instance; }
  };
  document.dispatchEvent(new Event("musickitloaded"));
})();
`

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Apple Music (stand-in) · Allow access</title>
<style>body{font-family:system-ui,sans-serif;margin:0;padding:24px 16px;background:#fafafa;color:#111;max-width:420px;margin:auto}
h1{font-size:1.3rem}label{display:block;padding:10px;border:1px solid #ddd;border-radius:8px;margin:6px 0;background:#fff}
button{font:inherit;padding:12px 18px;border-radius:8px;border:0;margin:12px 8px 0 0}.allow{background:#fa2d48;color:#fff}.deny{background:#e5e5e5}
.err{color:#b00020}</style></head><body>
{{if .Error}}<p class="err" data-testid="musickit-error">{{.Error}}</p>{{else}}
<h1>Allow “{{.App}}” to access Apple Music?</h1>
<p>It will be able to add music to your library. (A local stand-in for Apple's consent.)</p>
<form method="post" action="/musickit/authorize">
<input type="hidden" name="developerToken" value="{{.DevToken}}"><input type="hidden" name="origin" value="{{.Origin}}">
{{range $i, $u := .Users}}<label><input type="radio" name="user" value="{{$u}}" {{if eq $i 0}}checked{{end}} data-testid="musickit-user"> {{$u}}</label>{{end}}
<button class="allow" name="decision" value="allow" data-testid="musickit-allow">Allow</button>
<button class="deny" name="decision" value="deny" data-testid="musickit-deny">Don't Allow</button>
</form>{{end}}
</body></html>`))

var answerTmpl = template.Must(template.New("answer").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Apple Music (stand-in)</title></head><body>
<p data-testid="musickit-done">You can close this window.</p>
<script>
(function () {
  var msg = {type: "musickit-authorize", musicUserToken: {{.Token}}, error: {{.Error}}};
  if (window.opener) { window.opener.postMessage(msg, {{.Origin}}); }
  window.close();
})();
</script></body></html>`))

// serveMusicKit answers the fake MusicKit JS and its consent popup.
func (s *Server) serveMusicKit(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/musickit/v3/musickit.js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write([]byte(musicKitJS))
		return
	case "/musickit/authorize":
	default:
		standin.NotFoundPage(w)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = consentTmpl.Execute(w, map[string]any{"Error": "bad request"})
		return
	}
	dev, origin := r.Form.Get("developerToken"), r.Form.Get("origin")
	// Apple's popup checks the developer token, and answers only the origin it names.
	if reason := s.checkDevToken(dev, origin); reason != "" {
		w.WriteHeader(http.StatusUnauthorized)
		_ = consentTmpl.Execute(w, map[string]any{"Error": "This app's developer token is not valid (" + reason + ")."})
		return
	}
	if r.Method == http.MethodGet {
		s.mu.Lock()
		users := slices.Clone(s.userNames)
		s.mu.Unlock()
		if len(users) == 0 {
			_ = consentTmpl.Execute(w, map[string]any{"Error": "No Apple Music account on this stand-in (AddUser)."})
			return
		}
		_ = consentTmpl.Execute(w, map[string]any{"App": r.Form.Get("app"), "DevToken": dev, "Origin": origin, "Users": users})
		return
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	ans := map[string]any{"Origin": origin, "Token": "", "Error": ""}
	if r.Form.Get("decision") != "allow" {
		ans["Error"] = "AUTHORIZATION_ERROR: the user denied access"
	} else {
		s.mu.Lock()
		tok := s.issueLocked(r.Form.Get("user"))
		s.mu.Unlock()
		if tok == "" {
			ans["Error"] = "AUTHORIZATION_ERROR: no such user"
		}
		ans["Token"] = tok
	}
	_ = answerTmpl.Execute(w, ans)
}

// checkDevToken checks a developer token given outside a request header
// (the consent popup), with origin as the page's origin.
func (s *Server) checkDevToken(raw, origin string) string {
	var c claims
	tok, err := jwt.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if t.Header["kid"] != s.opts.KeyID {
			return nil, errKid
		}
		return s.opts.PublicKey, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(s.opts.TeamID), jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.Now), jwt.WithLeeway(time.Minute))
	if err != nil || !tok.Valid {
		return "token: " + errString(err)
	}
	if origin == "" || (len(c.Origin) > 0 && !slices.Contains(c.Origin, origin)) {
		return "the page's origin is not the token's origin"
	}
	return ""
}
