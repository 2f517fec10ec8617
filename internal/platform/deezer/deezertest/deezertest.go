// Package deezertest is a local stand-in for Deezer's public API look-ups
// and its direct-save part, for tests and `dropday demo` (wire details:
// /work/shared/PLATFORMS.md §3): GET /track/isrc:{ISRC}, GET /album/upc:{UPC}
// (and by id), no auth; /oauth/auth.php (a consent page with fake users, or
// auto-consent), /oauth/access_token.php, GET /user/me and POST
// /user/me/albums|tracks with the fan's access_token (see direct.go).
//
// As Deezer does, it answers errors inside HTTP 200 as
// {"error":{"type","message","code"}}: 800 DataException for a miss, 4
// "Quota limit exceeded" beyond its rate (50 requests per 5 s by default).
// A track or album is added with the time from which it is visible, judged
// by the settable clock ("not found yet, found later"). It logs nothing.
package deezertest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dropday/dropday/internal/platform/standin"
)

// Endpoint names used by the counters (Requests) and Fault.Endpoint.
const (
	EndpointTrack     = "track"
	EndpointAlbum     = "album"
	EndpointPage      = "page" // listen pages and covers
	EndpointAuthorize = "authorize"
	EndpointToken     = "token"
	EndpointMe        = "me"
	EndpointLibrary   = "library"
	EndpointOther     = "other"
)

// Deezer's error codes the stand-in answers.
const (
	CodeQuota        = 4
	CodePermission   = 200
	CodeTokenInvalid = 300
	CodeParameter    = 500
	CodeServiceBusy  = 700
	CodeNotFound     = 800
)

// Default rate: Deezer's often-quoted 50 requests per 5 seconds.
const (
	DefaultRateLimit = 50
	DefaultRateSpan  = 5 * time.Second
)

// Options configure a Server.
type Options struct {
	// Now is the clock for visibility and the rate window (default time.Now).
	Now func() time.Time
	// AppID and AppSecret are the registered app (DefaultAppID, DefaultAppSecret).
	AppID, AppSecret string
	// RedirectURL is the app's registered redirect URI; empty accepts any.
	RedirectURL string
	// Users are the fake accounts (default one user, 1001 "Fan One").
	Users []User
	// ConsentPage shows an HTML consent page at /oauth/auth.php instead of
	// consenting at once as the current user (auto-consent, for tests).
	ConsentPage bool
}

// Track is a catalog track.
type Track struct {
	ID     int64
	Title  string
	Artist string
	ISRC   string
	// AlbumID links the track to an added album (its title and cover).
	AlbumID int64
	// Link is the track's "link"; empty serves a listen page from the stand-in.
	Link string
}

// Album is a catalog album.
type Album struct {
	ID     int64
	Title  string
	Artist string
	UPC    string
	// Cover is cover_xl; empty serves one from the stand-in.
	Cover string
	// Link is the album's "link"; empty serves a listen page from the stand-in.
	Link string
}

type entry[T any] struct {
	item    T
	visible time.Time
}

// Server is the stand-in. Use New for a running httptest server, or
// NewHandler to mount it yourself.
type Server struct {
	standin.Base
	// URL is the base URL (DROPDAY_DEEZER_API_URL).
	URL string

	ts *httptest.Server

	mu       sync.Mutex
	tracks   []*entry[Track]
	albums   []*entry[Album]
	rate     standin.Window
	codes    []injected // injected error codes, answered in HTTP 200
	quotaHit int

	direct
}

type injected struct {
	endpoint string // "" any API endpoint
	code     int
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
	s := &Server{rate: standin.Window{Limit: DefaultRateLimit, Span: DefaultRateSpan}}
	s.Init(opts.Now)
	s.initDirect(opts)
	return s
}

// Close releases hung requests and stops the server (if New started one).
func (s *Server) Close() {
	s.CloseBase()
	if s.ts != nil {
		s.ts.Close()
	}
}

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

// SetRateLimit allows n requests per span on the stand-in's clock (n = 0
// turns it off); beyond it the answer is the quota error (code 4).
func (s *Server) SetRateLimit(n int, span time.Duration) {
	s.mu.Lock()
	s.rate = standin.Window{Limit: n, Span: span}
	s.mu.Unlock()
}

// FailNextCode makes the next n API requests answer Deezer error code
// (CodeQuota, CodeServiceBusy, ...) inside HTTP 200.
func (s *Server) FailNextCode(n, code int) { s.FailNextCodeAt("", n, code) }

// FailNextCodeAt is FailNextCode for requests to one endpoint only
// (EndpointLibrary, EndpointMe, ...).
func (s *Server) FailNextCodeAt(endpoint string, n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.codes = append(s.codes, injected{endpoint, code})
	}
}

// QuotaErrors is how many quota errors (code 4) were answered.
func (s *Server) QuotaErrors() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quotaHit
}

// ---- request handling ----

func endpointOf(p string) string {
	switch p {
	case "/oauth/auth.php":
		return EndpointAuthorize
	case "/oauth/access_token.php":
		return EndpointToken
	case "/user/me":
		return EndpointMe
	case "/user/me/albums", "/user/me/tracks":
		return EndpointLibrary
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "track":
		return EndpointTrack
	case len(parts) == 2 && parts[0] == "album":
		return EndpointAlbum
	case parts[0] == "listen" || parts[0] == "cover":
		return EndpointPage
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
			return
		case EndpointAuthorize:
			s.handleAuthorize(w, r)
			return
		case EndpointToken:
			s.handleToken(w, r)
			return
		}
		s.mu.Lock()
		_, ok := s.rate.Take(s.Now())
		code := 0
		if !ok {
			code = CodeQuota
		} else {
			for i, c := range s.codes {
				if c.endpoint == "" || c.endpoint == ep {
					code = c.code
					s.codes = append(s.codes[:i], s.codes[i+1:]...)
					break
				}
			}
		}
		if code == CodeQuota {
			s.quotaHit++
		}
		s.mu.Unlock()
		if code != 0 {
			writeCode(w, code)
			return
		}
		id := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		switch ep {
		case EndpointTrack:
			s.serveTrack(w, id[1])
		case EndpointAlbum:
			s.serveAlbum(w, id[1])
		case EndpointMe:
			s.serveMe(w, r)
		case EndpointLibrary:
			s.serveLibrary(w, r)
		default:
			writeError(w, "DataException", "no data", CodeNotFound)
		}
	})
}

func (s *Server) serveFault(w http.ResponseWriter, f standin.Fault) {
	switch f.Status {
	case http.StatusTooManyRequests:
		// Deezer throttles inside HTTP 200.
		s.mu.Lock()
		s.quotaHit++
		s.mu.Unlock()
		writeCode(w, CodeQuota)
	case 0:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
	default:
		http.Error(w, http.StatusText(f.Status), f.Status)
	}
}

func writeCode(w http.ResponseWriter, code int) {
	switch code {
	case CodeQuota:
		writeError(w, "Exception", "Quota limit exceeded", code)
	case CodeNotFound:
		writeError(w, "DataException", "no data", code)
	case CodeServiceBusy:
		writeError(w, "Exception", "The service is busy", code)
	case CodeTokenInvalid:
		writeError(w, "OAuthException", "Invalid OAuth access token.", code)
	case CodePermission:
		writeError(w, "OAuthException", "Permission denied", code)
	default:
		writeError(w, "ParameterException", "Wrong parameter", code)
	}
}

// writeError answers a Deezer error: always HTTP 200.
func writeError(w http.ResponseWriter, typ, msg string, code int) {
	writeJSON(w, map[string]any{"error": map[string]any{"type": typ, "message": msg, "code": code}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) albumLocked(id int64, now time.Time) *Album {
	for _, e := range s.albums {
		if e.item.ID == id && standin.Visible(e.visible, now) {
			return &e.item
		}
	}
	return nil
}

func (s *Server) serveTrack(w http.ResponseWriter, key string) {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	isrc, byISRC := strings.CutPrefix(key, "isrc:")
	id, _ := strconv.ParseInt(key, 10, 64)
	for _, e := range s.tracks {
		t := e.item
		if !standin.Visible(e.visible, now) || (byISRC && !strings.EqualFold(t.ISRC, isrc)) || (!byISRC && t.ID != id) {
			continue
		}
		link := t.Link
		if link == "" {
			link = s.URL + "/listen/track/" + standin.Itoa(t.ID)
		}
		alb := map[string]any{"id": t.AlbumID, "title": t.Title, "type": "album"}
		big, xl := s.URL+"/cover/track/"+standin.Itoa(t.ID)+"?size=500", s.URL+"/cover/track/"+standin.Itoa(t.ID)+"?size=1000"
		if a := s.albumLocked(t.AlbumID, now); a != nil {
			alb["title"] = a.Title
			big, xl = s.covers(*a)
		}
		alb["cover_big"], alb["cover_xl"] = big, xl
		writeJSON(w, map[string]any{
			"id": t.ID, "readable": true, "title": t.Title, "isrc": t.ISRC, "link": link, "duration": 200,
			"artist": map[string]any{"id": 1, "name": t.Artist, "type": "artist"},
			"album":  alb, "type": "track",
		})
		return
	}
	writeError(w, "DataException", "no data", CodeNotFound)
}

// covers are cover_big and cover_xl: the album's own, or the stand-in's.
func (s *Server) covers(a Album) (big, xl string) {
	if a.Cover != "" {
		return a.Cover, a.Cover
	}
	base := s.URL + "/cover/album/" + standin.Itoa(a.ID)
	return base + "?size=500", base + "?size=1000"
}

func (s *Server) serveAlbum(w http.ResponseWriter, key string) {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	upc, byUPC := strings.CutPrefix(key, "upc:")
	id, _ := strconv.ParseInt(key, 10, 64)
	for _, e := range s.albums {
		a := e.item
		if !standin.Visible(e.visible, now) || (byUPC && a.UPC != upc) || (!byUPC && a.ID != id) {
			continue
		}
		link := a.Link
		if link == "" {
			link = s.URL + "/listen/album/" + standin.Itoa(a.ID)
		}
		big, xl := s.covers(a)
		writeJSON(w, map[string]any{
			"id": a.ID, "title": a.Title, "upc": a.UPC, "link": link, "cover_big": big, "cover_xl": xl,
			"artist": map[string]any{"id": 1, "name": a.Artist, "type": "artist"}, "type": "album",
		})
		return
	}
	writeError(w, "DataException", "no data", CodeNotFound)
}

// servePage answers /listen/{track|album}/{id} and /cover/{kind}/{id}?size=N.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 3 {
		standin.NotFoundPage(w)
		return
	}
	if parts[0] == "cover" {
		standin.Cover(w, "deezer/"+parts[1]+"/"+parts[2], standin.SizeParam(r.URL.Query().Get("size")))
		return
	}
	id, _ := strconv.ParseInt(parts[2], 10, 64)
	l := standin.Listen{Platform: "Deezer", Kind: parts[1], ID: parts[2]}
	found := false
	s.mu.Lock()
	switch parts[1] {
	case "track":
		for _, e := range s.tracks {
			if e.item.ID == id {
				l.Name, l.Artist, found = e.item.Title, e.item.Artist, true
			}
		}
	case "album":
		for _, e := range s.albums {
			if e.item.ID == id {
				l.Name, l.Artist, found = e.item.Title, e.item.Artist, true
			}
		}
	}
	s.mu.Unlock()
	if !found {
		standin.NotFoundPage(w)
		return
	}
	l.Artwork = s.URL + "/cover/" + parts[1] + "/" + parts[2] + "?size=480"
	standin.ListenPage(w, l)
}
