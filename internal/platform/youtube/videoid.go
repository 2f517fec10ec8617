package youtube

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// ErrNoVideo: the address names no single YouTube video (a playlist, a
// channel, another site, or not a URL).
var ErrNoVideo = errors.New("youtube: the address names no YouTube video")

var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{11}$`)

func validID(id string) bool { return idRE.MatchString(id) }

// youTubeHosts are the sites whose watch addresses name a video.
var youTubeHosts = map[string]bool{
	"youtube.com": true, "www.youtube.com": true, "m.youtube.com": true, "music.youtube.com": true,
	"youtu.be": true, "www.youtube-nocookie.com": true,
}

// VideoID reads the video id from a YouTube or YouTube Music address:
// /watch?v=ID (also on music.youtube.com), youtu.be/ID, /shorts/ID,
// /live/ID, /embed/ID and /v/ID. extraHosts are accepted like YouTube's own
// (a stand-in's host in tests and the demo). A playlist address
// (/playlist?list=…) names no single video: ErrNoVideo.
func VideoID(raw string, extraHosts ...string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", ErrNoVideo
	}
	host := strings.ToLower(u.Host)
	ok := youTubeHosts[host]
	for _, h := range extraHosts {
		ok = ok || (h != "" && strings.EqualFold(h, u.Host))
	}
	if !ok {
		return "", ErrNoVideo
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	var id string
	switch {
	case host == "youtu.be" && len(parts) == 1:
		id = parts[0]
	case len(parts) == 1 && parts[0] == "watch":
		id = u.Query().Get("v")
	case len(parts) == 2 && (parts[0] == "shorts" || parts[0] == "live" || parts[0] == "embed" || parts[0] == "v"):
		id = parts[1]
	}
	if !validID(id) {
		return "", ErrNoVideo
	}
	return id, nil
}
