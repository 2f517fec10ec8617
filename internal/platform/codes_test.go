package platform

import (
	"net/http"
	"testing"
	"time"
)

func TestCatalogCode(t *testing.T) {
	for _, tc := range []struct {
		kind, in, want string
		ok             bool
	}{
		{"isrc", "us-rc1-76-07839", "USRC17607839", true},
		{"isrc", " USRC17607839 ", "USRC17607839", true},
		{"isrc", "USRC1760783", "", false},
		{"isrc", "US/C17607839", "", false},
		{"upc", "123456789012", "123456789012", true},
		{"upc", "0 12345 67890 5", "012345678905", true},
		{"upc", "12345678901A", "", false},
		{"upc", "1234567", "", false},
		{"spotify_track", "spotify:track:x", "", false},
	} {
		got, ok := CatalogCode(Source{Kind: tc.kind, Value: tc.in})
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("CatalogCode(%s %q) = %q %v, want %q %v", tc.kind, tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":    5 * time.Second,
		"0":   5 * time.Second,
		"7":   7 * time.Second,
		"abc": 5 * time.Second,
		now.Add(30 * time.Second).Format(http.TimeFormat): 30 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     5 * time.Second,
	} {
		if got := RetryAfter(in, 5*time.Second, now); got != want {
			t.Errorf("RetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
