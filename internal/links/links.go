// Package links validates pre-release link input, shared by the admin forms
// and the JSON API so both accept and refuse exactly the same things.
package links

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
)

// Input is a link as a person typed it: strings, before validation.
type Input struct {
	Slug        string
	Title       string
	Artist      string
	Subtitle    string
	ReleaseDate string // 2026-12-05
	ReleaseTime string // 00:00, in TimeZone
	TimeZone    string // IANA, like Europe/Berlin
	Source      string // Spotify URL/URI, UPC or ISRC; may be empty
	State       string
}

// FromLink turns a stored link back into Input, for edits and partial updates.
func FromLink(l *models.Link) Input {
	in := Input{Slug: l.Slug, Title: l.Title, Artist: l.Artist, Subtitle: l.Subtitle,
		TimeZone: l.TimeZone, Source: SourceDisplay(l.SourceKind, l.SourceValue), State: l.State}
	if loc, err := time.LoadLocation(l.TimeZone); err == nil && !l.ReleaseAt.IsZero() {
		local := l.ReleaseAt.In(loc)
		in.ReleaseDate, in.ReleaseTime = local.Format("2006-01-02"), local.Format("15:04")
	}
	return in
}

// Apply validates in and, when it is all valid, writes it into l and returns
// no errors. With errors, l is left untouched, so nothing half-valid is saved.
func Apply(l *models.Link, in Input) validate.Errors {
	var errs validate.Errors
	slug := strings.ToLower(strings.TrimSpace(in.Slug))
	if slug == "" {
		slug = Slugify(in.Artist + " " + in.Title)
	}
	if msg := CheckSlug(slug); msg != "" {
		errs.Add("slug", msg)
	}
	title := strings.TrimSpace(in.Title)
	artist := strings.TrimSpace(in.Artist)
	subtitle := strings.TrimSpace(in.Subtitle)
	checkText(&errs, "title", title, true)
	checkText(&errs, "artist", artist, true)
	checkText(&errs, "subtitle", subtitle, false)

	var releaseAt time.Time
	zone := strings.TrimSpace(in.TimeZone)
	loc, zoneErr := LoadZone(zone)
	if zoneErr != "" {
		errs.Add("time_zone", zoneErr)
	}
	date, dateErr := time.Parse("2006-01-02", strings.TrimSpace(in.ReleaseDate))
	if dateErr != nil {
		errs.Add("release_date", "Enter the release date as YYYY-MM-DD, like 2026-12-05.")
	} else if date.Year() < 2000 || date.Year() > 2100 {
		errs.Add("release_date", "Enter a release date between 2000 and 2100.")
	}
	hm := strings.TrimSpace(in.ReleaseTime)
	if hm == "" {
		hm = "00:00" // releases go live at midnight unless the artist says otherwise
	}
	clock, timeErr := time.Parse("15:04", hm)
	if timeErr != nil {
		errs.Add("release_time", "Enter the release time as HH:MM (24-hour), like 00:00.")
	}
	if dateErr == nil && timeErr == nil && zoneErr == "" {
		releaseAt = time.Date(date.Year(), date.Month(), date.Day(), clock.Hour(), clock.Minute(), 0, 0, loc)
		// time.Date silently moves a wall time that a DST jump skips; say so instead.
		if releaseAt.Hour() != clock.Hour() || releaseAt.Minute() != clock.Minute() {
			errs.Add("release_time", fmt.Sprintf("%s does not exist on %s in %s (the clocks change); pick another time.", hm, date.Format("2 Jan 2006"), zone))
		}
	}

	kind, value, srcErr := ParseSource(in.Source)
	if srcErr != "" {
		errs.Add("source", srcErr)
	}
	state := strings.TrimSpace(in.State)
	if state == "" {
		state = models.LinkDraft
	}
	if !validState(state) {
		errs.Add("state", "Choose draft, live, released or archived.")
	}
	if errs.Has() {
		return errs
	}
	l.Slug, l.Title, l.Artist, l.Subtitle = slug, title, artist, subtitle
	l.ReleaseAt, l.TimeZone = releaseAt.UTC(), zone
	l.SourceKind, l.SourceValue = kind, value
	l.State = state
	return nil
}

func validState(s string) bool {
	for _, st := range models.LinkStates {
		if s == st {
			return true
		}
	}
	return false
}

const maxText = 200

func checkText(errs *validate.Errors, field, v string, required bool) {
	switch {
	case required && v == "":
		errs.Add(field, "This is required.")
	case utf8.RuneCountInString(v) > maxText:
		errs.Add(field, fmt.Sprintf("Keep it under %d characters.", maxText))
	case strings.ContainsFunc(v, unicode.IsControl):
		errs.Add(field, "Remove the line breaks and control characters.")
	}
}

// LoadZone loads an IANA zone, with a message for a person when it is not one.
func LoadZone(zone string) (*time.Location, string) {
	if zone == "" {
		return nil, "Choose a time zone, like Europe/Berlin or America/New_York."
	}
	if zone == "Local" || !strings.Contains(zone, "/") && zone != "UTC" {
		return nil, fmt.Sprintf("%q is not a time zone name; use one like Europe/Berlin or America/New_York.", zone)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Sprintf("%q is not a time zone name; use one like Europe/Berlin or America/New_York.", zone)
	}
	return loc, ""
}

var (
	slugRE   = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	reserved = map[string]bool{
		"admin": true, "api": true, "static": true, "media": true, "setup": true, "login": true,
		"logout": true, "invite": true, "healthz": true, "readyz": true, "metrics": true, "oauth": true,
		"privacy": true, "unsubscribe": true, "revoke": true, "webhooks": true, "favicon-ico": true,
		"robots-txt": true, "go": true, "u": true, "r": true, "assets": true, "password": true,
	}
)

// CheckSlug returns why slug cannot be used, or "".
func CheckSlug(slug string) string {
	switch {
	case len(slug) < 3 || len(slug) > 60:
		return "Use 3 to 60 characters."
	case !slugRE.MatchString(slug):
		return "Use lowercase letters, digits and single hyphens (like new-single), not starting or ending with a hyphen."
	case reserved[slug]:
		return fmt.Sprintf("%q is reserved by dropday; choose another.", slug)
	}
	return ""
}

// Slugify makes a URL-safe slug from free text ("Beyoncé – Halo" → "beyonce-halo").
func Slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFKD.String(strings.ToLower(s)) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case unicode.Is(unicode.Mn, r): // accents fall away after NFKD
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if len(out) > 60 {
		out = strings.TrimRight(out[:60], "-")
	}
	return out
}
