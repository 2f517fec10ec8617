package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/platform/apple/appletest"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	rel "github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/resolve"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

const (
	slTrack = "4uLU6hMCjMI75M1A2tKUQC"
	slAlbum = "1DFixLWuPkv3KT3TnV35m3"
	slISRC  = "USRC17607839"
)

// slTick is one scheduler tick on the elected instance and every job it makes due.
func slTick(t *testing.T, app *testapp.App) {
	t.Helper()
	ctx := context.Background()
	if err := app.Release.Scheduler.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if err := app.Release.Resolver.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	slRun(t, app, resolve.KindCheck, resolve.KindAlert)
}

// slRun works every due job of kinds on the test's clock.
func slRun(t *testing.T, app *testapp.App, kinds ...string) {
	t.Helper()
	ctx := context.Background()
	q := app.Release.Queue
	for {
		js, err := q.Claim(ctx, kinds, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(js) == 0 {
			return
		}
		for _, j := range js {
			if err := app.Release.Runner.Handlers[j.Kind](ctx, j); err != nil {
				t.Fatalf("job %d (%s): %v", j.ID, j.Kind, err)
			}
			if err := q.Complete(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
	}
}

var listenRE = regexp.MustCompile(`<a class="platform-btn listen-btn" href="([^"]+)" data-remember="([a-z_]+)"`)

// listenButtons reads the smart link's buttons, in page order: platform → href.
func listenButtons(t *testing.T, app *testapp.App, slug string) ([]string, map[string]string) {
	t.Helper()
	res, body := app.NewClient().Get("/" + slug)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /%s: %d", slug, res.StatusCode)
	}
	var order []string
	hrefs := map[string]string{}
	for _, m := range listenRE.FindAllStringSubmatch(body, -1) {
		order = append(order, m[2])
		hrefs[m[2]] = m[1]
	}
	return order, hrefs
}

// The smart link at /{slug}: released at T, the release is on Spotify at T
// and on Apple Music only from T+2h. Each platform appears as soon as a
// check finds it, without a restart; TIDAL never has it, so after the
// window the owners get exactly one email and the admin pages say so.
func TestSmartLinkShowsPlatformsAsTheyAreFound(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(fmt.Sprint("pg=", pg), func(t *testing.T) {
			app := testapp.New(t, testapp.Options{Spotify: true, Apple: true, Tidal: true, Postgres: pg,
				Env: map[string]string{"DROPDAY_RESOLVE_WINDOW": "5h"}})
			app.Spotify.SetClock(app.Clock.Now)
			o := app.CreateOwner("artist@example.com", "Label")
			T := app.Clock.Now().Add(time.Hour)
			l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, T)
			l.SourceKind, l.SourceValue = models.SourceSpotifyTrack, "spotify:track:"+slTrack
			if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
				t.Fatal(err)
			}
			app.Spotify.AddTrack(spotifytest.Track{ID: slTrack, Name: "Night Drive", Artist: "Mara Lune", ISRC: slISRC, VisibleFrom: T})
			app.Apple.AddSong(appletest.Song{ID: "1577502912", Name: "Night Drive", Artist: "Mara Lune", ISRC: slISRC}, T.Add(2*time.Hour))

			// Before the release: the countdown page, no buttons.
			slTick(t, app)
			_, body := app.NewClient().Get("/night-drive")
			if !strings.Contains(body, `data-testid="countdown"`) || strings.Contains(body, `data-testid="listen"`) {
				t.Fatal("before the release the page is not the countdown")
			}
			app.Clock.Set(T)
			slTick(t, app)
			order, hrefs := listenButtons(t, app, "night-drive")
			if len(order) != 1 || hrefs["spotify"] != "/night-drive/go/spotify" {
				t.Fatalf("at T: buttons %v %v, want Spotify only", order, hrefs)
			}
			// The page is cacheable, and a revalidation notices a newly found platform.
			res, _ := app.NewClient().Get("/night-drive")
			etag := res.Header.Get("ETag")
			if res, _ := app.NewClient().Do(http.MethodGet, "/night-drive", nil, http.Header{"If-None-Match": {etag}}); etag == "" || res.StatusCode != http.StatusNotModified {
				t.Fatalf("ETag %q: revalidation answered %d", etag, res.StatusCode)
			}
			app.Clock.Set(T.Add(time.Hour))
			slTick(t, app)
			if order, _ := listenButtons(t, app, "night-drive"); len(order) != 1 {
				t.Fatalf("at T+1h: buttons %v, want Spotify only", order)
			}
			if lp, err := store.LinkPlatform(context.Background(), app.DB, l.ID, "apple_music"); err != nil || lp.Checks != 2 || lp.FoundAt != nil {
				t.Fatalf("Apple Music at T+1h: %+v %v", lp, err)
			}
			app.Clock.Set(T.Add(2 * time.Hour))
			slTick(t, app)
			order, hrefs = listenButtons(t, app, "night-drive")
			if strings.Join(order, ",") != "spotify,apple_music" || hrefs["apple_music"] != "/night-drive/go/apple_music" {
				t.Fatalf("at T+2h: buttons %v %v, want Spotify then Apple Music", order, hrefs)
			}
			if res, _ := app.NewClient().Do(http.MethodGet, "/night-drive", nil, http.Header{"If-None-Match": {etag}}); res.StatusCode != http.StatusOK {
				t.Fatalf("after Apple Music was found the old ETag still matches (%d)", res.StatusCode)
			}
			if u, err := store.ListenURL(context.Background(), app.DB, l.ID, "apple_music"); err != nil || !strings.HasPrefix(u, app.Apple.URL) {
				t.Fatalf("Apple Music's listen URL %q %v, want the stand-in's", u, err)
			}

			// TIDAL never: one email after the window, however many ticks follow.
			for h := 3; h <= 12; h++ {
				app.Clock.Set(T.Add(time.Duration(h) * time.Hour))
				slTick(t, app)
			}
			var ms []models.OutboxMessage
			if err := app.DB.NewSelect().Model(&ms).Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(ms) != 1 || ms[0].Recipient != "artist@example.com" || !strings.Contains(ms[0].Subject, "still missing on TIDAL") ||
				strings.Contains(ms[0].Text, "Apple Music") {
				t.Fatalf("alerts: %+v", ms)
			}
			admin := app.NewClient()
			admin.Login(o)
			_, page := admin.Get(fmt.Sprintf("/admin/links/%d/platforms", l.ID))
			if !strings.Contains(page, `data-testid="missing-banner"`) || !strings.Contains(page, "Still missing on TIDAL") ||
				!strings.Contains(page, `data-testid="resolve-banner"`) {
				t.Fatal("the Platforms tab shows no banner about TIDAL")
			}
			// Six checks (T … T+5h) and the last look before the alert.
			if !strings.Contains(page, "checked 7 times") {
				t.Errorf("TIDAL's row does not say how often it was checked: %s", regexp.MustCompile(`data-testid="status-tidal">[^<]*`).FindString(page))
			}
		})
	}
}

// The artist's addresses: good hosts are kept, anything else is refused with
// a message and nothing is saved; an address wins over the one found; and
// dropday never requests an address it is given.
func TestManualURLsAreValidatedAndNeverFetched(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true})
	o := app.CreateOwner("artist@example.com", "Label")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkReleased, app.Clock.Now())
	l.SourceKind, l.SourceValue = models.SourceSpotifyAlbum, "spotify:album:"+slAlbum
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	app.Spotify.AddAlbum(spotifytest.Album{ID: slAlbum, Name: "Night Drive", Artist: "Mara Lune", UPC: "036000291452"})
	var hits atomic.Int32
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer trap.Close()

	c := app.NewClient()
	c.Login(o)
	page := fmt.Sprintf("/admin/links/%d/platforms", l.ID)
	// Check now finds it on Spotify.
	if res, _ := c.PostForm(page, page+"/check", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("check now: %d", res.StatusCode)
	}
	_, body := c.Get(page)
	if !strings.Contains(body, `data-testid="found-spotify"`) || !strings.Contains(body, "/album/"+slAlbum) {
		t.Fatal("the Platforms tab does not show the found Spotify address")
	}
	bad := []struct{ field, value string }{
		{"url_youtube", trap.URL + "/watch?v=x"},
		{"url_soundcloud", "javascript:alert(1)"},
		{"url_amazon_music", "ftp://music.amazon.com/albums/x"},
		{"url_tidal", "night drive"},
		{"url_spotify", "https://music.apple.com/us/album/x/1"},
		{"url_deezer", "https://deezer.com.evil.example/album/1"},
	}
	for _, b := range bad {
		form := url.Values{"url_youtube_music": {"https://music.youtube.com/playlist?list=OLAK5uy"}, b.field: {b.value}}
		res, body := c.PostForm(page, page, form)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="`+b.field+`-error"`) ||
			!strings.Contains(body, "nothing was saved") {
			t.Errorf("%s=%q: status %d, no inline message", b.field, b.value, res.StatusCode)
		}
		if !strings.Contains(body, `value="`+strings.ReplaceAll(b.value, "&", "&amp;")+`"`) && b.field != "url_soundcloud" {
			t.Errorf("%s: the refused value is not kept in the field", b.field)
		}
		rows, err := store.LinkPlatforms(context.Background(), app.DB, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.ManualURL != "" {
				t.Fatalf("%s=%q: saved %s=%q along with a refused address", b.field, b.value, r.Platform, r.ManualURL)
			}
		}
	}
	form := url.Values{
		"url_spotify": {"https://open.spotify.com/album/" + slAlbum + "?si=artist"},
		"url_youtube": {"https://youtu.be/dQw4w9WgXcQ"},
	}
	if res, body := c.PostForm(page, page, form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("good addresses: %d\n%s", res.StatusCode, body)
	}
	if u, _ := store.ListenURL(context.Background(), app.DB, l.ID, "spotify"); u != "https://open.spotify.com/album/"+slAlbum+"?si=artist" {
		t.Fatalf("the artist's Spotify address does not win: %q", u)
	}
	order, hrefs := listenButtons(t, app, "night-drive")
	if strings.Join(order, ",") != "spotify,youtube" || hrefs["youtube"] != "/night-drive/go/youtube" {
		t.Fatalf("smart link buttons %v %v", order, hrefs)
	}
	// Clearing a field removes the address; the found one is back.
	if res, _ := c.PostForm(page, page, url.Values{"url_youtube": {"https://youtu.be/dQw4w9WgXcQ"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatal("clearing Spotify's address failed")
	}
	if u, _ := store.ListenURL(context.Background(), app.DB, l.ID, "spotify"); u != "https://open.spotify.com/album/"+slAlbum {
		t.Fatalf("after clearing: %q", u)
	}
	// Nothing dropday did requested the trap: not the form, the checks, nor the pages.
	c.PostForm(page, page+"/check", nil)
	c.Get(page)
	app.NewClient().Get("/night-drive")
	if n := hits.Load(); n != 0 {
		t.Fatalf("dropday requested an artist-given address %d times", n)
	}
}

// After the release a fan can still save it: the same consent, then the
// delivery is enqueued with the consent and saves at once.
func TestSaveAfterReleaseDeliversAtOnce(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true})
	o := app.CreateOwner("artist@example.com", "Label")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkReleased, app.Clock.Now().Add(-time.Hour))
	l.SourceKind, l.SourceValue = models.SourceSpotifyTrack, "spotify:track:"+slTrack
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	app.Spotify.AddTrack(spotifytest.Track{ID: slTrack, Name: "Night Drive", Artist: "Mara Lune", ISRC: slISRC})
	if _, err := app.Release.Resolver.Check(context.Background(), l, false); err != nil {
		t.Fatal(err)
	}
	_, body := app.NewClient().Get("/night-drive")
	if !strings.Contains(body, `data-testid="save-spotify"`) || !strings.Contains(body, `action="/night-drive/presave/spotify"`) {
		t.Fatal("no Save button next to Listen on Spotify")
	}
	app.Spotify.AddUser(spotifytest.User{ID: "fan1", DisplayName: "Fan"})
	app.Spotify.SetCurrentUser("fan1")
	c := app.NewClient()
	k := startConsent(t, app, c, "night-drive", false)
	k.finish(t, c)
	if k.final.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d", k.final.StatusCode)
	}
	_, done := c.Get(k.final.Header.Get("Location"))
	if !strings.Contains(done, "right away") {
		t.Error("the confirmation does not say the save happens now")
	}
	// No release run: the job is there already.
	slRun(t, app, rel.KindDeliver)
	if n := app.Spotify.Saves("fan1", "spotify:track:"+slTrack); n != 1 {
		t.Fatalf("saves %d, want 1", n)
	}
}
