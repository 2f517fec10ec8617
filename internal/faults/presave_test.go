package faults

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/proc"
	"github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/seed"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/vault"
	"github.com/dropday/dropday/models"
)

const (
	presaveN       = 3000
	presaveWorkers = 16
	// presaveDeadline bounds one database's run, kill and restart included;
	// generous, as the test proves nothing lost or repeated, not speed.
	presaveDeadline = 120 * time.Second
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
	return newReleaseDayN(t, db, url, presaveN)
}

// newReleaseDayN is newReleaseDay with n pre-saves.
func newReleaseDayN(t *testing.T, db *bun.DB, url string, n int) *releaseDay {
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
	fans := seed.Fans(n, sp.Grant)
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
		"DROPDAY_METRICS_TOKEN":         metricsToken,
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
	n := len(r.fans)
	c := r.counts(t)
	if c[models.PresaveDelivered] != n || c[models.PresavePending] != 0 || c[models.PresaveFailed] != 0 {
		t.Errorf("states %v, want all %d delivered", c, n)
	}
	// Counted once: one delivery job per pre-save, completed, none given up.
	var jobStates []struct {
		State string `bun:"state"`
		N     int    `bun:"n"`
	}
	if err := r.db.NewSelect().Table("jobs").ColumnExpr("state, count(*) AS n").Where("kind = ?", release.KindDeliver).
		Group("state").Scan(context.Background(), &jobStates); err != nil {
		t.Fatal(err)
	}
	for _, js := range jobStates {
		if (js.State == jobs.StateCompleted) != (js.N == n) || (js.State != jobs.StateCompleted && js.N != 0) {
			t.Errorf("delivery jobs by state: %+v, want %d completed and nothing else", jobStates, n)
			break
		}
	}
	missing := 0
	for _, f := range r.fans {
		if r.sp.Saves(f.UserID, seed.Track) == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d fans have no save at the stand-in", missing, n)
	}
	return r.sp.Duplicates()
}

// TestKillMidDelivery kills the one `dropday serve` with SIGKILL three
// times during release day (at a quarter, half and three quarters of the
// saves), starting a new one after each kill, on the same database: every
// pre-save must end delivered and counted once, and only the jobs in flight
// at a kill (running in the database, claimed by the killed process) may
// reach Spotify twice.
func TestKillMidDelivery(t *testing.T) {
	eachDB(t, func(t *testing.T, db *bun.DB, url string, _ bool) {
		r := newReleaseDay(t, db, url)
		begin := time.Now()
		deadline := begin.Add(presaveDeadline)
		cur := start(t, "first dropday", r.env)
		inflight := 0
		var kills []string
		for k := 1; k <= 3; k++ {
			waitFor(t, fmt.Sprintf("%d/4 of the saves", k), deadline, 5*time.Millisecond, []*proc.Process{cur}, func() (bool, string, error) {
				n := len(r.sp.Saved())
				return n >= k*presaveN/4, fmt.Sprintf("%d saves", n), nil
			})
			cur.Kill()
			n := runningClaimedBy(t, db, cur.Pid())
			inflight += n
			atKill := r.counts(t)
			if atKill[models.PresavePending] == 0 {
				t.Fatalf("nothing was pending at kill %d (%v): the test would prove nothing", k, atKill)
			}
			kills = append(kills, fmt.Sprintf("kill %d at %s: %d saves, %d jobs in flight", k,
				time.Since(begin).Round(time.Millisecond), len(r.sp.Saved()), n))
			cur = start(t, fmt.Sprintf("dropday after kill %d", k), r.env)
		}
		r.waitDone(t, deadline, cur)
		repeats := r.checkDelivered(t)
		t.Logf("%d pre-saves, %d workers: %s; all settled after %s; %d saves at the stand-in, %d repeats (bound: %d in flight at the kills)",
			presaveN, presaveWorkers, strings.Join(kills, "; "), time.Since(begin).Round(time.Millisecond),
			len(r.sp.Saved()), repeats, inflight)
		if repeats > inflight {
			t.Errorf("%d repeated saves, want at most %d (the jobs in flight at the kills)", repeats, inflight)
		}
	})
}

// runningClaimedBy counts the delivery jobs still running under a claim of
// the process with this pid (its instance id is host:pid:random): after a
// SIGKILL, the jobs it had in flight.
func runningClaimedBy(t *testing.T, db *bun.DB, pid int) int {
	t.Helper()
	n, err := db.NewSelect().Table("jobs").Where("kind = ?", release.KindDeliver).Where("state = ?", jobs.StateRunning).
		Where("claimed_by LIKE ?", "%:"+strconv.Itoa(pid)+":%").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}
