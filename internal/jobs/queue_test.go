package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
)

func TestClaimOrderKindsAndRunAt(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		q, c := newQueue(db)
		later := enqueue(t, db, t0, "deliver", nil, jobs.Opts{RunAt: t0.Add(time.Minute)})
		second := enqueue(t, db, t0, "deliver", nil, jobs.Opts{RunAt: t0.Add(-time.Second)})
		first := enqueue(t, db, t0, "deliver", nil, jobs.Opts{RunAt: t0.Add(-time.Hour)})
		mail := enqueue(t, db, t0, "mail", nil, jobs.Opts{})

		// Sub-second times order correctly too (SQLite compares the text
		// bun writes, whose fraction has no trailing zeros).
		third := enqueue(t, db, t0, "deliver", nil, jobs.Opts{RunAt: t0.Add(-750 * time.Millisecond)})
		fourth := enqueue(t, db, t0, "deliver", nil, jobs.Opts{RunAt: t0.Add(-500 * time.Microsecond)})
		// One at a time, so the database's order decides, then as a batch.
		for _, want := range []int64{first, second, third} {
			got, err := q.Claim(ctx, []string{"deliver"}, 1)
			if err != nil || len(got) != 1 || got[0].ID != want {
				t.Fatalf("claim 1 = %+v, %v; want job %d", got, err, want)
			}
		}
		got, err := q.Claim(ctx, []string{"deliver"}, 10)
		if err != nil || len(got) != 1 || got[0].ID != fourth {
			t.Fatalf("claim = %+v, %v; want job %d", got, err, fourth)
		}
		for _, j := range got {
			if j.State != jobs.StateRunning || j.Attempt != 1 || !j.LockedUntil.Equal(t0.Add(jobs.DefaultLease)) {
				t.Fatalf("claimed job = %+v", j)
			}
		}
		if j := claimOne(t, q, "mail", "other"); j.ID != mail {
			t.Fatalf("claimed %d, want the mail job %d", j.ID, mail)
		}
		claimNone(t, q, "before run_at")
		c.Advance(time.Minute)
		if j := claimOne(t, q); j.ID != later {
			t.Fatalf("claimed %d, want %d", j.ID, later)
		}
		if got, err := q.Claim(ctx, nil, 0); err != nil || len(got) != 0 {
			t.Fatalf("claim 0 = %v, %v", got, err)
		}
		if _, err := q.Get(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get unknown: %v", err)
		}
	})
}

// Four workers, each with its own connection pool, share 1,000 jobs: each job
// runs exactly once and is completed exactly once.
func TestConcurrentClaimersCompleteEachJobOnce(t *testing.T) {
	eachURL(t, func(t *testing.T, db *bun.DB, url string) {
		ctx := context.Background()
		const total, workers = 1000, 4
		items := make([]jobs.Item, total)
		for i := range items {
			items[i] = jobs.Item{Kind: "deliver", Payload: delivery{PresaveID: int64(i)}, Opts: jobs.Opts{UniqueKey: fmt.Sprintf("deliver:presave:%d", i)}}
		}
		if n, err := jobs.EnqueueMany(ctx, db, t0, items); err != nil || n != total {
			t.Fatalf("enqueue: %d, %v", n, err)
		}
		var (
			mu    sync.Mutex
			calls = map[int64]int{}
			per   [workers]int
			wg    sync.WaitGroup
			errs  = make(chan error, workers)
		)
		c := newClock()
		for w := range workers {
			q := &jobs.Queue{DB: testdb.OpenRaw(t, url), Now: c.Now, Instance: fmt.Sprintf("worker-%d", w)}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := q.Claim(ctx, []string{"deliver"}, 7)
					if err != nil {
						errs <- err
						return
					}
					if len(got) == 0 {
						return
					}
					for _, j := range got {
						mu.Lock()
						calls[j.ID]++
						per[w]++
						mu.Unlock()
						if err := q.Complete(ctx, j); err != nil {
							errs <- err
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(calls) != total {
			t.Fatalf("%d distinct jobs ran, want %d", len(calls), total)
		}
		for id, n := range calls {
			if n != 1 {
				t.Fatalf("job %d ran %d times", id, n)
			}
		}
		q, _ := newQueue(db)
		counts, err := q.Counts(ctx)
		if err != nil || counts[jobs.StateCompleted] != total || counts[jobs.StateAvailable]+counts[jobs.StateRunning] != 0 {
			t.Fatalf("counts = %v, %v", counts, err)
		}
		// claimed_by records who finished each job: per worker, the count it ran.
		var byInstance []struct {
			ClaimedBy string `bun:"claimed_by"`
			N         int    `bun:"n"`
		}
		if err := db.NewSelect().Table("jobs").ColumnExpr("claimed_by, count(*) AS n").Group("claimed_by").Scan(ctx, &byInstance); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, r := range byInstance {
			got[r.ClaimedBy] = r.N
		}
		for w := range workers {
			if name := fmt.Sprintf("worker-%d", w); got[name] != per[w] {
				t.Errorf("claimed_by %s on %d jobs, but it ran %d (all: %v)", name, got[name], per[w], got)
			}
		}
		t.Logf("jobs per worker: %v", per)
	})
}

func TestRetryBacksOffThenDiscards(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		q, c := newQueue(db)
		id := enqueue(t, db, t0, "deliver", nil, jobs.Opts{MaxAttempts: 4})
		for attempt := 1; attempt <= 3; attempt++ {
			j := claimOne(t, q)
			if j.ID != id || j.Attempt != attempt {
				t.Fatalf("claimed %d attempt %d, want %d attempt %d", j.ID, j.Attempt, id, attempt)
			}
			now := c.Now()
			if err := q.Retry(ctx, j, fmt.Errorf("boom %d", attempt)); err != nil {
				t.Fatal(err)
			}
			wantRetry(t, q, id, attempt, now, fmt.Sprintf("boom %d", attempt))
			// Not claimable a moment before run_at, claimable at it.
			c.Set(get(t, q, id).RunAt.Add(-time.Millisecond))
			claimNone(t, q, fmt.Sprintf("attempt %d before its backoff", attempt))
			c.Advance(time.Millisecond)
		}
		j := claimOne(t, q)
		if j.Attempt != 4 {
			t.Fatalf("attempt = %d", j.Attempt)
		}
		if err := q.Retry(ctx, j, errors.New("boom 4")); err != nil {
			t.Fatal(err)
		}
		got := get(t, q, id)
		if got.State != jobs.StateDiscarded || got.LastError != "boom 4" || !got.FinalizedAt.Equal(c.Now()) || got.Attempt != 4 {
			t.Fatalf("after the last attempt: %+v", got)
		}
		c.Advance(24 * time.Hour)
		claimNone(t, q, "a discarded job")
	})
}

// wantRetry checks a job is retryable with run_at = now + attempt⁴ s plus up
// to 10% jitter.
func wantRetry(t *testing.T, q *jobs.Queue, id int64, attempt int, now time.Time, lastErr string) {
	t.Helper()
	j := get(t, q, id)
	base := time.Duration(attempt*attempt*attempt*attempt) * time.Second
	if j.State != jobs.StateRetryable || j.LastError != lastErr || j.Attempt != attempt || !j.LockedUntil.IsZero() {
		t.Fatalf("after failed attempt %d: %+v", attempt, j)
	}
	if d := j.RunAt.Sub(now); d < base || d > base+base/10 {
		t.Fatalf("attempt %d backs off %s, want %s to %s", attempt, d, base, base+base/10)
	}
}

func TestDefaultBackoff(t *testing.T) {
	prev := time.Duration(0)
	for a := 1; a <= 20; a++ {
		base := min(time.Duration(a*a*a*a)*time.Second, jobs.MaxBackoff)
		for range 50 {
			d := jobs.DefaultBackoff(a)
			if d < base || d > min(base+base/10, jobs.MaxBackoff) {
				t.Fatalf("attempt %d: %s, want %s plus up to 10%%", a, d, base)
			}
			if d < prev {
				t.Fatalf("attempt %d waits less (%s) than attempt %d's base", a, d, a-1)
			}
		}
		prev = base
	}
	if d := jobs.DefaultBackoff(1 << 40); d != jobs.MaxBackoff {
		t.Fatalf("huge attempt: %s", d)
	}
}

func TestSnoozeUsesNoAttempt(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		q, c := newQueue(db)
		id := enqueue(t, db, t0, "deliver", nil, jobs.Opts{MaxAttempts: 1})
		for range 3 { // more snoozes than max attempts: none is used
			j := claimOne(t, q)
			if j.Attempt != 1 {
				t.Fatalf("attempt = %d, want 1", j.Attempt)
			}
			if err := q.Snooze(ctx, j, 10*time.Minute); err != nil {
				t.Fatal(err)
			}
			if got := get(t, q, id); got.State != jobs.StateAvailable || got.Attempt != 0 || !got.RunAt.Equal(c.Now().Add(10*time.Minute)) {
				t.Fatalf("snoozed job = %+v", got)
			}
			wantLost(t, "complete after snooze", q.Complete(ctx, j))
			c.Advance(10*time.Minute - time.Millisecond)
			claimNone(t, q, "while snoozed")
			c.Advance(time.Millisecond)
		}
		j := claimOne(t, q)
		if err := q.Complete(ctx, j); err != nil {
			t.Fatal(err)
		}
		if got := get(t, q, id); got.State != jobs.StateCompleted || got.Attempt != 1 {
			t.Fatalf("completed job = %+v", got)
		}
	})
}

func TestCancelIsFinal(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		q, c := newQueue(db)
		id := enqueue(t, db, t0, "deliver", nil, jobs.Opts{})
		j := claimOne(t, q)
		if err := q.Cancel(ctx, j, errors.New("token revoked")); err != nil {
			t.Fatal(err)
		}
		got := get(t, q, id)
		if got.State != jobs.StateCancelled || got.LastError != "token revoked" || !got.FinalizedAt.Equal(t0) || !got.Final() {
			t.Fatalf("cancelled job = %+v", got)
		}
		wantLost(t, "cancel twice", q.Cancel(ctx, j, errors.New("again")))
		wantLost(t, "retry a cancelled job", q.Retry(ctx, j, errors.New("again")))
		c.Advance(365 * 24 * time.Hour)
		if n, err := q.Rescue(ctx); n != 0 || err != nil {
			t.Fatalf("rescue = %d, %v", n, err)
		}
		claimNone(t, q, "a cancelled job")
	})
}

// A worker whose lease expires loses the job: it is rescued, claimed again,
// and the first worker's late outcome is refused.
func TestRescueAndZombieWorker(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		c := newClock()
		zombie := &jobs.Queue{DB: db, Now: c.Now, Lease: time.Minute}
		healthy := &jobs.Queue{DB: db, Now: c.Now, Lease: time.Minute}
		id := enqueue(t, db, t0, "deliver", nil, jobs.Opts{})
		z := claimOne(t, zombie)

		c.Advance(time.Minute) // the lease ends now: not yet expired
		if n, err := healthy.Rescue(ctx); n != 0 || err != nil {
			t.Fatalf("rescue inside the lease = %d, %v", n, err)
		}
		claimNone(t, healthy, "a running job")
		c.Advance(time.Millisecond)
		if n, err := healthy.Rescue(ctx); n != 1 || err != nil {
			t.Fatalf("rescue = %d, %v", n, err)
		}
		if got := get(t, healthy, id); got.State != jobs.StateRetryable || got.LastError != jobs.RescuedError ||
			got.Attempt != 1 || !got.RunAt.Equal(c.Now()) || !got.LockedUntil.IsZero() {
			t.Fatalf("rescued job = %+v", got)
		}
		wantLost(t, "zombie completes a rescued job", zombie.Complete(ctx, z))

		h := claimOne(t, healthy)
		if h.ID != id || h.Attempt != 2 {
			t.Fatalf("re-claimed %d attempt %d", h.ID, h.Attempt)
		}
		wantLost(t, "zombie completes", zombie.Complete(ctx, z))
		wantLost(t, "zombie retries", zombie.Retry(ctx, z, errors.New("late")))
		wantLost(t, "zombie snoozes", zombie.Snooze(ctx, z, time.Second))
		wantLost(t, "zombie cancels", zombie.Cancel(ctx, z, errors.New("late")))
		if err := healthy.Complete(ctx, h); err != nil {
			t.Fatal(err)
		}
		wantLost(t, "complete twice", healthy.Complete(ctx, h))
		if got := get(t, healthy, id); got.State != jobs.StateCompleted || got.Attempt != 2 || !got.FinalizedAt.Equal(c.Now()) {
			t.Fatalf("completed job = %+v", got)
		}
		counts, err := healthy.Counts(ctx)
		if err != nil || counts[jobs.StateCompleted] != 1 || counts[jobs.StateRunning]+counts[jobs.StateRetryable] != 0 {
			t.Fatalf("counts = %v, %v", counts, err)
		}

		// A rescued job with no attempts left is discarded.
		last := enqueue(t, db, c.Now(), "deliver", nil, jobs.Opts{MaxAttempts: 1})
		claimOne(t, healthy)
		c.Advance(time.Hour)
		if n, err := healthy.Rescue(ctx); n != 1 || err != nil {
			t.Fatalf("rescue = %d, %v", n, err)
		}
		if got := get(t, healthy, last); got.State != jobs.StateDiscarded || got.LastError != jobs.RescuedError || got.FinalizedAt.IsZero() {
			t.Fatalf("rescued last attempt = %+v", got)
		}
	})
}

func TestCountsAndHousekeeping(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		q, c := newQueue(db)
		for range 3 {
			enqueue(t, db, t0, "deliver", nil, jobs.Opts{})
		}
		enqueue(t, db, t0, "mail", nil, jobs.Opts{})
		enqueue(t, db, t0, "mail", nil, jobs.Opts{RunAt: t0.Add(time.Hour)})
		got, err := q.Claim(ctx, []string{"deliver"}, 3)
		if err != nil || len(got) != 3 {
			t.Fatalf("claim: %d, %v", len(got), err)
		}
		if err := q.Complete(ctx, got[0]); err != nil {
			t.Fatal(err)
		}
		if err := q.Cancel(ctx, got[1], errors.New("revoked")); err != nil {
			t.Fatal(err)
		}
		m := claimOne(t, q, "mail")
		if err := q.Retry(ctx, m, errors.New("smtp down")); err != nil {
			t.Fatal(err)
		}
		counts, err := q.Counts(ctx)
		want := map[string]int{"available": 1, "running": 1, "retryable": 1, "completed": 1, "discarded": 0, "cancelled": 1}
		if err != nil || fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Fatalf("counts = %v, %v; want %v", counts, err, want)
		}
		counts, err = q.Counts(ctx, "deliver")
		want = map[string]int{"available": 0, "running": 1, "retryable": 0, "completed": 1, "discarded": 0, "cancelled": 1}
		if err != nil || fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Fatalf("deliver counts = %v, %v; want %v", counts, err, want)
		}

		c.Advance(time.Second)
		if err := q.Complete(ctx, got[2]); err != nil {
			t.Fatal(err)
		}
		// Only the two jobs finalized at t0 are older than t0+1s.
		n, err := q.DeleteFinalizedBefore(ctx, t0.Add(time.Second))
		if err != nil || n != 2 {
			t.Fatalf("delete finalized = %d, %v", n, err)
		}
		counts, _ = q.Counts(ctx)
		want = map[string]int{"available": 1, "running": 0, "retryable": 1, "completed": 1, "discarded": 0, "cancelled": 0}
		if fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Fatalf("counts after housekeeping = %v; want %v", counts, want)
		}
	})
}

func TestCompleteManySkipsLostJobs(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		q, c := newQueue(db)
		q.Lease = time.Minute
		var ids []int64
		for range 5 {
			ids = append(ids, enqueue(t, db, t0, "deliver", nil, jobs.Opts{}))
		}
		got, err := q.Claim(ctx, nil, 5)
		if err != nil || len(got) != 5 {
			t.Fatalf("claim: %d, %v", len(got), err)
		}
		// Job 0 is snoozed; job 2 completed alone; jobs 1, 3 and 4 are
		// rescued and job 1 claimed again: all five old claims are lost.
		if err := q.Snooze(ctx, got[0], time.Hour); err != nil {
			t.Fatal(err)
		}
		c.Advance(2 * time.Minute)
		if err := q.Complete(ctx, got[2]); err != nil { // within its (expired, unrescued) lease: still valid
			t.Fatal(err)
		}
		if n, err := q.Rescue(ctx); n != 3 || err != nil {
			t.Fatalf("rescue = %d, %v", n, err)
		}
		again, err := q.Claim(ctx, nil, 1)
		if err != nil || len(again) != 1 || again[0].ID != ids[1] {
			t.Fatalf("re-claim: %+v, %v", again, err)
		}
		lost, err := q.CompleteMany(ctx, append(got, again[0]))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(lost) != fmt.Sprint([]int64{ids[0], ids[1], ids[2], ids[3], ids[4]}) {
			t.Fatalf("lost = %v", lost)
		}
		if j := get(t, q, ids[1]); j.State != jobs.StateCompleted || j.Attempt != 2 {
			t.Fatalf("re-claimed job = %+v", j)
		}
		if lost, err := q.CompleteMany(ctx, nil); lost != nil || err != nil {
			t.Fatalf("empty batch: %v, %v", lost, err)
		}
	})
}

func TestCancelQueued(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		q, c := newQueue(db)
		queued := enqueue(t, db, t0, "deliver", nil, jobs.Opts{UniqueKey: "deliver:presave:1"})
		enqueue(t, db, t0, "deliver", nil, jobs.Opts{UniqueKey: "deliver:presave:2"})
		got, err := q.Claim(ctx, nil, 1) // presave 1 (same run_at, lower id)
		if err != nil || len(got) != 1 || got[0].ID != queued {
			t.Fatalf("claim = %+v, %v", got, err)
		}
		// A running job is left to its handler.
		if ok, err := jobs.CancelQueued(ctx, db, t0, "deliver:presave:1", "revoked"); ok || err != nil {
			t.Fatalf("cancel running = %v, %v", ok, err)
		}
		// A queued one is cancelled, in the caller's transaction.
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			ok, err := jobs.CancelQueued(ctx, tx, t0, "deliver:presave:2", "revoked")
			if !ok && err == nil {
				err = errors.New("not cancelled")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := jobs.CancelQueued(ctx, db, t0, "deliver:presave:2", "again"); ok || err != nil {
			t.Fatalf("cancel twice = %v, %v", ok, err)
		}
		if ok, err := jobs.CancelQueued(ctx, db, t0, "no such key", "x"); ok || err != nil {
			t.Fatalf("cancel unknown = %v, %v", ok, err)
		}
		c.Advance(time.Hour)
		claimNone(t, q, "after cancelling the only queued job")
		counts, err := q.Counts(ctx)
		if err != nil || counts[jobs.StateCancelled] != 1 || counts[jobs.StateRunning] != 1 {
			t.Fatalf("counts = %v, %v", counts, err)
		}
	})
}

func TestLastErrorIsBoundedAndClean(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		q, _ := newQueue(db)
		id := enqueue(t, db, t0, "deliver", nil, jobs.Opts{})
		j := claimOne(t, q)
		long := "bad\x00byte \xff " + strings.Repeat("é", 3000)
		if err := q.Retry(ctx, j, errors.New(long)); err != nil {
			t.Fatal(err)
		}
		got := get(t, q, id).LastError
		if !utf8.ValidString(got) || strings.ContainsRune(got, 0) || len(got) > 2100 || !strings.HasPrefix(got, "bad?byte ? éé") {
			t.Fatalf("last_error = %q… (%d bytes)", got[:min(len(got), 40)], len(got))
		}
	})
}
