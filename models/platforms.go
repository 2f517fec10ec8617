package models

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
	{Key: "youtube_music", Name: "YouTube Music", Direct: true, Icon: "youtubemusic.svg"},
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
