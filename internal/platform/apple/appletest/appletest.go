// Package appletest is a local stand-in for the Apple Music API — the
// catalog, and the fan's side (user.go): a fake MusicKit JS with a consent
// popup issuing Music User Tokens, /v1/me/storefront and the library add —
// for tests and `dropday demo` (wire details: /work/shared/PLATFORMS.md §2).
//
// It checks every request's developer token as Apple does: an ES256 JWT whose
// signature verifies with the configured public key, with the right kid and
// iss, an exp no more than six months after iat and not passed on the
// stand-in's clock, and — when the token names an origin — a matching Origin
// header. Errors come back as {"errors":[{"status":"401","code":"40100",…}]}
// with string status and code.
//
// A song or album is added with the time from which it is visible, judged by
// the settable clock, so a test can have a release appear only at T+2h ("not
// found yet, found later"). It logs nothing.
package appletest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dropday/dropday/internal/platform/standin"
)

// Endpoint names used by the counters (Requests) and Fault.Endpoint.
const (
	EndpointSongs  = "songs"
	EndpointAlbums = "albums"
	EndpointPage   = "page" // listen pages and covers
	// The fan side: GET /v1/me/storefront, POST /v1/me/library, and the
	// fake MusicKit JS with its consent popup (/musickit/...).
	EndpointStorefront = "storefront"
	EndpointLibrary    = "library"
	EndpointMusicKit   = "musickit"
	EndpointOther      = "other"
)

// Defaults for Options left empty.
const (
	DefaultTeamID = "DRPDAYTEAM"
	DefaultKeyID  = "DRPDAYKEY1"
	// MaxTokenLife is Apple's cap on exp − iat (15777000 s, six months).
	MaxTokenLife = 15777000 * time.Second
	// MaxFilterValues is how many ISRCs or UPCs one request may name.
	MaxFilterValues = 25
)

// Options configure a Server.
type Options struct {
	TeamID string // the iss tokens must carry (default DefaultTeamID)
	KeyID  string // the kid tokens must carry (default DefaultKeyID)
	// PublicKey verifies developer tokens. Nil makes the stand-in generate a
	// key pair; PrivateKeyPEM then returns the private half to configure dropday with.
	PublicKey *ecdsa.PublicKey
	// Now is the clock for visibility and token expiry (default time.Now).
	Now func() time.Time
	// UserTokenLife is how long a Music User Token works (default
	// DefaultUserTokenLife; Apple does not document it).
	UserTokenLife time.Duration
}

// Song is a catalog song.
type Song struct {
	ID        string // digits, like Apple's
	Name      string
	Artist    string
	AlbumName string
	ISRC      string
	// ArtworkURL is a template with {w} and {h}; empty serves a cover from the stand-in.
	ArtworkURL string
	// URL is attributes.url; empty serves a listen page from the stand-in.
	URL string
	// Storefronts limits the song to these storefronts (empty: every one).
	Storefronts []string
}

// Album is a catalog album.
type Album struct {
	ID     string
	Name   string
	Artist string
	UPC    string
	// ArtworkURL is a template with {w} and {h}; empty serves a cover from the stand-in.
	ArtworkURL string
	// URL is attributes.url; empty serves a listen page from the stand-in.
	URL string
	// Announced lists the album before it is visible, as Apple lists a
	// pre-release: without playParams (not playable yet).
	Announced bool
	// Storefronts limits the album to these storefronts (empty: every one).
	Storefronts []string
}

func inStorefront(sfs []string, sf string) bool { return len(sfs) == 0 || slices.Contains(sfs, sf) }

type entry[T any] struct {
	item    T
	visible time.Time
}

// Server is the stand-in. Use New for a running httptest server, or
// NewHandler to mount it yourself.
type Server struct {
	standin.Base
	// URL is the base URL (DROPDAY_APPLE_API_URL). NewHandler leaves it empty;
	// whoever mounts the handler sets it.
	URL string

	ts      *httptest.Server
	opts    Options
	privPEM string

	mu       sync.Mutex
	songs    []*entry[Song]
	albums   []*entry[Album]
	tokens   map[string]bool // distinct valid developer tokens seen
	origins  []string        // Origin headers of authenticated requests, last 100
	rate     standin.Window
	sent429  int
	lastAuth string // why the last 401 was sent (for test failure messages)

	users      map[string]*User
	userNames  []string              // in the order added (the consent page lists them so)
	userTokens map[string]*userToken // Music User Token → its user
}

// New starts a stand-in on a loopback httptest server.
func New(opts Options) *Server {
	s := NewHandler(opts)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// NewHandler returns a stand-in that is not listening.
func NewHandler(opts Options) *Server {
	if opts.TeamID == "" {
		opts.TeamID = DefaultTeamID
	}
	if opts.KeyID == "" {
		opts.KeyID = DefaultKeyID
	}
	if opts.UserTokenLife == 0 {
		opts.UserTokenLife = DefaultUserTokenLife
	}
	s := &Server{opts: opts, tokens: map[string]bool{}, rate: standin.Window{Span: time.Minute},
		users: map[string]*User{}, userTokens: map[string]*userToken{}}
	if opts.PublicKey == nil {
		k, pemText, err := GenerateKey()
		if err != nil {
			panic(err) // crypto/rand failing is not a test's problem to handle
		}
		s.opts.PublicKey = &k.PublicKey
		s.privPEM = pemText
	}
	s.Init(opts.Now)
	return s
}

// GenerateKey makes a P-256 key as Apple issues for MusicKit, with its
// PKCS#8 PEM (the .p8 file's contents).
func GenerateKey() (*ecdsa.PrivateKey, string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, "", err
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// Close releases hung requests and stops the server (if New started one).
func (s *Server) Close() {
	s.CloseBase()
	if s.ts != nil {
		s.ts.Close()
	}
}

// TeamID, KeyID and PrivateKeyPEM are the developer account's credentials
// (PrivateKeyPEM is empty when Options.PublicKey was given).
func (s *Server) TeamID() string        { return s.opts.TeamID }
func (s *Server) KeyID() string         { return s.opts.KeyID }
func (s *Server) PrivateKeyPEM() string { return s.privPEM }

// AddSong puts a song in the catalog, visible from visibleFrom on the
// stand-in's clock (the zero time: at once). A song with the same ID is replaced.
func (s *Server) AddSong(song Song, visibleFrom time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.songs = slices.DeleteFunc(s.songs, func(e *entry[Song]) bool { return e.item.ID == song.ID })
	s.songs = append(s.songs, &entry[Song]{song, visibleFrom})
}

// AddAlbum puts an album in the catalog, visible from visibleFrom (the zero
// time: at once). An album with the same ID is replaced.
func (s *Server) AddAlbum(a Album, visibleFrom time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.albums = slices.DeleteFunc(s.albums, func(e *entry[Album]) bool { return e.item.ID == a.ID })
	s.albums = append(s.albums, &entry[Album]{a, visibleFrom})
}

// SetRateLimit allows n API requests (catalog, storefront, library) per minute per stand-in (0 turns it
// off); beyond it the answer is 429 with Retry-After.
func (s *Server) SetRateLimit(n int) {
	s.mu.Lock()
	s.rate = standin.Window{Limit: n, Span: time.Minute}
	s.mu.Unlock()
}

// Tokens is how many distinct valid developer tokens the stand-in has seen
// (a client that caches its token shows 1).
func (s *Server) Tokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

// Origins lists the Origin headers of the last 100 authenticated requests.
func (s *Server) Origins() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.origins)
}

// LastAuthError is why the last 401 was answered ("" if none was).
func (s *Server) LastAuthError() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAuth
}

// RateLimited is how many 429s were sent (limit and injected).
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent429
}

// ---- request handling ----

func endpointOf(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(parts) == 4 && parts[0] == "v1" && parts[1] == "catalog" && parts[3] == "songs":
		return EndpointSongs
	case len(parts) == 4 && parts[0] == "v1" && parts[1] == "catalog" && parts[3] == "albums":
		return EndpointAlbums
	case len(parts) >= 1 && (parts[0] == "listen" || parts[0] == "artwork"):
		return EndpointPage
	case len(parts) == 3 && parts[0] == "v1" && parts[1] == "me" && parts[2] == "storefront":
		return EndpointStorefront
	case len(parts) == 3 && parts[0] == "v1" && parts[1] == "me" && parts[2] == "library":
		return EndpointLibrary
	case len(parts) >= 1 && parts[0] == "musickit":
		return EndpointMusicKit
	}
	return EndpointOther
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep := endpointOf(r.URL.Path)
	s.Serve(w, r, ep, s.serveFault, func(w http.ResponseWriter) {
		switch ep {
		case EndpointPage:
			s.servePage(w, r)
		case EndpointMusicKit:
			s.serveMusicKit(w, r)
		case EndpointSongs, EndpointAlbums, EndpointStorefront, EndpointLibrary:
			if !s.authenticate(w, r) {
				return
			}
			var user *User
			if ep == EndpointStorefront || ep == EndpointLibrary {
				if user = s.authenticateUser(w, r); user == nil {
					return
				}
			}
			s.mu.Lock()
			wait, ok := s.rate.Take(s.Now())
			if !ok {
				s.sent429++
			}
			s.mu.Unlock()
			if !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
				writeErr(w, http.StatusTooManyRequests, "42900", "Too Many Requests", "Rate limit exceeded")
				return
			}
			switch ep {
			case EndpointSongs:
				s.serveSongs(w, r)
			case EndpointAlbums:
				s.serveAlbums(w, r)
			case EndpointStorefront:
				s.serveStorefront(w, r, user)
			case EndpointLibrary:
				s.serveLibraryAdd(w, r, user)
			}
		default:
			writeErr(w, http.StatusNotFound, "40400", "Resource Not Found", "No such resource on this stand-in")
		}
	})
}

func (s *Server) serveFault(w http.ResponseWriter, f standin.Fault) {
	st := f.Status
	if st == 0 {
		st = http.StatusInternalServerError
	}
	if st == http.StatusTooManyRequests {
		s.mu.Lock()
		s.sent429++
		s.mu.Unlock()
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
	}
	writeErr(w, st, strconv.Itoa(st)+"00", http.StatusText(st), "Injected by the stand-in")
}

type apiError struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
	Status string `json:"status"`
	Code   string `json:"code"`
}

// writeErr answers Apple's error document; status and code are strings.
func writeErr(w http.ResponseWriter, status int, code, title, detail string) {
	writeJSON(w, status, map[string]any{"errors": []apiError{{
		ID: "STANDIN" + strconv.FormatInt(time.Now().UnixNano(), 36), Title: title, Detail: detail,
		Status: strconv.Itoa(status), Code: code,
	}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// authenticate checks the developer token or answers 401.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) bool {
	reason := s.checkToken(r)
	if reason == "" {
		return true
	}
	s.mu.Lock()
	s.lastAuth = reason
	s.mu.Unlock()
	writeErr(w, http.StatusUnauthorized, "40100", "Unauthorized", "Authentication failed")
	return false
}

type claims struct {
	Origin []string `json:"origin,omitempty"`
	jwt.RegisteredClaims
}

func (s *Server) checkToken(r *http.Request) string {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return "no bearer token"
	}
	var c claims
	tok, err := jwt.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if t.Header["kid"] != s.opts.KeyID {
			return nil, fmt.Errorf("kid %v is not %s", t.Header["kid"], s.opts.KeyID)
		}
		return s.opts.PublicKey, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(s.opts.TeamID), jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.Now), jwt.WithLeeway(time.Minute))
	if err != nil || !tok.Valid {
		return "token: " + errString(err)
	}
	if c.IssuedAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxTokenLife {
		return "token: exp is more than six months after iat"
	}
	origin := r.Header.Get("Origin")
	if len(c.Origin) > 0 && !slices.Contains(c.Origin, origin) {
		return fmt.Sprintf("token: origin %q is not one of %v", origin, c.Origin)
	}
	s.mu.Lock()
	s.tokens[raw] = true
	s.origins = append(s.origins, origin)
	if len(s.origins) > 100 {
		s.origins = s.origins[1:]
	}
	s.mu.Unlock()
	return ""
}

func errString(err error) string {
	if err == nil {
		return "invalid"
	}
	return err.Error()
}

// filterValues reads filter[name] (comma-separated) or answers 400.
func filterValues(w http.ResponseWriter, r *http.Request, name string) ([]string, bool) {
	raw := r.URL.Query().Get("filter[" + name + "]")
	var vals []string
	for _, v := range strings.Split(raw, ",") {
		if v = strings.TrimSpace(v); v != "" {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		writeErr(w, http.StatusBadRequest, "40005", "Invalid Parameter Value", "filter["+name+"] is required")
		return nil, false
	}
	if len(vals) > MaxFilterValues {
		writeErr(w, http.StatusBadRequest, "40005", "Invalid Parameter Value", fmt.Sprintf("filter[%s] takes at most %d values", name, MaxFilterValues))
		return nil, false
	}
	return vals, true
}

func storefrontOf(p string) string { return strings.Split(strings.Trim(p, "/"), "/")[2] }

func validStorefront(sf string) bool {
	return len(sf) == 2 && sf[0] >= 'a' && sf[0] <= 'z' && sf[1] >= 'a' && sf[1] <= 'z'
}

type resource struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Href       string         `json:"href"`
	Attributes map[string]any `json:"attributes"`
}

type ref struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Href string `json:"href"`
}

func (s *Server) serveSongs(w http.ResponseWriter, r *http.Request) {
	sf := storefrontOf(r.URL.Path)
	if !validStorefront(sf) {
		writeErr(w, http.StatusNotFound, "40400", "Resource Not Found", "Storefront not found")
		return
	}
	if ids, byID := idsParam(r); byID {
		s.serveByID(w, sf, ids, EndpointSongs)
		return
	}
	isrcs, ok := filterValues(w, r, "isrc")
	if !ok {
		return
	}
	now := s.Now()
	s.mu.Lock()
	data := []resource{}
	refs := map[string][]ref{}
	for _, isrc := range isrcs {
		for _, e := range s.songs {
			if !strings.EqualFold(e.item.ISRC, isrc) || !standin.Visible(e.visible, now) || !inStorefront(e.item.Storefronts, sf) {
				continue
			}
			res := s.songResource(sf, e.item)
			data = append(data, res)
			refs[isrc] = append(refs[isrc], ref{res.ID, res.Type, res.Href})
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": map[string]any{"filters": map[string]any{"isrc": refs}}})
}

func (s *Server) serveAlbums(w http.ResponseWriter, r *http.Request) {
	sf := storefrontOf(r.URL.Path)
	if !validStorefront(sf) {
		writeErr(w, http.StatusNotFound, "40400", "Resource Not Found", "Storefront not found")
		return
	}
	if ids, byID := idsParam(r); byID {
		s.serveByID(w, sf, ids, EndpointAlbums)
		return
	}
	upcs, ok := filterValues(w, r, "upc")
	if !ok {
		return
	}
	now := s.Now()
	s.mu.Lock()
	data := []resource{}
	refs := map[string][]ref{}
	for _, upc := range upcs {
		for _, e := range s.albums {
			if e.item.UPC != upc || !inStorefront(e.item.Storefronts, sf) {
				continue
			}
			live := standin.Visible(e.visible, now)
			if !live && !e.item.Announced {
				continue
			}
			res := s.albumResource(sf, e.item, live)
			data = append(data, res)
			refs[upc] = append(refs[upc], ref{res.ID, res.Type, res.Href})
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": map[string]any{"filters": map[string]any{"upc": refs}}})
}

// idsParam reads ?ids=a,b (Get Multiple Catalog Songs/Albums by ID).
func idsParam(r *http.Request) ([]string, bool) {
	raw := r.URL.Query().Get("ids")
	if raw == "" {
		return nil, false
	}
	var ids []string
	for _, v := range strings.Split(raw, ",") {
		if v = strings.TrimSpace(v); v != "" {
			ids = append(ids, v)
		}
	}
	return ids, true
}

// serveByID answers the catalog items with these ids visible in storefront sf.
func (s *Server) serveByID(w http.ResponseWriter, sf string, ids []string, ep string) {
	now := s.Now()
	s.mu.Lock()
	data := []resource{}
	for _, id := range ids {
		if ep == EndpointSongs {
			for _, e := range s.songs {
				if e.item.ID == id && standin.Visible(e.visible, now) && inStorefront(e.item.Storefronts, sf) {
					data = append(data, s.songResource(sf, e.item))
				}
			}
			continue
		}
		for _, e := range s.albums {
			if e.item.ID != id || !inStorefront(e.item.Storefronts, sf) {
				continue
			}
			if live := standin.Visible(e.visible, now); live || e.item.Announced {
				data = append(data, s.albumResource(sf, e.item, live))
			}
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

func (s *Server) artwork(tmpl, kind, id string) map[string]any {
	if tmpl == "" {
		tmpl = s.URL + "/artwork/" + kind + "/" + id + "/{w}x{h}bb.png"
	}
	return map[string]any{"url": tmpl, "width": 3000, "height": 3000, "bgColor": "1a1a2e", "textColor1": "ffffff"}
}

func (s *Server) songResource(sf string, so Song) resource {
	u := so.URL
	if u == "" {
		u = s.URL + "/listen/" + sf + "/song/" + so.ID
	}
	return resource{ID: so.ID, Type: "songs", Href: "/v1/catalog/" + sf + "/songs/" + so.ID, Attributes: map[string]any{
		"name": so.Name, "artistName": so.Artist, "albumName": so.AlbumName, "isrc": so.ISRC, "url": u,
		"artwork":    s.artwork(so.ArtworkURL, "song", so.ID),
		"playParams": map[string]any{"id": so.ID, "kind": "song"},
	}}
}

func (s *Server) albumResource(sf string, a Album, live bool) resource {
	u := a.URL
	if u == "" {
		u = s.URL + "/listen/" + sf + "/album/" + a.ID
	}
	attrs := map[string]any{
		"name": a.Name, "artistName": a.Artist, "upc": a.UPC, "url": u, "isComplete": live,
		"artwork": s.artwork(a.ArtworkURL, "album", a.ID),
	}
	if live {
		attrs["playParams"] = map[string]any{"id": a.ID, "kind": "album"}
	}
	return resource{ID: a.ID, Type: "albums", Href: "/v1/catalog/" + sf + "/albums/" + a.ID, Attributes: attrs}
}

// servePage answers /listen/{sf}/{song|album}/{id} and /artwork/{kind}/{id}/{w}x{h}bb.png.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if parts[0] == "artwork" && len(parts) == 4 {
		standin.Cover(w, "apple/"+parts[1]+"/"+parts[2], standin.SizeParam(parts[3]))
		return
	}
	if parts[0] != "listen" || len(parts) != 4 {
		standin.NotFoundPage(w)
		return
	}
	kind, id := parts[2], parts[3]
	s.mu.Lock()
	defer s.mu.Unlock()
	l := standin.Listen{Platform: "Apple Music", Kind: kind, ID: id}
	found := false
	switch kind {
	case "song":
		for _, e := range s.songs {
			if e.item.ID == id {
				l.Name, l.Artist, found = e.item.Name, e.item.Artist, true
			}
		}
	case "album":
		for _, e := range s.albums {
			if e.item.ID == id {
				l.Name, l.Artist, found = e.item.Name, e.item.Artist, true
			}
		}
	}
	if !found {
		standin.NotFoundPage(w)
		return
	}
	l.Artwork = s.URL + "/artwork/" + kind + "/" + id + "/480x480bb.png"
	standin.ListenPage(w, l)
}
