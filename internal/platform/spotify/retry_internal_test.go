package spotify

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", time.Second},
		{"7", 7 * time.Second},
		{" 30 ", 30 * time.Second},
		{"0", time.Second},
		{"-3", time.Second},
		{"soon", time.Second},
		{time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat), 90 * time.Second},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), time.Second},
	}
	for _, tt := range tests {
		got := retryAfter(tt.in)
		// An HTTP date has one-second resolution.
		if d := got - tt.want; d < -time.Second || d > time.Second {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestLargestImage(t *testing.T) {
	if got := largest(nil); got != "" {
		t.Errorf("no images: %q", got)
	}
	imgs := []image{{URL: "s", Width: 64, Height: 64}, {URL: "l", Width: 640, Height: 640}, {URL: "m", Width: 300, Height: 300}}
	if got := largest(imgs); got != "l" {
		t.Errorf("largest = %q", got)
	}
	// Spotify sometimes sends null sizes; then the first (widest by convention) wins.
	if got := largest([]image{{URL: "a"}, {URL: "b"}}); got != "a" {
		t.Errorf("no sizes: %q", got)
	}
}
