package models

import (
	"time"

	"github.com/uptrace/bun"
)

// Platform is a streaming service a fan can pick on the landing page.
type Platform struct {
	Key  string // stored in rows and used in URLs
	Name string // shown to people
	// Direct says the platform can save into a fan's library once its
	// client exists and the operator configured it; until then it is email signup.
	Direct bool
	// Icon is the file name under static/img/platforms.
	Icon string
	// AppsURL is where a fan removes dropday from their account's connected apps.
	AppsURL string
}

// Platforms in the order the landing page lists them.
var Platforms = []Platform{
	{Key: "spotify", Name: "Spotify", Direct: true, Icon: "spotify.svg", AppsURL: "https://www.spotify.com/account/apps/"},
	{Key: "apple_music", Name: "Apple Music", Direct: true, Icon: "applemusic.svg"},
	{Key: "deezer", Name: "Deezer", Direct: true, Icon: "deezer.svg"},
	{Key: "tidal", Name: "TIDAL", Direct: true, Icon: "tidal.svg"},
	{Key: "youtube_music", Name: "YouTube Music", Direct: true, Icon: "youtubemusic.svg", AppsURL: "https://myaccount.google.com/connections"},
	{Key: "amazon_music", Name: "Amazon Music", Icon: "amazonmusic.svg"},
	{Key: "soundcloud", Name: "SoundCloud", Icon: "soundcloud.svg"},
	{Key: "youtube", Name: "YouTube", Icon: "youtube.svg"},
	{Key: "other", Name: "Other", Icon: "other.svg"},
}

// PlatformByKey finds a platform; ok is false for an unknown key.
func PlatformByKey(key string) (Platform, bool) {
	for _, p := range Platforms {
		if p.Key == key {
			return p, true
		}
	}
	return Platform{}, false
}

// LinkPlatform is where a link's release is on one platform.
type LinkPlatform struct {
	bun.BaseModel `bun:"table:link_platforms"`

	LinkID   int64  `bun:"link_id,pk"`
	Platform string `bun:"platform,pk"`
	// FoundURL is what the catalog look-up found ("" until found).
	FoundURL string `bun:"found_url,notnull"`
	// Items are what a save takes on this platform (Spotify: URIs).
	Items   []string   `bun:"items,type:text,notnull"`
	FoundAt *time.Time `bun:"found_at"`
	// ManualURL is what the artist pasted; it wins over FoundURL.
	ManualURL string     `bun:"manual_url,notnull"`
	Checks    int        `bun:"checks,notnull"`
	CheckedAt *time.Time `bun:"checked_at"`
	LastError string     `bun:"last_error,notnull"`
}

// ListenURL is where the smart link's button for this platform goes ("" = nowhere yet).
func (lp *LinkPlatform) ListenURL() string {
	if lp.ManualURL != "" {
		return lp.ManualURL
	}
	return lp.FoundURL
}
