package links

import (
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/models"
)

func TestParseSource(t *testing.T) {
	tests := []struct {
		in, kind, value, errHas string
	}{
		{"", "", "", ""},
		{"https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy?si=abc", models.SourceSpotifyAlbum, "spotify:album:4aawyAB9vmqN3uQ7FjRGTy", ""},
		{"open.spotify.com/intl-de/track/11dFghVXANMlKmJXsNCbNl", models.SourceSpotifyTrack, "spotify:track:11dFghVXANMlKmJXsNCbNl", ""},
		{"spotify:track:11dFghVXANMlKmJXsNCbNl", models.SourceSpotifyTrack, "spotify:track:11dFghVXANMlKmJXsNCbNl", ""},
		{"spotify:artist:11dFghVXANMlKmJXsNCbNl", "", "", "tracks and albums"},
		{"https://open.spotify.com/track/short", "", "", "22 letters"},
		{"https://evil.example/spotify.com/track/11dFghVXANMlKmJXsNCbNl", "", "", "open.spotify.com"},
		{"036000291452", models.SourceUPC, "036000291452", ""},
		{"4006381333931", models.SourceUPC, "4006381333931", ""},
		{"036000291453", "", "", "check"},
		{"12345", "", "", "12 digits"},
		{"US-RC1-76-07839", models.SourceISRC, "USRC17607839", ""},
		{"usrc17607839", models.SourceISRC, "USRC17607839", ""},
		{"U1RC17607839", "", "", "ISRC"},
		{"hello world", "", "", "Paste a Spotify"},
	}
	for _, tt := range tests {
		kind, value, msg := ParseSource(tt.in)
		if kind != tt.kind || value != tt.value || (tt.errHas == "") != (msg == "") || !strings.Contains(msg, tt.errHas) {
			t.Errorf("ParseSource(%q) = %q, %q, %q; want %q, %q, error containing %q", tt.in, kind, value, msg, tt.kind, tt.value, tt.errHas)
		}
	}
}

func TestApply(t *testing.T) {
	good := Input{Title: "Halo", Artist: "Beyoncé", ReleaseDate: "2026-12-05", ReleaseTime: "00:00", TimeZone: "Europe/Berlin", State: "live"}
	var l models.Link
	if errs := Apply(&l, good); errs.Has() {
		t.Fatalf("good input: %v", errs)
	}
	if l.Slug != "beyonce-halo" || !l.ReleaseAt.Equal(time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC)) {
		t.Fatalf("got slug %q release %v", l.Slug, l.ReleaseAt)
	}
	if back := FromLink(&l); back.ReleaseDate != "2026-12-05" || back.ReleaseTime != "00:00" {
		t.Fatalf("FromLink round trip = %+v", back)
	}
	bad := []struct {
		mod   func(*Input)
		field string
	}{
		{func(i *Input) { i.Slug = "Bad Slug!" }, "slug"},
		{func(i *Input) { i.Slug = "admin" }, "slug"},
		{func(i *Input) { i.Slug = "-x-" }, "slug"},
		{func(i *Input) { i.Title = " " }, "title"},
		{func(i *Input) { i.Artist = strings.Repeat("a", 201) }, "artist"},
		{func(i *Input) { i.ReleaseDate = "05/12/2026" }, "release_date"},
		{func(i *Input) { i.ReleaseDate = "2026-02-30" }, "release_date"},
		{func(i *Input) { i.ReleaseTime = "25:00" }, "release_time"},
		{func(i *Input) { i.TimeZone = "Mars/Olympus" }, "time_zone"},
		{func(i *Input) { i.TimeZone = "CET2" }, "time_zone"},
		{func(i *Input) { i.TimeZone = "" }, "time_zone"},
		{func(i *Input) { i.ReleaseDate, i.ReleaseTime = "2026-03-29", "02:30" }, "release_time"}, // skipped by DST in Berlin
		{func(i *Input) { i.Source = "spotify:playlist:37i9dQZF1DXcBWIGoYBM5M" }, "source"},
		{func(i *Input) { i.State = "published" }, "state"},
	}
	for _, b := range bad {
		in := good
		b.mod(&in)
		before := models.Link{Title: "unchanged"}
		l := before
		errs := Apply(&l, in)
		if errs.Get(b.field) == "" {
			t.Errorf("input %+v: no error on %s (got %v)", in, b.field, errs)
		}
		if l != before {
			t.Errorf("input %+v: link changed despite errors", in)
		}
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{"Beyoncé – Halo": "beyonce-halo", "  A  B  ": "a-b", "Sigur Rós ( ) ": "sigur-ros"} {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}
