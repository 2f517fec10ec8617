package validate

import (
	"net/url"
	"strings"

	"github.com/dropday/dropday/models"
)

// PlatformHosts are the hosts a platform's public "listen" URLs live on, by
// models.Platforms key. A suffix starting with "." matches any subdomain
// ("music.amazon." is matched as a prefix: Amazon has one host per country).
// A platform not listed takes no URL.
var PlatformHosts = map[string][]string{
	"spotify":       {"open.spotify.com"},
	"apple_music":   {"music.apple.com", "itunes.apple.com"},
	"deezer":        {"www.deezer.com", "deezer.com", "deezer.page.link", "link.deezer.com"},
	"tidal":         {"tidal.com", "listen.tidal.com", "www.tidal.com"},
	"youtube_music": {"music.youtube.com"},
	"youtube":       {"www.youtube.com", "youtube.com", "m.youtube.com", "youtu.be"},
	"amazon_music":  {"music.amazon."},
	"soundcloud":    {"soundcloud.com", "www.soundcloud.com", "m.soundcloud.com", "on.soundcloud.com"},
}

// PlatformURL checks an address an artist gives for a platform's button:
// an absolute http(s) URL on one of the platform's own hosts, at most 2,000
// characters, without user info. It returns the URL to store (trimmed;
// http upgraded to https, as every listed host serves it) or a message for
// the form. It only parses: dropday never fetches the address.
func PlatformURL(platform, raw string) (string, string) {
	hosts, ok := PlatformHosts[platform]
	if !ok {
		return "", "This platform takes no address."
	}
	s := strings.TrimSpace(raw)
	name := platformName(platform)
	copyIt := "Copy it from " + name + "'s Share button (https://" + hostName(hosts[0]) + "/…)."
	switch {
	case s == "":
		return "", ""
	case len(s) > 2000:
		return "", "That address is too long (2,000 characters at most)."
	case strings.ContainsAny(s, " \t\r\n<>\"'`\\"):
		return "", "That is not a web address: it has spaces or quotes. " + copyIt
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return "", "That is not a web address. " + copyIt
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", "Only https:// addresses work here. " + copyIt
	}
	host := strings.ToLower(u.Hostname())
	if u.User != nil || u.Port() != "" || !hostAllowed(host, hosts) {
		return "", "That is not a " + name + " address: it must be on " + hostList(hosts) + ". " + copyIt
	}
	u.Scheme = "https"
	u.Host = host
	return u.String(), ""
}

func hostAllowed(host string, hosts []string) bool {
	for _, h := range hosts {
		if strings.HasSuffix(h, ".") {
			// music.amazon.com, music.amazon.co.uk, music.amazon.de: a country
			// domain of one or two labels after the prefix, nothing more.
			rest, ok := strings.CutPrefix(host, h)
			if !ok || rest == "" {
				continue
			}
			labels := strings.Split(rest, ".")
			if len(labels) <= 2 && allLetters(labels) {
				return true
			}
			continue
		}
		if host == h {
			return true
		}
	}
	return false
}

func allLetters(labels []string) bool {
	for _, l := range labels {
		if l == "" || len(l) > 3 {
			return false
		}
		for _, r := range l {
			if r < 'a' || r > 'z' {
				return false
			}
		}
	}
	return true
}

// hostName shows a host pattern as an address ("music.amazon." as music.amazon.com).
func hostName(h string) string {
	if strings.HasSuffix(h, ".") {
		return h + "com"
	}
	return h
}

// hostList names a platform's hosts for a message ("soundcloud.com or on.soundcloud.com").
func hostList(hosts []string) string {
	var names []string
	for _, h := range hosts {
		if strings.HasPrefix(h, "www.") || strings.HasPrefix(h, "m.") {
			continue // the bare domain says it
		}
		if strings.HasSuffix(h, ".") {
			h += "…"
		}
		names = append(names, h)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func platformName(key string) string {
	if p, ok := models.PlatformByKey(key); ok {
		return p.Name
	}
	return key
}
