package demo

import (
	"time"

	"github.com/dropday/dropday/internal/platform/apple/appletest"
	"github.com/dropday/dropday/internal/platform/deezer/deezertest"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/platform/tidal/tidaltest"
)

// The demo release as the platform stand-ins list it.
const (
	SpotifyTrackID = "4uLU6hMCjMI75M1A2tKUQC" // the demo link's source
	ISRC           = "QZDD92612345"
	// AppleDelay is how long after the release Apple Music lists it, so the
	// demo shows a platform found on a later check ("not found yet, found later").
	AppleDelay = 3 * time.Minute
)

// StandIns are the demo's platform stand-ins.
type StandIns struct {
	Spotify *spotifytest.Server
	Apple   *appletest.Server
	Deezer  *deezertest.Server
	Tidal   *tidaltest.Server
}

// ListRelease puts the demo release into every stand-in: visible at
// releaseAt on Spotify, Deezer and TIDAL, and AppleDelay later on Apple
// Music. Each listen link is the stand-in's own page, so a click stays on
// this machine.
func ListRelease(s StandIns, releaseAt time.Time) {
	const title, artist = "Night Drive", "Mara Lune"
	s.Spotify.AddTrack(spotifytest.Track{ID: SpotifyTrackID, Name: title, Artist: artist, ISRC: ISRC,
		VisibleFrom: releaseAt, URL: s.Spotify.ListenURL("track", SpotifyTrackID)})
	s.Deezer.AddTrack(deezertest.Track{ID: 3135556, Title: title, Artist: artist, ISRC: ISRC}, releaseAt)
	s.Tidal.AddTrack(tidaltest.Track{ID: "75413016", Title: title, Artist: artist, ISRC: ISRC}, releaseAt)
	s.Apple.AddSong(appletest.Song{ID: "1440857781", Name: title, Artist: artist, AlbumName: title + " - Single", ISRC: ISRC},
		releaseAt.Add(AppleDelay))
}
