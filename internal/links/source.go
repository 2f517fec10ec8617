package links

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/dropday/dropday/models"
)

var (
	spotifyIDRE = regexp.MustCompile(`^[0-9A-Za-z]{22}$`)
	isrcRE      = regexp.MustCompile(`^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$`)
	intlRE      = regexp.MustCompile(`^intl-[a-z]{2}(-[a-z]{2})?$`)
)

const sourceHelp = "Paste a Spotify track or album link (open.spotify.com/…), a Spotify URI (spotify:album:…), a UPC/EAN (12 or 13 digits) or an ISRC (like USRC17607839)."

// ParseSource recognises the pre-save source and returns its kind and
// canonical value (spotify:album:ID, the UPC digits, the ISRC without hyphens).
// Empty input is allowed: a link can collect signups before the source is known.
func ParseSource(raw string) (kind, value, msg string) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return models.SourceNone, "", ""
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "spotify:"):
		parts := strings.Split(s, ":")
		if len(parts) != 3 {
			return "", "", "That Spotify URI is not spotify:track:ID or spotify:album:ID."
		}
		return spotify(parts[1], parts[2])
	case strings.Contains(lower, "spotify.com") || strings.Contains(lower, "spotify.link"):
		if !strings.Contains(s, "://") {
			s = "https://" + s
		}
		u, err := url.Parse(s)
		if err != nil || strings.ToLower(u.Hostname()) != "open.spotify.com" {
			if err == nil && strings.HasSuffix(strings.ToLower(u.Hostname()), "spotify.link") {
				return "", "", "Short spotify.link URLs can't be checked; open it and paste the open.spotify.com link instead."
			}
			return "", "", "Use a link from open.spotify.com (Share → Copy link)."
		}
		segs := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(segs) > 0 && intlRE.MatchString(segs[0]) {
			segs = segs[1:]
		}
		if len(segs) != 2 {
			return "", "", "That Spotify link is not a track or album link."
		}
		return spotify(segs[0], segs[1])
	}
	compact := strings.ToUpper(strings.NewReplacer("-", "", " ", "", ".", "").Replace(s))
	if isDigits(compact) {
		if len(compact) != 12 && len(compact) != 13 {
			return "", "", "A UPC has 12 digits and an EAN 13; this has " + itoa(len(compact)) + "."
		}
		if !gtinCheckDigitOK(compact) {
			return "", "", "This UPC/EAN's last (check) digit does not match; check for a typo."
		}
		return models.SourceUPC, compact, ""
	}
	if isrcRE.MatchString(compact) {
		return models.SourceISRC, compact, ""
	}
	if len(compact) == 12 && compact[0] >= 'A' && compact[0] <= 'Z' {
		return "", "", "An ISRC is 2 letters, 3 letters or digits, then 7 digits (like USRC17607839)."
	}
	return "", "", sourceHelp
}

func spotify(typ, id string) (string, string, string) {
	var kind string
	switch typ {
	case "track":
		kind = models.SourceSpotifyTrack
	case "album":
		kind = models.SourceSpotifyAlbum
	default:
		return "", "", "dropday pre-saves Spotify tracks and albums; this is a " + typ + " link."
	}
	if !spotifyIDRE.MatchString(id) {
		return "", "", "That Spotify " + typ + " ID is not 22 letters and digits; copy the link again."
	}
	return kind, "spotify:" + typ + ":" + id, ""
}

// SourceDisplay shows a stored source the way an artist would paste it.
func SourceDisplay(kind, value string) string {
	switch kind {
	case models.SourceSpotifyTrack, models.SourceSpotifyAlbum:
		parts := strings.Split(value, ":")
		if len(parts) == 3 {
			return "https://open.spotify.com/" + parts[1] + "/" + parts[2]
		}
	}
	return value
}

// SourceLabel names a source kind for people.
func SourceLabel(kind string) string {
	switch kind {
	case models.SourceSpotifyTrack:
		return "Spotify track"
	case models.SourceSpotifyAlbum:
		return "Spotify album"
	case models.SourceUPC:
		return "UPC/EAN"
	case models.SourceISRC:
		return "ISRC"
	}
	return "not set"
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// gtinCheckDigitOK validates the GS1 check digit shared by UPC-A and EAN-13.
func gtinCheckDigitOK(s string) bool {
	sum := 0
	n := len(s)
	for i := 0; i < n-1; i++ {
		d := int(s[i] - '0')
		// Weights alternate 3,1,… counting from the digit left of the check digit.
		if (n-1-i)%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return (10-sum%10)%10 == int(s[n-1]-'0')
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}
