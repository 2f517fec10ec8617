// Package tidaltest is a local stand-in for TIDAL, for tests and `dropday
// demo` (wire details: /work/shared/PLATFORMS.md §4). One base URL serves
// GET/POST /authorize (the fan's consent page, as login.tidal.com), POST
// /v1/oauth2/token (client credentials, authorization code with PKCE S256,
// refresh; as auth.tidal.com), and the JSON:API as openapi.tidal.com: the
// catalog look-ups GET /v2/tracks and /v2/albums, GET /v2/users/me, and the
// collections /v2/userCollection{Albums,Tracks}/me/relationships/items
// (oauth.go, collection.go).
//
// The API checks the bearer token the token endpoint issued (and its expiry
// on the settable clock), requires countryCode, answers JSON:API documents
// (application/vnd.api+json) and JSON:API errors, and 429 with Retry-After.
// A track or album is added with the time from which it is visible ("not
// found yet, found later"). It logs nothing.
package tidaltest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dropday/dropday/internal/platform/standin"
)

// Endpoint names used by the counters (Requests) and Fault.Endpoint.
const (
	EndpointAuthorize  = "authorize"
	EndpointToken      = "token"
	EndpointTracks     = "tracks"
	EndpointAlbums     = "albums"
	EndpointMe         = "me"
	EndpointCollection = "collection" // the collection adds (albums and tracks)
	EndpointPage       = "page"       // listen pages and covers
	EndpointOther      = "other"
)

// Defaults for Options left empty.
const (
	DefaultClientID     = "dropday-tidal-client"
	DefaultClientSecret = "dropday-tidal-secret"
	// DefaultTokenTTL is expires_in of every access token.
	DefaultTokenTTL = 24 * time.Hour
)

// Options configure a Server.
type Options struct {
	ClientID     string        // default DefaultClientID
	ClientSecret string        // default DefaultClientSecret
	TokenTTL     time.Duration // default DefaultTokenTTL
	// RedirectURL is the one registered redirect URI; /authorize and the
	// code exchange refuse any other. Empty accepts any.
	RedirectURL string
	// AppName is shown on the consent page (default "dropday").
	AppName string
	// Users are the fake accounts (default one user, "fan1").
	Users []User
	// ConsentPage shows an HTML consent page at /authorize instead of
	// consenting at once as the current user (auto-consent, for tests).
	ConsentPage bool
	// Now is the clock for visibility, token expiry and the rate window (default time.Now).
	Now func() time.Time
}

// Track is a catalog track.
type Track struct {
	ID     string // digits, like TIDAL's
	Title  string
	Artist string
	ISRC   string
	// AlbumID links the track to an added album (its cover).
	AlbumID string
	// URL is the TIDAL_SHARING external link; empty serves a listen page from the stand-in.
	URL string
}

// Album is a catalog album.
type Album struct {
	ID        string
	Title     string
	Artist    string
	BarcodeID string // the UPC or EAN-13
	// CoverURL is the 640×640 cover file; empty serves covers from the stand-in.
	CoverURL string
	// URL is the TIDAL_SHARING external link; empty serves a listen page from the stand-in.
	URL string
}

type entry[T any] struct {
	item    T
	visible time.Time
}

// Server is the stand-in. Use New for a running httptest server, or
// NewHandler to mount it yourself.
type Server struct {
	standin.Base
	// URL is the base URL for both DROPDAY_TIDAL_AUTH_URL and DROPDAY_TIDAL_API_URL.
	URL string

	ts   *httptest.Server
	opts Options

	mu      sync.Mutex
	tracks  []*entry[Track]
	albums  []*entry[Album]
	tokens  map[string]*access // access token → its expiry and grant
	issued  int
	oauth   oauthState
	coll    collections
	rate    standin.Window
	sent429 int
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
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.AppName == "" {
		opts.AppName = "dropday"
	}
	if len(opts.Users) == 0 {
		opts.Users = []User{{ID: "fan1", Username: "Fan One", Email: "fan1@example.test"}}
	}
	s := &Server{opts: opts, tokens: map[string]*access{}, rate: standin.Window{Span: time.Second}}
	s.Init(opts.Now)
	s.initOAuth()
	s.coll.init()
	return s
}

// Close releases hung requests and stops the server (if New started one).
func (s *Server) Close() {
	s.CloseBase()
	if s.ts != nil {
		s.ts.Close()
	}
}

// ClientID and ClientSecret are the registered app's credentials.
func (s *Server) ClientID() string     { return s.opts.ClientID }
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// AddTrack puts a track in the catalog, visible from visibleFrom on the
// stand-in's clock (the zero time: at once). One with the same ID is replaced.
func (s *Server) AddTrack(t Track, visibleFrom time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tracks = slices.DeleteFunc(s.tracks, func(e *entry[Track]) bool { return e.item.ID == t.ID })
	s.tracks = append(s.tracks, &entry[Track]{t, visibleFrom})
}

// AddAlbum puts an album in the catalog, visible from visibleFrom (the zero
// time: at once). One with the same ID is replaced.
func (s *Server) AddAlbum(a Album, visibleFrom time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.albums = slices.DeleteFunc(s.albums, func(e *entry[Album]) bool { return e.item.ID == a.ID })
	s.albums = append(s.albums, &entry[Album]{a, visibleFrom})
}

// SetRateLimit allows n API requests per second on the stand-in's clock (0
// turns it off); beyond it the answer is 429 with Retry-After.
func (s *Server) SetRateLimit(n int) {
	s.mu.Lock()
	s.rate = standin.Window{Limit: n, Span: time.Second}
	s.mu.Unlock()
}

// RevokeTokens makes every issued access token invalid (the API answers 401).
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	clear(s.tokens)
	s.mu.Unlock()
}

// TokensIssued is how many access tokens the token endpoint has issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// RateLimited is how many 429s were sent (limit and injected).
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent429
}

// ---- request handling ----

func endpointOf(p string) string {
	switch {
	case p == "/authorize":
		return EndpointAuthorize
	case p == "/v1/oauth2/token":
		return EndpointToken
	case p == "/v2/users/me":
		return EndpointMe
	case collectionPath(p) != "":
		return EndpointCollection
	case p == "/v2/tracks":
		return EndpointTracks
	case p == "/v2/albums":
		return EndpointAlbums
	case strings.HasPrefix(p, "/listen/") || strings.HasPrefix(p, "/cover/"):
		return EndpointPage
	}
	return EndpointOther
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep := endpointOf(r.URL.Path)
	s.Serve(w, r, ep, func(w http.ResponseWriter, f standin.Fault) { s.serveFault(w, ep, f) }, func(w http.ResponseWriter) {
		switch ep {
		case EndpointAuthorize:
			s.handleAuthorize(w, r)
		case EndpointToken:
			s.handleToken(w, r)
		case EndpointPage:
			s.servePage(w, r)
		case EndpointTracks, EndpointAlbums, EndpointMe, EndpointCollection:
			a := s.authenticate(w, r)
			if a == nil {
				return
			}
			s.mu.Lock()
			wait, ok := s.rate.Take(s.Now())
			if !ok {
				s.sent429++
			}
			s.mu.Unlock()
			if !ok {
				w.Header().Set("Retry-After", strconv.Itoa(max(int((wait+time.Second-1)/time.Second), 1)))
				writeErrors(w, http.StatusTooManyRequests, "", "Rate limit exceeded")
				return
			}
			switch ep {
			case EndpointMe:
				s.serveMe(w, a)
			case EndpointCollection:
				s.serveCollection(w, r, a)
			default:
				s.serveCatalog(w, r, ep)
			}
		default:
			writeErrors(w, http.StatusNotFound, "NOT_FOUND", "No such resource on this stand-in")
		}
	})
}

func (s *Server) serveFault(w http.ResponseWriter, ep string, f standin.Fault) {
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
	if ep == EndpointToken {
		writeJSON(w, st, "application/json", map[string]any{"error": "server_error", "error_description": http.StatusText(st), "status": st})
		return
	}
	detail := http.StatusText(st)
	if st == http.StatusTooManyRequests {
		detail = "Rate limit exceeded" // TIDAL's words (PLATFORMS.md §4)
	}
	writeErrors(w, st, "", detail)
}

func writeJSON(w http.ResponseWriter, status int, ctype string, v any) {
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErrors answers a JSON:API error document.
func writeErrors(w http.ResponseWriter, status int, code, detail string) {
	e := map[string]any{"id": randomToken(8), "status": strconv.Itoa(status), "detail": detail}
	if code != "" {
		e["code"] = code
	}
	writeJSON(w, status, "application/vnd.api+json", map[string]any{"errors": []any{e}})
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authenticate checks the bearer token: an app token (client credentials)
// or a fan's, not expired on the stand-in's clock and not revoked.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) *access {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	now := s.Now()
	s.mu.Lock()
	a := s.tokens[tok]
	valid := ok && a != nil && now.Before(a.expires) && (a.grant == nil || !a.grant.revoked)
	s.mu.Unlock()
	if !valid {
		writeErrors(w, http.StatusUnauthorized, "UNAUTHORIZED", "Invalid or expired access token")
		return nil
	}
	return a
}

type rel struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type res struct {
	ID            string                    `json:"id"`
	Type          string                    `json:"type"`
	Attributes    map[string]any            `json:"attributes"`
	Relationships map[string]map[string]any `json:"relationships,omitempty"`
}

func (s *Server) serveCatalog(w http.ResponseWriter, r *http.Request, ep string) {
	q := r.URL.Query()
	country := q.Get("countryCode")
	if len(country) != 2 {
		writeErrors(w, http.StatusBadRequest, "VALUE_REGEX_MISMATCH", "countryCode is required (two letters)")
		return
	}
	filter := "isrc"
	if ep == EndpointAlbums {
		filter = "barcodeId"
	}
	for k := range q {
		if strings.HasPrefix(k, "filter[") && k != "filter["+filter+"]" {
			writeErrors(w, http.StatusBadRequest, "INVALID_FILTER", "Unknown filter "+k)
			return
		}
	}
	var vals []string
	for _, v := range q["filter["+filter+"]"] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				vals = append(vals, p)
			}
		}
	}
	if len(vals) == 0 {
		writeErrors(w, http.StatusBadRequest, "MISSING_FILTER", "filter["+filter+"] is required")
		return
	}
	include := map[string]bool{}
	for _, v := range strings.Split(q.Get("include"), ",") {
		include[strings.TrimSpace(v)] = true
	}
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	data := []res{}
	included := []res{}
	seen := map[string]bool{}
	add := func(x res) {
		if k := x.Type + "/" + x.ID; !seen[k] {
			seen[k] = true
			included = append(included, x)
		}
	}
	for _, v := range vals {
		if ep == EndpointTracks {
			for _, e := range s.tracks {
				t := e.item
				if !strings.EqualFold(t.ISRC, v) || !standin.Visible(e.visible, now) {
					continue
				}
				link := t.URL
				if link == "" {
					link = s.URL + "/listen/track/" + t.ID
				}
				x := res{ID: t.ID, Type: "tracks", Attributes: map[string]any{
					"title": t.Title, "isrc": t.ISRC, "duration": "PT3M20S", "explicit": false,
					"externalLinks": []any{map[string]any{"href": link, "meta": map[string]any{"type": "TIDAL_SHARING"}}},
				}, Relationships: map[string]map[string]any{
					"artists": {"data": []rel{{"a" + t.ID, "artists"}}},
					"albums":  {"data": []rel{}},
				}}
				if include["artists"] {
					add(res{ID: "a" + t.ID, Type: "artists", Attributes: map[string]any{"name": t.Artist}})
				}
				if a := s.albumLocked(t.AlbumID, now); a != nil {
					x.Relationships["albums"]["data"] = []rel{{a.ID, "albums"}}
					if include["albums"] || include["albums.coverArt"] {
						add(s.albumRes(*a))
					}
					if include["albums.coverArt"] {
						add(s.artworkRes(*a))
					}
				}
				data = append(data, x)
			}
			continue
		}
		for _, e := range s.albums {
			a := e.item
			if a.BarcodeID != v || !standin.Visible(e.visible, now) {
				continue
			}
			data = append(data, s.albumRes(a))
			if include["artists"] {
				add(res{ID: "a" + a.ID, Type: "artists", Attributes: map[string]any{"name": a.Artist}})
			}
			if include["coverArt"] {
				add(s.artworkRes(a))
			}
		}
	}
	self := "/v2" + strings.TrimPrefix(r.URL.Path, "/v2") + "?" + r.URL.RawQuery
	writeJSON(w, http.StatusOK, "application/vnd.api+json", map[string]any{"data": data, "included": included, "links": map[string]any{"self": self}})
}

func (s *Server) albumLocked(id string, now time.Time) *Album {
	for _, e := range s.albums {
		if e.item.ID == id && standin.Visible(e.visible, now) {
			return &e.item
		}
	}
	return nil
}

func (s *Server) albumRes(a Album) res {
	link := a.URL
	if link == "" {
		link = s.URL + "/listen/album/" + a.ID
	}
	return res{ID: a.ID, Type: "albums", Attributes: map[string]any{
		"title": a.Title, "barcodeId": a.BarcodeID, "numberOfItems": 1, "type": "ALBUM",
		"externalLinks": []any{map[string]any{"href": link, "meta": map[string]any{"type": "TIDAL_SHARING"}}},
	}, Relationships: map[string]map[string]any{
		"artists":  {"data": []rel{{"a" + a.ID, "artists"}}},
		"coverArt": {"data": []rel{{"art" + a.ID, "artworks"}}},
	}}
}

func (s *Server) artworkRes(a Album) res {
	var files []any
	for _, n := range []int{1280, 640, 320, 160, 80} {
		href := s.URL + "/cover/" + url.PathEscape(a.ID) + "/" + strconv.Itoa(n) + "x" + strconv.Itoa(n) + ".png"
		if a.CoverURL != "" {
			if n != 640 {
				continue
			}
			href = a.CoverURL
		}
		files = append(files, map[string]any{"href": href, "meta": map[string]any{"width": n, "height": n}})
	}
	return res{ID: "art" + a.ID, Type: "artworks", Attributes: map[string]any{"mediaType": "IMAGE", "files": files}}
}

// servePage answers /listen/{track|album}/{id} and /cover/{albumID}/{n}x{n}.png.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if parts[0] == "cover" && len(parts) == 3 {
		standin.Cover(w, "tidal/"+parts[1], standin.SizeParam(parts[2]))
		return
	}
	if len(parts) != 3 {
		standin.NotFoundPage(w)
		return
	}
	l := standin.Listen{Platform: "TIDAL", Kind: parts[1], ID: parts[2]}
	found := false
	s.mu.Lock()
	switch parts[1] {
	case "track":
		for _, e := range s.tracks {
			if e.item.ID == parts[2] {
				l.Name, l.Artist, found = e.item.Title, e.item.Artist, true
				l.Artwork = s.URL + "/cover/" + e.item.AlbumID + "/480x480.png"
			}
		}
	case "album":
		for _, e := range s.albums {
			if e.item.ID == parts[2] {
				l.Name, l.Artist, found = e.item.Title, e.item.Artist, true
				l.Artwork = s.URL + "/cover/" + e.item.ID + "/480x480.png"
			}
		}
	}
	s.mu.Unlock()
	if !found {
		standin.NotFoundPage(w)
		return
	}
	standin.ListenPage(w, l)
}
