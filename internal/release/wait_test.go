package release_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/resolve"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

const (
	waitAlbum = "1DFixLWuPkv3KT3TnV35m3"
	waitUPC   = "036000291452"
)

// upcFixture is a live link whose source is a UPC, released in an hour,
// with one Spotify pre-save.
func upcFixture(t *testing.T, pg bool, env map[string]string) (*testapp.App, *models.Link, *models.Presave) {
	t.Helper()
	app := testapp.New(t, testapp.Options{Spotify: true, Postgres: pg, Env: env})
	o := app.CreateOwner("artist@example.com", "Label")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(time.Hour))
	l.SourceKind, l.SourceValue = models.SourceUPC, waitUPC
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	return app, l, consent(t, app, l, "fan1")
}

// step is one scheduler tick and every job it makes due, on the test's
// clock; it returns how many deliveries snoozed, and checks each snooze ends
// just after the next look-up.
func step(t *testing.T, app *testapp.App, l *models.Link) (snoozed int) {
	t.Helper()
	ctx := context.Background()
	if err := app.Release.Scheduler.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if err := app.Release.Resolver.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	q := app.Release.Queue
	for _, kinds := range [][]string{{resolve.KindCheck, resolve.KindAlert}, {release.KindDeliver}} {
		js, err := q.Claim(ctx, kinds, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range js {
			err := app.Release.Runner.Handlers[j.Kind](ctx, j)
			now := app.Clock.Now()
			want := app.Release.Resolver.NextCheck(l, now).Add(2 * time.Minute).Sub(now)
			switch {
			case err == nil:
				err = q.Complete(ctx, j)
			case j.Kind == release.KindDeliver && err.Error() == jobs.Snooze(want).Error():
				snoozed++
				err = q.Snooze(ctx, j, want)
			default:
				err = q.Cancel(ctx, j, err)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return snoozed
}

// A pre-save on a platform where the release is not out yet waits (no
// attempt spent) until a check finds it, then delivers.
func TestDeliveryWaitsUntilTheReleaseIsFound(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(fmt.Sprint("pg=", pg), func(t *testing.T) {
			app, l, p := upcFixture(t, pg, nil)
			app.Clock.Set(l.ReleaseAt)
			if n := step(t, app, l); n != 1 {
				t.Fatalf("at the release time: %d deliveries waiting, want 1", n)
			}
			if got := reload(t, app.DB, p.ID); got.State != models.PresavePending || got.LastError != "" {
				t.Fatalf("while waiting: %+v", got)
			}
			// T+1h: the check still misses it; the delivery wakes just after and waits again.
			app.Clock.Set(l.ReleaseAt.Add(time.Hour))
			if n := step(t, app, l); n != 0 {
				t.Fatalf("T+1h: %d deliveries ran with the check", n)
			}
			app.Clock.Advance(2 * time.Minute)
			if n := step(t, app, l); n != 1 {
				t.Fatalf("T+1h02: %d deliveries waiting, want 1", n)
			}
			// The label's distributor is late: on Spotify at T+1h30, found by the check at T+2h.
			app.Clock.Set(l.ReleaseAt.Add(90 * time.Minute))
			app.Spotify.AddAlbum(spotifytest.Album{ID: waitAlbum, Name: "Night Drive", Artist: "Mara Lune", UPC: waitUPC})
			step(t, app, l)
			if got := reload(t, app.DB, p.ID); got.State != models.PresavePending {
				t.Fatalf("delivered before a check found it: %+v", got)
			}
			app.Clock.Set(l.ReleaseAt.Add(2 * time.Hour))
			if n := step(t, app, l); n != 0 {
				t.Fatalf("T+2h: %d deliveries ran", n)
			}
			if lp, err := store.LinkPlatform(context.Background(), app.DB, l.ID, "spotify"); err != nil || lp.FoundAt == nil {
				t.Fatalf("T+2h: not found: %+v %v", lp, err)
			}
			app.Clock.Advance(2 * time.Minute)
			step(t, app, l)
			got := reload(t, app.DB, p.ID)
			if got.State != models.PresaveDelivered {
				t.Fatalf("after the check found it: %+v", got)
			}
			saves := app.Spotify.Saved()
			if len(saves) != 1 || saves[0].URI != "spotify:album:"+waitAlbum || saves[0].User != "fan1" {
				t.Fatalf("saves %+v", saves)
			}
			var attempt int
			if err := app.DB.NewSelect().Table("jobs").Column("attempt").Where("kind = ?", release.KindDeliver).Scan(context.Background(), &attempt); err != nil {
				t.Fatal(err)
			}
			// Waiting spent no attempt: only the run that delivered counts.
			if attempt != 1 {
				t.Fatalf("attempt %d, want 1", attempt)
			}
		})
	}
}

// After the look-up window, a release still not found fails the pre-save
// with the reason the artist reads.
func TestDeliveryFailsWhenNeverFound(t *testing.T) {
	app, l, p := upcFixture(t, false, map[string]string{"DROPDAY_RESOLVE_WINDOW": "3h"})
	app.Clock.Set(l.ReleaseAt)
	for h := 0; h <= 3; h++ {
		if n := step(t, app, l); n > 1 {
			t.Fatalf("T+%dh: %d snoozes", h, n)
		}
		app.Clock.Advance(time.Hour)
		if got := reload(t, app.DB, p.ID); got.State != models.PresavePending {
			t.Fatalf("T+%dh: %+v", h, got)
		}
	}
	app.Clock.Advance(2 * time.Minute)
	step(t, app, l)
	got := reload(t, app.DB, p.ID)
	if got.State != models.PresaveFailed || got.LastError != fmt.Sprintf(release.ReasonNotFound, "Spotify") {
		t.Fatalf("after the window: %+v", got)
	}
	if len(app.Spotify.Saved()) != 0 {
		t.Fatal("saved a release that was never found")
	}
}
