package faults

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
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
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/internal/vault"
	"github.com/dropday/dropday/models"
)

// metricsToken is every child's DROPDAY_METRICS_TOKEN.
const metricsToken = "faults-metrics-token-0123456789"

// onPostgres runs fn on a fresh PostgreSQL schema: several instances need a
// database server (an SQLite file belongs to one process).
func onPostgres(t *testing.T, fn func(t *testing.T, db *bun.DB, url string)) {
	t.Helper()
	db, url := testdb.Postgres(t)
	fn(t, db, url)
}

// cluster is N `dropday serve` on one database, each with its own data
// directory (nothing on disk is shared, as on separate machines).
type cluster struct {
	t     *testing.T
	env   map[string]string
	procs []*proc.Process // the current process of each slot
	pids  [][]int         // every process each slot ran, oldest first
}

func newCluster(t *testing.T, env map[string]string, n int) *cluster {
	t.Helper()
	c := &cluster{t: t, env: env, procs: make([]*proc.Process, n), pids: make([][]int, n)}
	for i := range n {
		c.start(i)
	}
	return c
}

func (c *cluster) start(i int) {
	c.t.Helper()
	env := make(map[string]string, len(c.env)+1)
	for k, v := range c.env {
		env[k] = v
	}
	env["DROPDAY_DATA_DIR"] = c.t.TempDir()
	p := start(c.t, fmt.Sprintf("dropday %c (run %d)", 'A'+i, len(c.pids[i])+1), env)
	c.procs[i] = p
	c.pids[i] = append(c.pids[i], p.Pid())
}

// deliveredBy counts completed delivery jobs per process id, read from
// jobs.claimed_by (host:pid:random).
func deliveredBy(t *testing.T, db *bun.DB) map[int]int {
	t.Helper()
	var rows []struct {
		ClaimedBy string `bun:"claimed_by"`
		N         int    `bun:"n"`
	}
	if err := db.NewSelect().Table("jobs").ColumnExpr("claimed_by, count(*) AS n").
		Where("kind = ?", release.KindDeliver).Where("state = ?", jobs.StateCompleted).
		Group("claimed_by").Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[int]int{}
	for _, r := range rows {
		parts := strings.Split(r.ClaimedBy, ":")
		if len(parts) != 3 {
			t.Fatalf("claimed_by %q is not host:pid:random", r.ClaimedBy)
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil {
			t.Fatalf("claimed_by %q: %v", r.ClaimedBy, err)
		}
		out[pid] += r.N
	}
	return out
}

// scrape reads a process's /metrics with the token.
func scrape(t *testing.T, p *proc.Process) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+p.Addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	res, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", p.Addr, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %d %s", p.Addr, res.StatusCode, b)
	}
	return string(b)
}

// sample is the value of one series (name and labels exactly as Prometheus
// prints them, labels sorted), or 0 when absent.
func sample(body, series string) float64 {
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
}

// TestInstancesShareTheQueue runs three `dropday serve` on one PostgreSQL
// schema, as a scaled-out deployment does: every instance delivers some of
// the pre-saves, none is sent twice, and their /metrics add up to exactly
// one completed delivery per pre-save.
func TestInstancesShareTheQueue(t *testing.T) {
	onPostgres(t, func(t *testing.T, db *bun.DB, url string) {
		r := newReleaseDay(t, db, url)
		begin := time.Now()
		c := newCluster(t, r.env, 3)
		r.waitDone(t, begin.Add(presaveDeadline), c.procs...)
		repeats := r.checkDelivered(t)
		by := deliveredBy(t, db)
		var completed, ok200 float64
		for i, p := range c.procs {
			if by[p.Pid()] == 0 {
				t.Errorf("instance %c (pid %d) delivered nothing: %v", 'A'+i, p.Pid(), by)
			}
			body := scrape(t, p)
			n := sample(body, `dropday_jobs_total{kind="presave.deliver",outcome="completed"}`)
			if int(n) != by[p.Pid()] {
				t.Errorf("instance %c: /metrics says %v deliveries completed, jobs.claimed_by %d", 'A'+i, n, by[p.Pid()])
			}
			completed += n
			ok200 += sample(body, `dropday_platform_requests_total{platform="spotify",status="200"}`)
			if !strings.Contains(body, `dropday_job_duration_seconds_count{kind="presave.deliver"}`) {
				t.Errorf("instance %c: no job duration histogram", 'A'+i)
			}
		}
		if int(completed) != presaveN {
			t.Errorf("the instances' /metrics count %v completed deliveries, want %d", completed, presaveN)
		}
		// Every 200 the stand-in answered is counted once: a refresh and a save
		// per pre-save, plus the release look-ups (resolution at the release).
		answered := 0
		for _, byStatus := range r.sp.RequestCounts() {
			answered += byStatus[200]
		}
		if int(ok200) != answered || answered < presaveN*2 {
			t.Errorf("the instances' /metrics count %v Spotify 200s; the stand-in answered %d (at least %d: a refresh and a save per pre-save)", ok200, answered, presaveN*2)
		}
		t.Logf("%d pre-saves by three processes of %d workers: settled in %s; delivered per pid %v; %d repeats",
			presaveN, presaveWorkers, time.Since(begin).Round(time.Millisecond), by, repeats)
		if repeats != 0 {
			t.Errorf("%d repeated saves, want 0", repeats)
		}
	})
}

const (
	// killN pre-saves are delivered by three instances while one is killed
	// every killEvery: about 20 s of work on 2 cores, so about ten kills.
	killN     = 20_000
	killEvery = 2 * time.Second
	// killDeadline bounds the run, kills and restarts included.
	killDeadline = 4 * time.Minute
)

// TestKillInstancesRepeatedly delivers 20,000 pre-saves with three
// instances on PostgreSQL while, every two seconds, one of them (in turn) is
// killed with SIGKILL and started again: every pre-save ends delivered and
// counted once, every instance delivers some, and the saves Spotify sees
// twice are at most the jobs in flight (running under the killed process's
// claim) at the kills.
func TestKillInstancesRepeatedly(t *testing.T) {
	onPostgres(t, func(t *testing.T, db *bun.DB, url string) {
		r := newReleaseDayN(t, db, url, killN)
		r.env["DROPDAY_JOB_LEASE"] = "5s" // three instances on two cores: give a slow claim room
		begin := time.Now()
		deadline := begin.Add(killDeadline)
		c := newCluster(t, r.env, 3)
		inflight, kills := 0, 0
		var log []string
		next := time.Now().Add(killEvery)
		for {
			counts := r.counts(t)
			if counts[models.PresavePending] == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not settled by the deadline: %v", counts)
			}
			for i, p := range c.procs {
				if exited, err := p.Exited(); exited {
					t.Fatalf("instance %c exited on its own: %v", 'A'+i, err)
				}
			}
			if time.Now().Before(next) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			i := kills % len(c.procs)
			victim := c.procs[i]
			victim.Kill()
			n := runningClaimedBy(t, db, victim.Pid())
			inflight += n
			kills++
			log = append(log, fmt.Sprintf("%c@%s:%d", 'A'+i, time.Since(begin).Round(100*time.Millisecond), n))
			c.start(i)
			next = time.Now().Add(killEvery)
		}
		took := time.Since(begin)
		repeats := r.checkDelivered(t)
		by := deliveredBy(t, db)
		for i, pids := range c.pids {
			slot := 0
			for _, pid := range pids {
				slot += by[pid]
			}
			if slot == 0 {
				t.Errorf("instance %c (pids %v) delivered nothing", 'A'+i, pids)
			}
		}
		if kills < 3 {
			t.Errorf("only %d kills before the run ended: the test proved little", kills)
		}
		t.Logf("%d pre-saves, 3 instances of %d workers: %d kills (instance@time:jobs in flight %s); settled in %s; %d saves at the stand-in, %d repeats (bound: %d in flight at the kills); delivered per pid %v",
			killN, presaveWorkers, kills, strings.Join(log, " "), took.Round(time.Millisecond),
			len(r.sp.Saved()), repeats, inflight, by)
		if repeats > inflight {
			t.Errorf("%d repeated saves, want at most %d (the jobs in flight at the kills)", repeats, inflight)
		}
	})
}

// mixN is the pre-saves of the platform-faults test per instance: with 5%
// of calls answered 429 (each pausing its instance for the second of its
// Retry-After, as Spotify asks) an instance makes only about 16 calls a
// second, so this is about 25 s of work.
const mixN = 200

// TestPlatformFaults has the Spotify stand-in answer 5% of calls 429, 1%
// 500 and leave 0.5% hanging (seeded, so reproducible), with a 2 s platform
// timeout, three instances on PostgreSQL (one on SQLite): every pre-save
// still ends delivered, counted once, and none is saved twice (the faults
// answer before any save, so a retry never repeats one).
func TestPlatformFaults(t *testing.T) {
	eachDB(t, func(t *testing.T, db *bun.DB, url string, postgres bool) {
		instances := 1
		if postgres {
			instances = 3
		}
		n := mixN * instances
		r := newReleaseDayN(t, db, url, n)
		r.env["DROPDAY_PLATFORM_TIMEOUT"] = "2s"
		// One of each for sure (a short run may draw no hang), then the mix.
		r.sp.FailNext(1, spotifytest.Fault{Endpoint: spotifytest.EndpointLibrary, Hang: true})
		r.sp.FailNext(1, spotifytest.Fault{Endpoint: spotifytest.EndpointToken, Hang: true})
		r.sp.FailNext(1, spotifytest.Fault{Endpoint: spotifytest.EndpointLibrary, Status: http.StatusInternalServerError})
		r.sp.FailMix(
			spotifytest.Share{Fraction: 0.05, Fault: spotifytest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1}},
			spotifytest.Share{Fraction: 0.01, Fault: spotifytest.Fault{Status: http.StatusInternalServerError}},
			spotifytest.Share{Fraction: 0.005, Fault: spotifytest.Fault{Hang: true}},
		)
		begin := time.Now()
		c := newCluster(t, r.env, instances)
		r.waitDone(t, begin.Add(3*time.Minute), c.procs...)
		repeats := r.checkDelivered(t)
		hung := 0
		for _, byStatus := range r.sp.RequestCounts() {
			hung += byStatus[0]
		}
		got500 := r.sp.Requests(spotifytest.EndpointLibrary, 500) + r.sp.Requests(spotifytest.EndpointToken, 500)
		if r.sp.RateLimited() == 0 || got500 == 0 || hung == 0 {
			t.Errorf("faults injected: %d 429s, %d 500s, %d hung: want some of each", r.sp.RateLimited(), got500, hung)
		}
		var seen429 float64
		for _, p := range c.procs {
			seen429 += sample(scrape(t, p), `dropday_platform_requests_total{platform="spotify",status="429"}`)
		}
		if int(seen429) != r.sp.RateLimited() {
			t.Errorf("/metrics count %v 429s, the stand-in sent %d", seen429, r.sp.RateLimited())
		}
		t.Logf("%d pre-saves, %d instance(s): settled in %s; stand-in sent %d 429s, %d 500s, hung %d; %d saves, %d repeats; requests %v",
			n, instances, time.Since(begin).Round(time.Millisecond), r.sp.RateLimited(), got500, hung,
			len(r.sp.Saved()), repeats, sortedCounts(r.sp.RequestCounts()))
		if repeats != 0 {
			t.Errorf("%d repeated saves, want 0", repeats)
		}
	})
}

func sortedCounts(m map[string]map[int]int) string {
	var parts []string
	for ep, byStatus := range m {
		for st, n := range byStatus {
			parts = append(parts, fmt.Sprintf("%s/%d:%d", ep, st, n))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// TestSchedulerTakeover runs three instances on PostgreSQL: exactly one
// schedules (its /metrics says dropday_scheduler_leader 1); killed with
// SIGKILL, another takes over within a minute, and releases a link that
// comes due after the kill.
func TestSchedulerTakeover(t *testing.T) {
	onPostgres(t, func(t *testing.T, db *bun.DB, url string) {
		ctx := context.Background()
		r := newReleaseDayN(t, db, url, 0)
		c := newCluster(t, r.env, 3)
		leaders := func(procs []*proc.Process) []int {
			var out []int
			for i, p := range procs {
				if sample(scrape(t, p), "dropday_scheduler_leader") == 1 {
					out = append(out, i)
				}
			}
			return out
		}
		var leader int
		waitFor(t, "one scheduling instance", time.Now().Add(30*time.Second), 100*time.Millisecond, c.procs, func() (bool, string, error) {
			l := leaders(c.procs)
			if len(l) == 1 {
				leader = l[0]
			}
			return len(l) == 1, fmt.Sprintf("leaders %v", l), nil
		})
		c.procs[leader].Kill()
		killed := time.Now()
		survivors := append(append([]*proc.Process(nil), c.procs[:leader]...), c.procs[leader+1:]...)

		// A link that comes due after the kill: only a scheduler releases it.
		keys, err := vault.Parse(r.env["DROPDAY_MASTER_KEYS"])
		if err != nil {
			t.Fatal(err)
		}
		l, err := seed.Link(ctx, db, "takeover", time.Now(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		fans := seed.Fans(20, r.sp.Grant)
		if err := seed.Presaves(ctx, db, keys, l, fans, time.Now()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a surviving instance scheduling", killed.Add(time.Minute), 100*time.Millisecond, survivors, func() (bool, string, error) {
			l := leaders(survivors)
			return len(l) == 1, fmt.Sprintf("leaders among survivors %v", l), nil
		})
		tookOver := time.Since(killed)
		waitFor(t, "the new link released and delivered", killed.Add(time.Minute), 100*time.Millisecond, survivors, func() (bool, string, error) {
			n, err := db.NewSelect().Model((*models.Presave)(nil)).Where("link_id = ?", l.ID).
				Where("state = ?", models.PresaveDelivered).Count(ctx)
			return int(n) == len(fans), fmt.Sprintf("%d of %d delivered", n, len(fans)), err
		})
		t.Logf("leader %c killed; a survivor scheduled after %s; the link due after the kill was delivered %s after it",
			'A'+leader, tookOver.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
	})
}

// TestMismatchedKeysRefused: an instance whose DROPDAY_MASTER_KEYS differ
// from the other instances' would fail every pre-save it touched (it cannot
// decrypt them); it must refuse to start instead, naming the variable.
func TestMismatchedKeysRefused(t *testing.T) {
	onPostgres(t, func(t *testing.T, db *bun.DB, url string) {
		r := newReleaseDayN(t, db, url, 0)
		newCluster(t, r.env, 1)
		other, err := seed.MasterKeys()
		if err != nil {
			t.Fatal(err)
		}
		env := make(map[string]string, len(r.env))
		for k, v := range r.env {
			env[k] = v
		}
		env["DROPDAY_MASTER_KEYS"] = other
		env["DROPDAY_DATA_DIR"] = t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p, err := proc.Start(ctx, bin, env)
		if err == nil {
			p.Kill()
			t.Fatal("an instance with other master keys started")
		}
		if !strings.Contains(err.Error(), "DROPDAY_MASTER_KEYS does not match") {
			t.Errorf("refusal does not name the variable: %v", err)
		}
	})
}
