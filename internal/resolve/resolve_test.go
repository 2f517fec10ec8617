package resolve_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/links"
	"github.com/dropday/dropday/internal/platform/apple/appletest"
	"github.com/dropday/dropday/internal/platform/deezer/deezertest"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/platform/tidal/tidaltest"
	"github.com/dropday/dropday/internal/resolve"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

const (
	trackID = "4uLU6hMCjMI75M1A2tKUQC"
	albumID = "1DFixLWuPkv3KT3TnV35m3"
	isrc    = "USRC17607839"
	upc     = "036000291452"
)

func each(t *testing.T, fn func(t *testing.T, pg bool)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, false) })
	t.Run("postgres", func(t *testing.T) { fn(t, true) })
}

// catalog puts the release (an album with one track) on the Spotify
// stand-in and, when the app has them, on Apple Music, Deezer and TIDAL,
// visible from the given time on each stand-in's clock.
func catalog(app *testapp.App, visible time.Time) {
	app.Spotify.AddAlbum(spotifytest.Album{ID: albumID, Name: "Night Drive", Artist: "Mara Lune", UPC: upc,
		Images: spotifytest.ImagesFor("https://img.example/nd"), TrackIDs: []string{trackID}, VisibleFrom: visible})
	app.Spotify.AddTrack(spotifytest.Track{ID: trackID, Name: "Night Drive", Artist: "Mara Lune", ISRC: isrc, AlbumID: albumID, VisibleFrom: visible})
	if app.Apple != nil {
		app.Apple.AddAlbum(appletest.Album{ID: "1577502911", Name: "Night Drive", Artist: "Mara Lune", UPC: upc}, visible)
		app.Apple.AddSong(appletest.Song{ID: "1577502912", Name: "Night Drive", Artist: "Mara Lune", AlbumName: "Night Drive", ISRC: isrc}, visible)
	}
	if app.Deezer != nil {
		app.Deezer.AddAlbum(deezertest.Album{ID: 302127, Title: "Night Drive", Artist: "Mara Lune", UPC: upc}, visible)
		app.Deezer.AddTrack(deezertest.Track{ID: 3135556, Title: "Night Drive", Artist: "Mara Lune", ISRC: isrc, AlbumID: 302127}, visible)
	}
	if app.Tidal != nil {
		app.Tidal.AddAlbum(tidaltest.Album{ID: "75413016", Title: "Night Drive", Artist: "Mara Lune", BarcodeID: upc}, visible)
		app.Tidal.AddTrack(tidaltest.Track{ID: "75413017", Title: "Night Drive", Artist: "Mara Lune", ISRC: isrc, AlbumID: "75413016"}, visible)
	}
}

// everywhere starts the app with every catalog stand-in, all on the test's clock.
func everywhere(t *testing.T, pg bool, env map[string]string) *testapp.App {
	app := testapp.New(t, testapp.Options{Spotify: true, Apple: true, Deezer: true, Tidal: true, Postgres: pg, Env: env})
	app.Spotify.SetClock(app.Clock.Now)
	return app
}

// released makes a released link whose source is what an artist would paste.
func released(t *testing.T, app *testapp.App, wid int64, slug, source string) *models.Link {
	t.Helper()
	l := app.Link(wid, slug, models.LinkReleased, app.Clock.Now())
	kind, value, msg := links.ParseSource(source)
	if msg != "" {
		t.Fatalf("source %q: %s", source, msg)
	}
	l.SourceKind, l.SourceValue = kind, value
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	return l
}

func row(t *testing.T, app *testapp.App, linkID int64, platform string) *models.LinkPlatform {
	t.Helper()
	lp, err := store.LinkPlatform(context.Background(), app.DB, linkID, platform)
	if err != nil {
		t.Fatalf("%s row of link %d: %v", platform, linkID, err)
	}
	return lp
}

// Each kind of source an artist can give finds the release on every
// catalog: a Spotify link through the UPC (album) or ISRC (track) Spotify
// gives, a UPC or ISRC directly. Each row has the URL the smart link's
// button goes to and the items a save takes.
func TestCheckFindsTheReleaseFromEachKindOfSource(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		app := everywhere(t, pg, nil)
		o := app.CreateOwner("artist@example.com", "Label")
		catalog(app, time.Time{})
		album := map[string][2]string{
			"spotify":     {"https://open.spotify.com/album/" + albumID, "spotify:album:" + albumID},
			"apple_music": {"/album/", "1577502911"},
			"deezer":      {"/album/302127", "302127"},
			"tidal":       {"/album/75413016", "75413016"},
		}
		track := map[string][2]string{
			"spotify":     {"https://open.spotify.com/track/" + trackID, "spotify:track:" + trackID},
			"apple_music": {"/song/", "1577502912"},
			"deezer":      {"/track/3135556", "3135556"},
			"tidal":       {"/track/75413017", "75413017"},
		}
		cases := []struct {
			source string
			want   map[string][2]string
		}{
			{"https://open.spotify.com/album/" + albumID + "?si=x", album},
			{"https://open.spotify.com/track/" + trackID, track},
			{upc, album},
			{"US-RC1-76-07839", track},
		}
		for i, c := range cases {
			l := released(t, app, o.Workspace.ID, "rel-"+string(rune('a'+i)), c.source)
			out, err := app.Release.Resolver.Check(context.Background(), l, false)
			if err != nil {
				t.Fatalf("%s: %v", c.source, err)
			}
			if len(out) != 4 {
				t.Fatalf("%s: outcomes %+v, want one per catalog", c.source, out)
			}
			for key, want := range c.want {
				lp := row(t, app, l.ID, key)
				if lp.FoundAt == nil || !strings.Contains(lp.FoundURL, want[0]) || len(lp.Items) != 1 ||
					!strings.Contains(lp.Items[0], want[1]) || lp.Checks != 1 || lp.LastError != "" {
					t.Errorf("%s on %s: row %+v, want url ~%s item ~%s", c.source, key, lp, want[0], want[1])
				}
			}
			// Found platforms are not looked up again by the scheduled checks.
			if out, _ := app.Release.Resolver.Check(context.Background(), l, false); len(out) != 0 {
				t.Errorf("%s: a found platform was looked up again: %+v", c.source, out)
			}
		}
	})
}

// A rate-limited look-up is not a miss: it is noted and asked again at the next check.
func TestRateLimitedLookupIsNotAMiss(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true})
	o := app.CreateOwner("artist@example.com", "Label")
	catalog(app, time.Time{})
	l := released(t, app, o.Workspace.ID, "night-drive", upc)
	app.Spotify.FailNext(1, spotifytest.Fault{Endpoint: spotifytest.EndpointSearch, Status: 429, RetryAfter: 30})
	out, err := app.Release.Resolver.Check(context.Background(), l, false)
	if err != nil || len(out) != 1 || out[0].Found {
		t.Fatalf("outcomes %+v, %v", out, err)
	}
	lp := row(t, app, l.ID, "spotify")
	if lp.FoundAt != nil || lp.Checks != 0 || !strings.HasPrefix(lp.LastError, "Could not check (rate limited") {
		t.Fatalf("after a 429: %+v", lp)
	}
	if _, err := app.Release.Resolver.Check(context.Background(), l, false); err != nil {
		t.Fatal(err)
	}
	if lp := row(t, app, l.ID, "spotify"); lp.FoundAt == nil || lp.LastError != "" || lp.Checks != 1 {
		t.Fatalf("the next check did not find it: %+v", lp)
	}
}

// runJobs works every due job of the given kinds on the test's clock.
func runJobs(t *testing.T, app *testapp.App, kinds ...string) int {
	t.Helper()
	ctx := context.Background()
	q := app.Release.Queue
	h := app.Release.Runner.Handlers
	n := 0
	for {
		js, err := q.Claim(ctx, kinds, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(js) == 0 {
			return n
		}
		for _, j := range js {
			n++
			if err := h[j.Kind](ctx, j); err != nil {
				t.Fatalf("job %d (%s): %v", j.ID, j.Kind, err)
			}
			if err := q.Complete(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// tick is the scheduler's tick on the elected instance: release, then resolve.
func tick(t *testing.T, app *testapp.App) {
	t.Helper()
	ctx := context.Background()
	if err := app.Release.Scheduler.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if err := app.Release.Resolver.Tick(ctx); err != nil {
		t.Fatal(err)
	}
}

func outbox(t *testing.T, app *testapp.App) []models.OutboxMessage {
	t.Helper()
	var ms []models.OutboxMessage
	if err := app.DB.NewSelect().Model(&ms).Order("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ms
}

// A release never found: one check at the release time, one per interval
// until the window ends, then exactly one email to the owners, however many
// ticks and instances follow.
func TestChecksEveryIntervalThenOneAlert(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		app := testapp.New(t, testapp.Options{Spotify: true, Postgres: pg,
			Env: map[string]string{"DROPDAY_RESOLVE_INTERVAL": "1h", "DROPDAY_RESOLVE_WINDOW": "6h"}})
		o := app.CreateOwner("artist@example.com", "Label")
		// A member who is not an owner gets no alert.
		m := app.CreateOwner("member@example.com", "Other")
		if err := store.AddMember(context.Background(), app.DB, &models.Member{WorkspaceID: o.Workspace.ID, UserID: m.User.ID,
			Role: models.RoleMember, CreatedAt: app.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		release := app.Clock.Now().Add(time.Hour)
		l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, release)
		l.SourceKind, l.SourceValue = models.SourceISRC, isrc
		if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
			t.Fatal(err)
		}
		// Before the release time nothing is looked up.
		tick(t, app)
		if n := runJobs(t, app, resolve.KindCheck, resolve.KindAlert); n != 0 {
			t.Fatalf("%d look-ups before the release", n)
		}
		app.Clock.Set(release)
		for h := 0; h <= 6; h++ {
			tick(t, app)
			tick(t, app) // a second tick in the same interval adds nothing
			if n := runJobs(t, app, resolve.KindCheck, resolve.KindAlert); n != 1 {
				t.Fatalf("T+%dh: %d jobs, want 1 check", h, n)
			}
			if lp := row(t, app, l.ID, "spotify"); lp.Checks != h+1 || lp.FoundAt != nil || lp.LastError != resolve.MsgNotFound {
				t.Fatalf("T+%dh: %+v", h, lp)
			}
			if len(outbox(t, app)) != 0 {
				t.Fatalf("T+%dh: alert inside the window", h)
			}
			app.Clock.Advance(30 * time.Minute)
			tick(t, app)
			if n := runJobs(t, app, resolve.KindCheck); n != 0 {
				t.Fatalf("T+%dh30: %d checks between intervals", h, n)
			}
			app.Clock.Advance(30 * time.Minute)
		}
		// T+7h: past the window. One alert (after a last look), then never again.
		for i := 0; i < 4; i++ {
			tick(t, app)
			runJobs(t, app, resolve.KindCheck, resolve.KindAlert)
			app.Clock.Advance(3 * time.Hour)
		}
		ms := outbox(t, app)
		if len(ms) != 1 {
			t.Fatalf("%d alert emails, want 1", len(ms))
		}
		msg := ms[0]
		if msg.Recipient != "artist@example.com" || !strings.Contains(msg.Subject, "Night Drive is still missing on Spotify") ||
			!strings.Contains(msg.Text, "Spotify: "+resolve.MsgNotFound) || !strings.Contains(msg.Text, "/admin/links/") ||
			msg.WorkspaceID == nil || *msg.WorkspaceID != o.Workspace.ID {
			t.Errorf("alert: to %q subject %q ws %v\n%s", msg.Recipient, msg.Subject, msg.WorkspaceID, msg.Text)
		}
		got, err := store.LinkForFan(context.Background(), app.DB, l.ID)
		if err != nil || got.ResolveAlertedAt == nil {
			t.Fatalf("resolve_alerted_at not set: %v %v", got, err)
		}
		// A retried alert job (an instance died after sending) sends nothing twice.
		_, _, err = jobs.Enqueue(context.Background(), app.DB, app.Clock.Now(), resolve.KindAlert,
			map[string]int64{"link_id": l.ID}, jobs.Opts{})
		if err != nil {
			t.Fatal(err)
		}
		runJobs(t, app, resolve.KindAlert)
		if n := len(outbox(t, app)); n != 1 {
			t.Fatalf("%d alert emails after a repeated job", n)
		}
	})
}

// A release found within the window (or given a URL by the artist) sends no alert.
func TestNoAlertWhenFoundOrGiven(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true, Env: map[string]string{"DROPDAY_RESOLVE_WINDOW": "2h"}})
	o := app.CreateOwner("artist@example.com", "Label")
	release := app.Clock.Now()
	found := app.Link(o.Workspace.ID, "found", models.LinkLive, release)
	given := app.Link(o.Workspace.ID, "given", models.LinkLive, release)
	for l, code := range map[*models.Link]string{found: upc, given: "4006381333931"} {
		l.SourceKind, l.SourceValue = models.SourceUPC, code
		if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
			t.Fatal(err)
		}
	}
	tick(t, app)
	runJobs(t, app, resolve.KindCheck)
	// given is never found by look-up: the artist pastes its address.
	if err := store.SetManualURL(context.Background(), app.DB, given.ID, "spotify", "https://open.spotify.com/album/"+albumID); err != nil {
		t.Fatal(err)
	}
	app.Clock.Advance(time.Hour)
	catalog(app, time.Time{}) // out on Spotify an hour late
	tick(t, app)
	runJobs(t, app, resolve.KindCheck)
	app.Clock.Advance(5 * time.Hour)
	tick(t, app)
	runJobs(t, app, resolve.KindCheck, resolve.KindAlert)
	if lp := row(t, app, found.ID, "spotify"); lp.FoundAt == nil || !lp.FoundAt.Equal(release.Add(time.Hour)) {
		t.Errorf("found: %+v", lp)
	}
	if n := len(outbox(t, app)); n != 0 {
		t.Fatalf("%d alerts for releases that are on every platform", n)
	}
}

// YouTube Music direct has no catalog: after the window a link with no
// YouTube Music or YouTube address gets the owners' alert naming it (its
// pre-saves cannot be made), while a link with one gets none.
func TestAlertNamesAMissingYouTubeAddress(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true, YouTube: true, Env: map[string]string{"DROPDAY_RESOLVE_WINDOW": "2h"}})
	ctx := context.Background()
	o := app.CreateOwner("artist@example.com", "Label")
	catalog(app, time.Time{}) // on Spotify from the start
	release := app.Clock.Now()
	bare := app.Link(o.Workspace.ID, "bare", models.LinkLive, release)
	given := app.Link(o.Workspace.ID, "given", models.LinkLive, release)
	for _, l := range []*models.Link{bare, given} {
		l.SourceKind, l.SourceValue = models.SourceUPC, upc
		if err := store.UpdateLink(ctx, app.DB, l); err != nil {
			t.Fatal(err)
		}
	}
	// Plain YouTube's address serves YouTube Music's saves too.
	if err := store.SetManualURL(ctx, app.DB, given.ID, "youtube", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"); err != nil {
		t.Fatal(err)
	}
	tick(t, app)
	runJobs(t, app, resolve.KindCheck)
	if ms := outbox(t, app); len(ms) != 0 {
		t.Fatalf("alert inside the window: %s", ms[0].Subject)
	}
	app.Clock.Advance(3 * time.Hour)
	tick(t, app)
	runJobs(t, app, resolve.KindCheck, resolve.KindAlert)
	ms := outbox(t, app)
	if len(ms) != 1 {
		t.Fatalf("%d alert emails, want 1 (for the link with no YouTube address)", len(ms))
	}
	if !strings.Contains(ms[0].Subject, "still missing on YouTube Music") || strings.Contains(ms[0].Subject, "Spotify") ||
		!strings.Contains(ms[0].Text, "YouTube Music: "+resolve.ReasonNoAddress) || !strings.Contains(ms[0].Text, "/admin/links/"+strconv.FormatInt(bare.ID, 10)+"/platforms") {
		t.Fatalf("alert: %q\n%s", ms[0].Subject, ms[0].Text)
	}
}
