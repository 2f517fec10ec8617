package faults

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/proc"
	"github.com/dropday/dropday/internal/seed"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/vault"
	"github.com/dropday/dropday/models"
)

const (
	presaveN       = 3000
	presaveWorkers = 16
	// presaveDeadline bounds one database's run, kill and restart included.
	presaveDeadline = 50 * time.Second
)

// releaseDay is a link already due with presaveN pending Spotify pre-saves
// (real sealed credentials), the stand-in that will receive them, and the
// environment of a `dropday serve` that delivers them.
type releaseDay struct {
	db   *bun.DB
	sp   *spotifytest.Server
	link *models.Link
	fans []seed.Fan
	env  map[string]string
}

func newReleaseDay(t *testing.T, db *bun.DB, url string) *releaseDay {
	t.Helper()
	ctx := context.Background()
	sp := spotifytest.New(spotifytest.Options{Seed: 1})
	t.Cleanup(sp.Close)
	sp.SetLatency(10 * time.Millisecond)
	keys, err := seed.MasterKeys()
	if err != nil {
		t.Fatal(err)
	}
	k, err := vault.Parse(keys)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	l, err := seed.Link(ctx, db, "faults", now, now)
	if err != nil {
		t.Fatal(err)
	}
	fans := seed.Fans(presaveN, sp.Grant)
	if err := seed.Presaves(ctx, db, k, l, fans, now); err != nil {
		t.Fatal(err)
	}
	return &releaseDay{db: db, sp: sp, link: l, fans: fans, env: map[string]string{
		"DROPDAY_DATABASE_URL":          url,
		"DROPDAY_DATA_DIR":              t.TempDir(),
		"DROPDAY_SECRET_KEY":            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"DROPDAY_MASTER_KEYS":           keys,
		"DROPDAY_SPOTIFY_CLIENT_ID":     sp.ClientID(),
		"DROPDAY_SPOTIFY_CLIENT_SECRET": sp.ClientSecret(),
		"DROPDAY_SPOTIFY_ACCOUNTS_URL":  sp.URL,
		"DROPDAY_SPOTIFY_API_URL":       sp.URL,
		"DROPDAY_DEEZER_CATALOG":        "false", // only the Spotify stand-in runs
		"DROPDAY_WORKERS":               strconv.Itoa(presaveWorkers),
		"DROPDAY_JOB_LEASE":             "3s",
		"DROPDAY_SCHEDULER_INTERVAL":    "1s",
		"DROPDAY_SPOTIFY_RATE":          "5000",
	}}
}

func (r *releaseDay) counts(t *testing.T) map[string]int {
	t.Helper()
	c, err := store.PresaveCounts(context.Background(), r.db, r.link.WorkspaceID, r.link.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitDone polls the database until no pre-save is pending.
func (r *releaseDay) waitDone(t *testing.T, deadline time.Time, watched ...*proc.Process) {
	t.Helper()
	waitFor(t, "every pre-save settled", deadline, 100*time.Millisecond, watched, func() (bool, string, error) {
		c, err := store.PresaveCounts(context.Background(), r.db, r.link.WorkspaceID, r.link.ID)
		if err != nil {
			return false, "", err
		}
		return c[models.PresavePending] == 0, fmt.Sprintf("states %v, %d saves at the stand-in", c, len(r.sp.Saved())), nil
	})
}

// checkDelivered asserts each pre-save delivered exactly once in the
// database and each fan's save present at the stand-in; it returns the
// stand-in's repeats (saves beyond the first per fan).
func (r *releaseDay) checkDelivered(t *testing.T) int {
	t.Helper()
	c := r.counts(t)
	if c[models.PresaveDelivered] != presaveN || c[models.PresavePending] != 0 || c[models.PresaveFailed] != 0 {
		t.Errorf("states %v, want all %d delivered", c, presaveN)
	}
	missing := 0
	for _, f := range r.fans {
		if r.sp.Saves(f.UserID, seed.Track) == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d fans have no save at the stand-in", missing, presaveN)
	}
	return r.sp.Duplicates()
}

// TestKillMidDelivery kills `dropday serve` with SIGKILL a third of the way
// through release day and starts a new one on the same database: every
// pre-save must end delivered, and only the saves in flight at the kill
// (at most one per worker) may reach Spotify twice.
func TestKillMidDelivery(t *testing.T) {
	eachDB(t, func(t *testing.T, db *bun.DB, url string, _ bool) {
		r := newReleaseDay(t, db, url)
		begin := time.Now()
		deadline := begin.Add(presaveDeadline)
		first := start(t, "first dropday", r.env)

		waitFor(t, "a third of the saves", deadline, 5*time.Millisecond, []*proc.Process{first}, func() (bool, string, error) {
			n := len(r.sp.Saved())
			return n >= presaveN/3, fmt.Sprintf("%d saves", n), nil
		})
		first.Kill()
		killedAt := time.Now()
		savesAtKill := len(r.sp.Saved())
		atKill := r.counts(t)
		if atKill[models.PresavePending] == 0 {
			t.Fatalf("nothing was pending at the kill (%v): the test would prove nothing", atKill)
		}

		second := start(t, "restarted dropday", r.env)
		r.waitDone(t, deadline, second)
		repeats := r.checkDelivered(t)
		t.Logf("%d pre-saves, %d workers: killed after %s at %d saves (db: %d delivered, %d pending); restarted, all settled %s after the kill; %d saves at the stand-in, %d repeats",
			presaveN, presaveWorkers, killedAt.Sub(begin).Round(time.Millisecond), savesAtKill,
			atKill[models.PresaveDelivered], atKill[models.PresavePending],
			time.Since(killedAt).Round(time.Millisecond), len(r.sp.Saved()), repeats)
		if repeats > presaveWorkers {
			t.Errorf("%d repeated saves, want at most %d (the jobs in flight at the kill)", repeats, presaveWorkers)
		}
	})
}

// TestTwoProcessesDeliverOnce runs two `dropday serve` on one PostgreSQL
// schema, as a multi-instance deployment does: they share the queue, and no
// fan's save may be sent twice.
func TestTwoProcessesDeliverOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, db *bun.DB, url string, postgres bool) {
		if !postgres {
			t.Skip("SQLite is a single-process deployment (the file is locked to one dropday serve); several instances need PostgreSQL")
		}
		r := newReleaseDay(t, db, url)
		begin := time.Now()
		deadline := begin.Add(presaveDeadline)
		envB := make(map[string]string, len(r.env))
		for k, v := range r.env {
			envB[k] = v
		}
		envB["DROPDAY_DATA_DIR"] = t.TempDir()
		a := start(t, "dropday A", r.env)
		b := start(t, "dropday B", envB)
		r.waitDone(t, deadline, a, b)
		repeats := r.checkDelivered(t)
		t.Logf("%d pre-saves by two processes of %d workers: settled in %s; %d saves at the stand-in, %d repeats",
			presaveN, presaveWorkers, time.Since(begin).Round(time.Millisecond), len(r.sp.Saved()), repeats)
		if repeats != 0 {
			t.Errorf("%d repeated saves, want 0", repeats)
		}
	})
}
