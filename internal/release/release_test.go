package release_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/presave"
	"github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/models"
)

const track = "spotify:track:4uLU6hMCjMI75M1A2tKUQC"

// fixture is a running app with a live link that has a Spotify source.
func fixture(t *testing.T, pg bool) (*testapp.App, *models.Link) {
	t.Helper()
	app := testapp.New(t, testapp.Options{Spotify: true, Postgres: pg})
	o := app.CreateOwner("artist@example.com", "Label")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(time.Hour))
	l.SourceKind, l.SourceValue = models.SourceSpotifyTrack, track
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	return app, l
}

// consent makes a real pre-save for a stand-in user through the flow.
func consent(t *testing.T, app *testapp.App, l *models.Link, user string) *models.Presave {
	t.Helper()
	ctx := context.Background()
	app.Spotify.AddUser(spotifytest.User{ID: user, DisplayName: user})
	app.Spotify.SetCurrentUser(user)
	flow := &presave.Flow{DB: app.DB, Vault: app.Vault, Clients: app.Release.Deliverer.Clients, Now: app.Clock.Now, Erasure: app.Fans.Key}
	authURL, state, err := flow.Start(ctx, l, "spotify", false, "")
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, _ := url.Parse(res.Header.Get("Location"))
	r, err := flow.Complete(ctx, presave.Callback{Platform: "spotify", CookieState: state, QueryState: state, Code: back.Query().Get("code")})
	if err != nil {
		t.Fatalf("consent for %s: %v", user, err)
	}
	return r.Presave
}

func reload(t *testing.T, db bun.IDB, id int64) *models.Presave {
	t.Helper()
	p, err := store.PresaveByID(context.Background(), db, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runAll claims and works every due delivery job on the test's own clock.
func runAll(t *testing.T, app *testapp.App) {
	t.Helper()
	ctx := context.Background()
	q := app.Release.Queue
	for {
		js, err := q.Claim(ctx, []string{release.KindDeliver}, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(js) == 0 {
			return
		}
		for _, j := range js {
			if err := app.Release.Deliverer.Work(ctx, j); err != nil {
				t.Fatalf("job %d: %v", j.ID, err)
			}
			if err := q.Complete(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestTickReleasesDueLinksOnce(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			app, l := fixture(t, pg)
			ids := []int64{consent(t, app, l, "fan1").ID, consent(t, app, l, "fan2").ID}
			s := app.Release.Scheduler
			ctx := context.Background()

			if err := s.Tick(ctx); err != nil || app.CountRows("jobs") != 0 {
				t.Fatalf("a tick before the release time enqueued %d jobs (%v)", app.CountRows("jobs"), err)
			}
			app.Clock.Advance(time.Hour)
			if err := s.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			if n := app.CountRows("jobs"); n != 2 {
				t.Fatalf("jobs after release = %d, want 2", n)
			}
			if got, _ := store.LinkByID(ctx, app.DB, l.WorkspaceID, l.ID); got.State != models.LinkReleased {
				t.Fatalf("link state = %s", got.State)
			}
			// A late "deliver now" or another tick adds nothing.
			if n, err := release.DeliverNow(ctx, app.DB, l, app.Clock.Now(), nil); err != nil || n != 0 {
				t.Fatalf("deliver now after release = %d, %v", n, err)
			}
			if err := s.Tick(ctx); err != nil || app.CountRows("jobs") != 2 {
				t.Fatalf("second tick: jobs %d, %v", app.CountRows("jobs"), err)
			}
			runAll(t, app)
			for _, id := range ids {
				if p := reload(t, app.DB, id); p.State != models.PresaveDelivered || p.Credential != nil || p.DeliveredAt == nil {
					t.Fatalf("presave %d after delivery: %+v", id, p)
				}
			}
			if app.Spotify.Saves("fan1", track) != 1 || app.Spotify.Saves("fan2", track) != 1 || app.Spotify.Duplicates() != 0 {
				t.Fatalf("stand-in saves: %v", app.Spotify.Saved())
			}
		})
	}
}

// A platform that rotates refresh tokens: the new one must be stored before
// the save, or a retry would be locked out.
func TestRotatedRefreshTokenIsStored(t *testing.T) {
	app, l := fixture(t, false)
	app.Spotify.SetRefreshMode(spotifytest.RefreshRotate)
	p := consent(t, app, l, "fan1")
	before, _ := presave.OpenCredential(app.Vault, p.ID, p.Credential)
	// The save fails once (503) after the refresh rotated the token.
	app.Spotify.FailNext(1, spotifytest.Fault{Endpoint: spotifytest.EndpointLibrary, Status: 503})
	ctx := context.Background()
	if _, err := release.DeliverNow(ctx, app.DB, l, app.Clock.Now(), nil); err != nil {
		t.Fatal(err)
	}
	js, _ := app.Release.Queue.Claim(ctx, []string{release.KindDeliver}, 1)
	if err := app.Release.Deliverer.Work(ctx, js[0]); err == nil {
		t.Fatal("a 503 was not an error")
	}
	mid := reload(t, app.DB, p.ID)
	after, err := presave.OpenCredential(app.Vault, p.ID, mid.Credential)
	if err != nil || after == before || mid.State != models.PresavePending || mid.LastError == "" {
		t.Fatalf("after a rotated refresh and a failed save: rotated=%v state=%s last_error=%q err=%v", after != before, mid.State, mid.LastError, err)
	}
	if err := app.Release.Queue.Retry(ctx, js[0], err); err != nil {
		t.Fatal(err)
	}
	app.Clock.Advance(time.Hour) // past the backoff
	runAll(t, app)
	if got := reload(t, app.DB, p.ID); got.State != models.PresaveDelivered {
		t.Fatalf("retry with the rotated token: %s %q", got.State, got.LastError)
	}
}

func TestDeliverNowRefusesDraftsAndArchived(t *testing.T) {
	app, l := fixture(t, false)
	consent(t, app, l, "fan1")
	for _, st := range []string{models.LinkDraft, models.LinkArchived} {
		l.State = st
		if n, err := release.DeliverNow(context.Background(), app.DB, l, app.Clock.Now(), nil); err != release.ErrNotDeliverable || n != 0 {
			t.Fatalf("deliver now on %s = %d, %v", st, n, err)
		}
	}
	if app.CountRows("jobs") != 0 {
		t.Fatal("jobs enqueued for a draft or archived link")
	}
}

// One instance schedules; when it lets go (dies), another takes over.
func TestPGElector(t *testing.T) {
	_, dbURL := testdb.Postgres(t)
	a := &release.PGElector{DB: testdb.OpenRaw(t, dbURL)}
	b := &release.PGElector{DB: testdb.OpenRaw(t, dbURL)}
	ctx := context.Background()
	if err := a.IsLeader(ctx); err != nil {
		t.Fatalf("first instance: %v", err)
	}
	if err := b.IsLeader(ctx); err == nil {
		t.Fatal("two leaders at once")
	}
	if err := a.IsLeader(ctx); err != nil {
		t.Fatalf("the leader lost its lead: %v", err)
	}
	a.Close() // as when its process dies: the session lock goes with the connection
	if err := b.IsLeader(ctx); err != nil {
		t.Fatalf("no takeover: %v", err)
	}
	if err := a.IsLeader(ctx); err == nil {
		t.Fatal("the old leader came back while the new one holds the lock")
	}
	b.Close()
}
