package spotifytest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dropday/dropday/internal/platform/standin"
)

// Image is one size of a cover.
type Image struct {
	URL           string
	Width, Height int
}

// Track is a catalog track.
type Track struct {
	ID     string // 22 base62 characters
	Name   string
	Artist string
	ISRC   string
	// AlbumID links the track to an added album (its cover and name).
	AlbumID string
	// Images is the cover when the track has no album in the catalog.
	Images []Image
	// VisibleFrom hides the track until then on the stand-in's clock
	// ("not found yet, found later"); zero means at once.
	VisibleFrom time.Time
	// URL overrides external_urls.spotify (e.g. the stand-in's own
	// ListenURL, so a click stays on the machine).
	URL string
}

// Album is a catalog album.
type Album struct {
	ID       string // 22 base62 characters
	Name     string
	Artist   string
	UPC      string
	Images   []Image
	TrackIDs []string
	// VisibleFrom hides the album until then on the stand-in's clock; zero means at once.
	VisibleFrom time.Time
	// URL overrides external_urls.spotify.
	URL string
}

// ListenURL is the stand-in's own page for a track or album ("track",
// "album"), to use as Track.URL or Album.URL.
func (s *Server) ListenURL(kind, id string) string { return s.URL + "/listen/" + kind + "/" + id }

// serveListen answers /listen/{track|album}/{id}.
func (s *Server) serveListen(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(parts) == 3 {
		l := standin.Listen{Platform: "Spotify", Kind: parts[1], ID: parts[2]}
		if t := s.tracks[parts[2]]; parts[1] == "track" && t != nil {
			l.Name, l.Artist = t.Name, t.Artist
		}
		if a := s.albums[parts[2]]; parts[1] == "album" && a != nil {
			l.Name, l.Artist = a.Name, a.Artist
		}
		if l.Name != "" {
			standin.ListenPage(w, l)
			return
		}
	}
	standin.NotFoundPage(w)
}

func (s *Server) visibleLocked(from time.Time) bool { return standin.Visible(from, s.now()) }

func spotifyURL(override, kind, id string) string {
	if override != "" {
		return override
	}
	return "https://open.spotify.com/" + kind + "/" + id
}

// AddTrack puts t in the catalog (replacing one with the same ID).
func (s *Server) AddTrack(t Track) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tracks[t.ID] = &t
}

// AddAlbum puts a in the catalog (replacing one with the same ID).
func (s *Server) AddAlbum(a Album) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.albums[a.ID] = &a
}

// ImagesFor makes Spotify's usual three cover sizes (640, 300, 64) from one base URL.
func ImagesFor(base string) []Image {
	return []Image{
		{URL: base + "?size=640", Width: 640, Height: 640},
		{URL: base + "?size=300", Width: 300, Height: 300},
		{URL: base + "?size=64", Width: 64, Height: 64},
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiErr writes Spotify's Web API error object.
func apiErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"status": status, "message": msg}})
}

// authenticate checks the Bearer token. It returns the token's grant (nil
// for a client-credentials token) or writes the error and returns ok=false.
// Callers hold s.mu.
func (s *Server) authenticateLocked(w http.ResponseWriter, r *http.Request) (g *grant, ok bool) {
	h := r.Header.Get("Authorization")
	tok, found := strings.CutPrefix(h, "Bearer ")
	if !found || tok == "" {
		apiErr(w, http.StatusUnauthorized, "No token provided")
		return nil, false
	}
	at := s.access[tok]
	switch {
	case at == nil:
		apiErr(w, http.StatusUnauthorized, "Invalid access token")
		return nil, false
	case !s.now().Before(at.expires):
		apiErr(w, http.StatusUnauthorized, "The access token expired")
		return nil, false
	case at.grant != nil && at.grant.revoked:
		apiErr(w, http.StatusUnauthorized, "Invalid access token")
		return nil, false
	}
	if at.grant != nil {
		if u := s.users[at.grant.user]; u == nil || u.NotAllowlisted {
			apiErr(w, http.StatusForbidden, "User not registered in the Developer Dashboard")
			return nil, false
		}
	}
	return at.grant, true
}

// userGrantLocked is authenticateLocked for endpoints that need a user token.
func (s *Server) userGrantLocked(w http.ResponseWriter, r *http.Request) (*grant, bool) {
	g, ok := s.authenticateLocked(w, r)
	if !ok {
		return nil, false
	}
	if g == nil {
		apiErr(w, http.StatusUnauthorized, "Unauthorized.")
		return nil, false
	}
	return g, true
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		apiErr(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.userGrantLocked(w, r)
	if !ok {
		return
	}
	u := s.users[g.user]
	me := map[string]any{
		"id":            u.ID,
		"display_name":  u.DisplayName,
		"type":          "user",
		"uri":           "spotify:user:" + u.ID,
		"href":          "https://api.spotify.com/v1/users/" + u.ID,
		"external_urls": map[string]string{"spotify": "https://open.spotify.com/user/" + u.ID},
		"images":        []any{},
	}
	if u.AccountID != "" {
		me["account_id"] = u.AccountID
	}
	// Email needs the scope, and development-mode apps never get it (Feb 2026).
	if slices.Contains(g.scopes, "user-read-email") && !s.opts.DevMode && u.Email != "" {
		me["email"] = u.Email
	}
	writeJSON(w, http.StatusOK, me)
}

// libraryTypes are the URI types PUT /v1/me/library takes.
var libraryTypes = map[string]bool{
	"track": true, "album": true, "episode": true, "show": true,
	"audiobook": true, "user": true, "playlist": true,
}

func (s *Server) handleLibrary(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		apiErr(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.userGrantLocked(w, r)
	if !ok {
		return
	}
	if !slices.Contains(g.scopes, "user-library-modify") {
		apiErr(w, http.StatusForbidden, "Insufficient client scope")
		return
	}
	raw := r.URL.Query().Get("uris")
	if raw == "" {
		apiErr(w, http.StatusBadRequest, "Missing required field: uris")
		return
	}
	uris := strings.Split(raw, ",")
	if len(uris) > MaxLibraryURIs {
		apiErr(w, http.StatusBadRequest, "Too many ids requested")
		return
	}
	// Validate all before saving any: a 400 saves nothing.
	for _, u := range uris {
		parts := strings.Split(u, ":")
		if len(parts) != 3 || parts[0] != "spotify" {
			apiErr(w, http.StatusBadRequest, "Invalid URI: "+u)
			return
		}
		if !libraryTypes[parts[1]] {
			apiErr(w, http.StatusBadRequest, "Unsupported URI type: "+parts[1])
			return
		}
		if !isBase62ID(parts[2]) && parts[1] != "user" {
			apiErr(w, http.StatusBadRequest, "Invalid base62 id")
			return
		}
	}
	for _, u := range uris {
		k := saveKey{g.user, u}
		if s.saves[k] > 0 {
			s.duplicates++
		}
		s.saves[k]++
		s.saveOrder = append(s.saveOrder, Save{User: g.user, URI: u, At: s.now()})
	}
	s.libraryCalls = append(s.libraryCalls, len(uris))
	w.WriteHeader(http.StatusOK)
}

func isBase62ID(id string) bool {
	if len(id) != 22 {
		return false
	}
	for _, r := range id {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

// ---- catalog ----

func imagesJSON(imgs []Image) []map[string]any {
	out := make([]map[string]any, 0, len(imgs))
	for _, im := range imgs {
		out = append(out, map[string]any{"url": im.URL, "width": im.Width, "height": im.Height})
	}
	return out
}

func artistsJSON(name string) []map[string]any {
	if name == "" {
		return []map[string]any{}
	}
	return []map[string]any{{"name": name, "type": "artist"}}
}

// simpleAlbumJSON is the SimplifiedAlbumObject (search results, track.album).
func simpleAlbumJSON(a *Album) map[string]any {
	return map[string]any{
		"id":            a.ID,
		"type":          "album",
		"album_type":    "album",
		"uri":           "spotify:album:" + a.ID,
		"href":          "https://api.spotify.com/v1/albums/" + a.ID,
		"name":          a.Name,
		"artists":       artistsJSON(a.Artist),
		"images":        imagesJSON(a.Images),
		"external_urls": map[string]string{"spotify": spotifyURL(a.URL, "album", a.ID)},
		"total_tracks":  len(a.TrackIDs),
	}
}

func (s *Server) trackJSONLocked(t *Track) map[string]any {
	alb := map[string]any{"images": imagesJSON(t.Images), "name": "", "type": "album"}
	if a := s.albums[t.AlbumID]; a != nil {
		alb = simpleAlbumJSON(a)
	}
	out := map[string]any{
		"id":            t.ID,
		"type":          "track",
		"uri":           "spotify:track:" + t.ID,
		"href":          "https://api.spotify.com/v1/tracks/" + t.ID,
		"name":          t.Name,
		"artists":       artistsJSON(t.Artist),
		"album":         alb,
		"external_urls": map[string]string{"spotify": spotifyURL(t.URL, "track", t.ID)},
		"external_ids":  map[string]string{},
	}
	if t.ISRC != "" {
		out["external_ids"] = map[string]string{"isrc": t.ISRC}
	}
	return out
}

func (s *Server) albumJSONLocked(a *Album) map[string]any {
	out := simpleAlbumJSON(a)
	items := []map[string]any{}
	for _, id := range a.TrackIDs {
		if t := s.tracks[id]; t != nil {
			items = append(items, map[string]any{"id": t.ID, "name": t.Name, "uri": "spotify:track:" + t.ID, "type": "track"})
		}
	}
	out["tracks"] = map[string]any{"items": items, "total": len(items)}
	out["external_ids"] = map[string]string{}
	if a.UPC != "" {
		out["external_ids"] = map[string]string{"upc": a.UPC}
	}
	return out
}

// catalogID validates GET /v1/{kind}/{id} and writes 400/404 itself.
func (s *Server) catalogGet(w http.ResponseWriter, r *http.Request, prefix string) (string, bool) {
	if r.Method != http.MethodGet {
		apiErr(w, http.StatusMethodNotAllowed, "Method not allowed")
		return "", false
	}
	if _, ok := s.authenticateLocked(w, r); !ok {
		return "", false
	}
	id := strings.TrimPrefix(r.URL.Path, prefix)
	if !isBase62ID(id) {
		apiErr(w, http.StatusBadRequest, "Invalid base62 id")
		return "", false
	}
	return id, true
}

func (s *Server) handleTrack(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.catalogGet(w, r, "/v1/tracks/")
	if !ok {
		return
	}
	t := s.tracks[id]
	if t == nil || !s.visibleLocked(t.VisibleFrom) {
		apiErr(w, http.StatusNotFound, "Resource not found")
		return
	}
	writeJSON(w, http.StatusOK, s.trackJSONLocked(t))
}

func (s *Server) handleAlbum(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.catalogGet(w, r, "/v1/albums/")
	if !ok {
		return
	}
	a := s.albums[id]
	if a == nil || !s.visibleLocked(a.VisibleFrom) {
		apiErr(w, http.StatusNotFound, "Resource not found")
		return
	}
	writeJSON(w, http.StatusOK, s.albumJSONLocked(a))
}

// handleSearch understands the isrc: (tracks) and upc: (albums) filters and
// otherwise matches names case-insensitively.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		apiErr(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.authenticateLocked(w, r); !ok {
		return
	}
	q := r.URL.Query()
	query := strings.TrimSpace(q.Get("q"))
	if query == "" {
		apiErr(w, http.StatusBadRequest, "No search query")
		return
	}
	types := strings.Split(q.Get("type"), ",")
	if q.Get("type") == "" {
		apiErr(w, http.StatusBadRequest, "Missing parameter type")
		return
	}
	limit := 5
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		// The maximum has been 10 since February 2026.
		if err != nil || n < 0 || n > 10 {
			apiErr(w, http.StatusBadRequest, "Invalid limit")
			return
		}
		limit = n
	}
	field, value, hasField := strings.Cut(query, ":")
	field = strings.ToLower(field)
	out := map[string]any{}
	for _, typ := range types {
		var items []map[string]any
		switch typ {
		case "track":
			for _, t := range sortedValues(s.tracks) {
				if s.visibleLocked(t.VisibleFrom) && matches(hasField, field, value, query, "isrc", t.ISRC, t.Name) {
					items = append(items, s.trackJSONLocked(t))
				}
			}
		case "album":
			for _, a := range sortedValues(s.albums) {
				if s.visibleLocked(a.VisibleFrom) && matches(hasField, field, value, query, "upc", a.UPC, a.Name) {
					items = append(items, simpleAlbumJSON(a))
				}
			}
		case "artist", "playlist", "show", "episode", "audiobook":
		default:
			apiErr(w, http.StatusBadRequest, "Bad search type field "+typ)
			return
		}
		total := len(items)
		if len(items) > limit {
			items = items[:limit]
		}
		if items == nil {
			items = []map[string]any{}
		}
		out[typ+"s"] = map[string]any{
			"href": "https://api.spotify.com/v1/search", "items": items, "limit": limit,
			"next": nil, "offset": 0, "previous": nil, "total": total,
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// matches applies a field filter (isrc:/upc:) or a name search. A filter of
// another type's field (isrc on albums) matches nothing, as on Spotify.
func matches(hasField bool, field, value, query, ownField, ownValue, name string) bool {
	if hasField && (field == "isrc" || field == "upc") {
		return field == ownField && ownValue != "" && strings.EqualFold(strings.TrimSpace(value), ownValue)
	}
	return strings.Contains(strings.ToLower(name), strings.ToLower(query))
}

func sortedValues[T any](m map[string]*T) []*T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]*T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}
