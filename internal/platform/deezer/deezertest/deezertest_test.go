package deezertest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func get(t *testing.T, s *Server, path string) (int, map[string]any) {
	t.Helper()
	res, err := http.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// Misses and the quota come back inside HTTP 200, as Deezer does; look-ups
// by id work too.
func TestWireProtocol(t *testing.T) {
	s := New(Options{Now: func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }})
	defer s.Close()
	st, body := get(t, s, "/track/isrc:USRC17607839")
	e, _ := body["error"].(map[string]any)
	if st != 200 || e["code"] != float64(CodeNotFound) || e["type"] != "DataException" {
		t.Fatalf("miss: %d %v", st, body)
	}
	s.AddAlbum(Album{ID: 7, Title: "Afterglow", Artist: "Mara Lune", UPC: "123456789012"}, time.Time{})
	s.AddTrack(Track{ID: 8, Title: "Night Drive", Artist: "Mara Lune", ISRC: "USRC17607839", AlbumID: 7}, time.Time{})
	if st, body := get(t, s, "/album/7"); st != 200 || body["upc"] != "123456789012" || body["type"] != "album" {
		t.Fatalf("album by id: %d %v", st, body)
	}
	if st, body := get(t, s, "/track/8"); st != 200 || body["album"].(map[string]any)["title"] != "Afterglow" {
		t.Fatalf("track by id: %d %v", st, body)
	}
	s.SetRateLimit(1, 5*time.Second)
	get(t, s, "/track/8")
	st, body = get(t, s, "/track/8")
	e, _ = body["error"].(map[string]any)
	if st != 200 || e["code"] != float64(CodeQuota) || e["message"] != "Quota limit exceeded" || s.QuotaErrors() != 1 {
		t.Fatalf("quota: %d %v", st, body)
	}
}
