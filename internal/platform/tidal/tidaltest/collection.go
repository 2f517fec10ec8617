package tidaltest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/dropday/dropday/internal/platform/standin"
)

// IdempotencyWindow is how long an Idempotency-Key's answer is replayed.
const IdempotencyWindow = time.Hour

// MaxCollectionItems is how many items one collection add takes.
const MaxCollectionItems = 50

type collections struct {
	items      map[string][]Added // user id → what was added, in order
	adds       int
	duplicates int
	replays    int
	mismatches int
	idem       map[string]*idemEntry // user id + "\x00" + key
	lose       int
}

// Added is one item in a fan's collection.
type Added struct {
	Item string // "albums:ID" or "tracks:ID"
	At   time.Time
}

type idemEntry struct {
	sum    [32]byte
	status int
	body   []byte
	at     time.Time
}

func (c *collections) init() {
	c.items = map[string][]Added{}
	c.idem = map[string]*idemEntry{}
}

// Collection is what user's collection holds, in the order added.
func (s *Server) Collection(user string) []Added {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.coll.items[user])
}

// Adds is how many collection adds succeeded (replays not counted).
func (s *Server) Adds() int { s.mu.Lock(); defer s.mu.Unlock(); return s.coll.adds }

// Duplicates is how many adds got 409 DUPLICATE_ITEMS_IN_COLLECTION.
func (s *Server) Duplicates() int { s.mu.Lock(); defer s.mu.Unlock(); return s.coll.duplicates }

// Replays is how many requests were answered from an Idempotency-Key's stored answer.
func (s *Server) Replays() int { s.mu.Lock(); defer s.mu.Unlock(); return s.coll.replays }

// KeyMismatches is how many requests reused an Idempotency-Key with another body (422).
func (s *Server) KeyMismatches() int { s.mu.Lock(); defer s.mu.Unlock(); return s.coll.mismatches }

// LoseAnswers makes the next n collection adds happen but their answer get
// lost on the way back (503, as a gateway that timed out): the client cannot
// tell it saved, as after a crash between the save and recording it.
func (s *Server) LoseAnswers(n int) { s.mu.Lock(); s.coll.lose += n; s.mu.Unlock() }

// collectionPath returns "albums" or "tracks" for a collection items path
// (/v2/userCollection{Albums,Tracks}/{me|id}/relationships/items), else "".
func collectionPath(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) != 5 || parts[0] != "v2" || parts[3] != "relationships" || parts[4] != "items" {
		return ""
	}
	switch parts[1] {
	case "userCollectionAlbums":
		return "albums"
	case "userCollectionTracks":
		return "tracks"
	}
	return ""
}

// serveMe answers GET /v2/users/me for a fan's token with user.read.
func (s *Server) serveMe(w http.ResponseWriter, a *access) {
	s.mu.Lock()
	var u *User
	if a.grant != nil && a.grant.has("user.read") {
		u = s.oauth.users[a.grant.user]
	}
	s.mu.Unlock()
	if a.grant == nil {
		writeErrors(w, http.StatusForbidden, "FORBIDDEN", "A user access token is required")
		return
	}
	if u == nil {
		writeErrors(w, http.StatusForbidden, "INSUFFICIENT_SCOPE", "The user.read scope is required")
		return
	}
	writeJSON(w, http.StatusOK, "application/vnd.api+json", map[string]any{"data": map[string]any{
		"id": u.ID, "type": "users", "attributes": map[string]any{"username": u.Username, "email": u.Email, "country": u.Country},
	}, "links": map[string]any{"self": "/v2/users/me"}})
}

// serveCollection adds items to the fan's collection: JSON:API body,
// Idempotency-Key replay, 409 for items already there.
func (s *Server) serveCollection(w http.ResponseWriter, r *http.Request, a *access) {
	typ := collectionPath(r.URL.Path)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeErrors(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "Only POST is served by this stand-in")
		return
	}
	if a.grant == nil {
		writeErrors(w, http.StatusForbidden, "FORBIDDEN", "A user access token is required")
		return
	}
	s.mu.Lock()
	user, scoped := a.grant.user, a.grant.has("collection.write")
	s.mu.Unlock()
	if owner := strings.Split(strings.Trim(r.URL.Path, "/"), "/")[2]; owner != "me" && owner != user {
		writeErrors(w, http.StatusForbidden, "FORBIDDEN", "Not your collection")
		return
	}
	if !scoped {
		writeErrors(w, http.StatusForbidden, "INSUFFICIENT_SCOPE", "The collection.write scope is required")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/vnd.api+json") {
		writeErrors(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/vnd.api+json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<10))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "INVALID_REQUEST_BODY", "Unreadable body")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 128 {
		writeErrors(w, http.StatusBadRequest, "INVALID_IDEMPOTENCY_KEY", "Idempotency-Key is longer than 128 characters")
		return
	}
	sum := sha256.Sum256(append([]byte(r.URL.Path+"\n"), body...))
	now := s.Now()
	if key != "" {
		s.mu.Lock()
		e := s.coll.idem[user+"\x00"+key]
		if e != nil && now.Sub(e.at) >= IdempotencyWindow {
			delete(s.coll.idem, user+"\x00"+key)
			e = nil
		}
		switch {
		case e != nil && e.sum != sum:
			s.coll.mismatches++
			s.mu.Unlock()
			writeErrors(w, http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED", "The Idempotency-Key was used with a different payload")
			return
		case e != nil:
			s.coll.replays++
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/vnd.api+json")
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(e.status)
			_, _ = w.Write(e.body)
			return
		}
		s.mu.Unlock()
	}
	// The answer is recorded, so a replay gives the very same one.
	rec := httptest.NewRecorder()
	s.addItems(rec, typ, user, body, now)
	s.mu.Lock()
	if key != "" && rec.Code < 500 && rec.Code != http.StatusTooManyRequests {
		s.coll.idem[user+"\x00"+key] = &idemEntry{sum: sum, status: rec.Code, body: bytes.Clone(rec.Body.Bytes()), at: now}
	}
	lose := rec.Code/100 == 2 && s.coll.lose > 0
	if lose {
		s.coll.lose--
	}
	s.mu.Unlock()
	if lose {
		writeErrors(w, http.StatusServiceUnavailable, "", "upstream request timeout")
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// addItems validates the JSON:API document and adds its items, all or none.
func (s *Server) addItems(w http.ResponseWriter, typ, user string, body []byte, now time.Time) {
	var doc struct {
		Data []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		writeErrors(w, http.StatusBadRequest, "INVALID_REQUEST_BODY", "The body is not a JSON:API document")
		return
	}
	if len(doc.Data) == 0 || len(doc.Data) > MaxCollectionItems {
		writeErrors(w, http.StatusBadRequest, "INVALID_REQUEST_BODY", "data must hold 1 to 50 resource identifiers")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for _, d := range doc.Data {
		if d.Type != typ || d.ID == "" {
			writeErrors(w, http.StatusBadRequest, "INVALID_REQUEST_BODY", "Every item must be {\"id\",\"type\":\""+typ+"\"}")
			return
		}
		if !s.existsLocked(typ, d.ID, now) {
			writeErrors(w, http.StatusNotFound, "NOT_FOUND", typ+" "+d.ID+" not found")
			return
		}
		keys = append(keys, typ+":"+d.ID)
	}
	for _, k := range keys {
		if slices.ContainsFunc(s.coll.items[user], func(a Added) bool { return a.Item == k }) {
			s.coll.duplicates++
			writeErrors(w, http.StatusConflict, "DUPLICATE_ITEMS_IN_COLLECTION", "Items are already in the collection")
			return
		}
	}
	for _, k := range keys {
		s.coll.items[user] = append(s.coll.items[user], Added{Item: k, At: now})
	}
	s.coll.adds++
	w.Header().Set("Content-Type", "application/vnd.api+json")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) existsLocked(typ, id string, now time.Time) bool {
	if typ == "albums" {
		return s.albumLocked(id, now) != nil
	}
	for _, e := range s.tracks {
		if e.item.ID == id && standin.Visible(e.visible, now) {
			return true
		}
	}
	return false
}

// AddToCollection puts item ("albums:ID" or "tracks:ID") into user's
// collection, as if the fan had added it in TIDAL's app.
func (s *Server) AddToCollection(user, item string) {
	s.mu.Lock()
	s.coll.items[user] = append(s.coll.items[user], Added{Item: item, At: s.Now()})
	s.mu.Unlock()
}
