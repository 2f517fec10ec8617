package config

import (
	"net/url"
	"strconv"
	"strings"
)

// YouTube is the operator's Google OAuth client for YouTube Music direct
// pre-save. Without a client id YouTube Music stays in email-signup mode.
type YouTube struct {
	ClientID     string
	ClientSecret string
	AuthURL      string
	TokenURL     string
	APIURL       string
	// Rate paces videos.rate calls (per second, shared by all workers).
	Rate float64
}

// Enabled tells whether direct pre-save on YouTube Music is configured.
func (y YouTube) Enabled() bool { return y.ClientID != "" }

// loadYouTube reads the DROPDAY_GOOGLE_* and DROPDAY_YOUTUBE_* settings.
func loadYouTube(c *Config, getenv func(string) string, def func(string) string, bad func(name, format string, a ...any)) {
	c.YouTube = YouTube{
		ClientID:     strings.TrimSpace(getenv("DROPDAY_GOOGLE_CLIENT_ID")),
		ClientSecret: strings.TrimSpace(getenv("DROPDAY_GOOGLE_CLIENT_SECRET")),
		AuthURL:      strings.TrimRight(def("DROPDAY_GOOGLE_AUTH_URL"), "/"),
		TokenURL:     strings.TrimRight(def("DROPDAY_GOOGLE_TOKEN_URL"), "/"),
		APIURL:       strings.TrimRight(def("DROPDAY_YOUTUBE_API_URL"), "/"),
	}
	if c.YouTube.ClientID != "" && c.YouTube.ClientSecret == "" {
		bad("DROPDAY_GOOGLE_CLIENT_SECRET", "is required when DROPDAY_GOOGLE_CLIENT_ID is set")
	}
	if c.YouTube.ClientID == "" && c.YouTube.ClientSecret != "" {
		bad("DROPDAY_GOOGLE_CLIENT_ID", "is required when DROPDAY_GOOGLE_CLIENT_SECRET is set")
	}
	for _, name := range []string{"DROPDAY_GOOGLE_AUTH_URL", "DROPDAY_GOOGLE_TOKEN_URL", "DROPDAY_YOUTUBE_API_URL"} {
		v := strings.TrimRight(def(name), "/")
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name, "%q is not an http(s) URL", v)
		}
	}
	if r, err := strconv.ParseFloat(def("DROPDAY_YOUTUBE_RATE"), 64); err != nil || r <= 0 {
		bad("DROPDAY_YOUTUBE_RATE", "%q must be a number of calls per second above 0", def("DROPDAY_YOUTUBE_RATE"))
	} else {
		c.YouTube.Rate = r
	}
}
