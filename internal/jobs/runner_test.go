package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/testdb"
)

// start runs r until the returned stop is called; stop returns Run's error.
func start(t *testing.T, r *jobs.Runner) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- r.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-res:
			case <-time.After(time.Minute):
				err = errors.New("Run did not return within a minute of its stop")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// recv waits for a value the runner's handlers send, failing after a while
// rather than hanging the suite.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestRunnerStopFinishesInFlightAndLeavesTheRest(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		q, _ := newQueue(db)
		var ids []int64
		for i := range 3 {
			ids = append(ids, enqueue(t, db, t0.Add(time.Duration(i)*time.Second), "slow", nil, jobs.Opts{}))
		}
		started := make(chan int64, 3)
		release := make(chan struct{})
		var ctxErr atomic.Value
		r := &jobs.Runner{Queue: q, Concurrency: 1, Log: testdb.Logger(), Handlers: map[string]jobs.HandlerFunc{
			"slow": func(ctx context.Context, j jobs.Job) error {
				started <- j.ID
				<-release
				ctxErr.Store(fmt.Sprint(ctx.Err()))
				return nil
			},
		}}
		stop := start(t, r)
		if got := recv(t, started, "the first job"); got != ids[0] {
			t.Fatalf("started %d, want %d", got, ids[0])
		}
		stopped := make(chan error, 1)
		go func() { stopped <- stop() }()
		// Run is stopping but must wait for the job in flight.
		select {
		case err := <-stopped:
			t.Fatalf("Run returned (%v) with a job in flight", err)
		default:
		}
		close(release)
		if err := recv(t, stopped, "Run to return"); err != nil {
			t.Fatal(err)
		}
		if got := ctxErr.Load(); got != "<nil>" {
			t.Fatalf("the handler's context was cancelled by the stop: %v", got)
		}
		if len(started) != 0 {
			t.Fatalf("a job started after the stop")
		}
		if j := get(t, q, ids[0]); j.State != jobs.StateCompleted {
			t.Fatalf("in-flight job = %+v", j)
		}
		for _, id := range ids[1:] {
			if j := get(t, q, id); j.State != jobs.StateAvailable || j.Attempt != 0 {
				t.Fatalf("queued job = %+v", j)
			}
		}
	})
}

func TestRunnerGraceOverReleasesTheJob(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		q, _ := newQueue(db)
		id := enqueue(t, db, t0, "stuck", nil, jobs.Opts{MaxAttempts: 1})
		started := make(chan struct{}, 1)
		r := &jobs.Runner{Queue: q, ShutdownGrace: time.Millisecond, Log: testdb.Logger(), Handlers: map[string]jobs.HandlerFunc{
			"stuck": func(ctx context.Context, j jobs.Job) error {
				started <- struct{}{}
				<-ctx.Done() // only the end of the grace period ends it
				return ctx.Err()
			},
		}}
		stop := start(t, r)
		recv(t, started, "the job")
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		// Back in the queue, its only attempt not used.
		if j := get(t, q, id); j.State != jobs.StateAvailable || j.Attempt != 0 {
			t.Fatalf("job cut short by the stop = %+v", j)
		}
	})
}

func TestRunnerMapsHandlerErrors(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		q, _ := newQueue(db)
		called := make(chan string, 10)
		handler := func(err error) jobs.HandlerFunc {
			return func(ctx context.Context, j jobs.Job) error {
				called <- j.Kind
				return err
			}
		}
		r := &jobs.Runner{Queue: q, Log: testdb.Logger(), Handlers: map[string]jobs.HandlerFunc{
			"ok":     handler(nil),
			"fail":   handler(errors.New("platform said 500")),
			"last":   handler(errors.New("platform said 500 again")),
			"snooze": handler(fmt.Errorf("spotify: 429: %w", jobs.Snooze(time.Hour))),
			"cancel": handler(fmt.Errorf("deliver: %w", jobs.Cancel(errors.New("refresh token revoked")))),
			"panic": func(ctx context.Context, j jobs.Job) error {
				called <- j.Kind
				panic("nil map")
			},
		}}
		var obsMu sync.Mutex
		observed := map[string]string{} // kind → outcome, as Observe reported it
		r.Observe = func(kind, outcome string, took time.Duration) {
			obsMu.Lock()
			defer obsMu.Unlock()
			if outcome != "" {
				observed[kind] += outcome
			}
		}
		ids := map[string]int64{}
		for kind := range r.Handlers {
			opts := jobs.Opts{}
			if kind == "last" {
				opts.MaxAttempts = 1
			}
			ids[kind] = enqueue(t, db, t0, kind, nil, opts)
		}
		// Not a kind of this runner: never claimed.
		other := enqueue(t, db, t0, "other", nil, jobs.Opts{})
		stop := start(t, r)
		for range len(r.Handlers) {
			recv(t, called, "a handler call")
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		want := map[string]struct {
			state, lastErr string
			attempt        int
			runAt          time.Time
		}{
			"ok":     {jobs.StateCompleted, "", 1, t0},
			"fail":   {jobs.StateRetryable, "platform said 500", 1, time.Time{}},
			"last":   {jobs.StateDiscarded, "platform said 500 again", 1, t0},
			"snooze": {jobs.StateAvailable, "", 0, t0.Add(time.Hour)},
			"cancel": {jobs.StateCancelled, "deliver: refresh token revoked", 1, t0},
			"panic":  {jobs.StateRetryable, "jobs: handler panicked: nil map", 1, time.Time{}},
		}
		for kind, w := range want {
			j := get(t, q, ids[kind])
			if j.State != w.state || j.LastError != w.lastErr || j.Attempt != w.attempt {
				t.Errorf("%s: state=%s attempt=%d last_error=%q, want %s %d %q", kind, j.State, j.Attempt, j.LastError, w.state, w.attempt, w.lastErr)
			}
			if w.runAt.IsZero() {
				if d := j.RunAt.Sub(t0); d < time.Second || d > 1100*time.Millisecond {
					t.Errorf("%s: retry after %s, want 1s plus jitter", kind, d)
				}
			} else if !j.RunAt.Equal(w.runAt) {
				t.Errorf("%s: run_at = %s, want %s", kind, j.RunAt, w.runAt)
			}
		}
		if j := get(t, q, other); j.State != jobs.StateAvailable {
			t.Errorf("a kind without a handler was touched: %+v", j)
		}
		// Observe hears each outcome once, after it is recorded.
		obsMu.Lock()
		defer obsMu.Unlock()
		wantObs := map[string]string{"ok": "completed", "fail": "retryable", "last": "discarded",
			"snooze": "snoozed", "cancel": "cancelled", "panic": "retryable"}
		if fmt.Sprint(observed) != fmt.Sprint(wantObs) {
			t.Errorf("Observe heard %v, want %v", observed, wantObs)
		}
	})
}

func TestRunnerNotify(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		q, _ := newQueue(db)
		done := make(chan int64, 2)
		r := &jobs.Runner{Queue: q, PollInterval: time.Hour, Log: testdb.Logger(), Handlers: map[string]jobs.HandlerFunc{
			"ping": func(ctx context.Context, j jobs.Job) error { done <- j.ID; return nil },
		}}
		first := enqueue(t, db, t0, "ping", nil, jobs.Opts{})
		stop := start(t, r)
		if got := recv(t, done, "the job queued before Run"); got != first {
			t.Fatalf("ran %d, want %d", got, first)
		}
		// The next poll is an hour away: only Notify can wake the runner.
		second := enqueue(t, db, t0, "ping", nil, jobs.Opts{})
		r.Notify()
		if got := recv(t, done, "the notified job"); got != second {
			t.Fatalf("ran %d, want %d", got, second)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

// Two runners on their own connection pools drain a shared backlog; every
// job runs once.
func TestRunnersShareTheQueue(t *testing.T) {
	eachURL(t, func(t *testing.T, db *bun.DB, url string) {
		ctx := context.Background()
		const total = 300
		items := make([]jobs.Item, total)
		for i := range items {
			items[i] = jobs.Item{Kind: "deliver", Payload: delivery{PresaveID: int64(i)}}
		}
		if _, err := jobs.EnqueueMany(ctx, db, t0, items); err != nil {
			t.Fatal(err)
		}
		var (
			mu    sync.Mutex
			calls = map[int64]int{}
			all   = make(chan struct{})
		)
		c := newClock()
		var stops []func() error
		for range 2 {
			r := &jobs.Runner{
				Queue:        &jobs.Queue{DB: testdb.OpenRaw(t, url), Now: c.Now},
				Concurrency:  8,
				PollInterval: 5 * time.Millisecond,
				Log:          testdb.Logger(),
				Handlers: map[string]jobs.HandlerFunc{"deliver": func(ctx context.Context, j jobs.Job) error {
					var p delivery
					if err := j.Decode(&p); err != nil {
						return jobs.Cancel(err)
					}
					mu.Lock()
					defer mu.Unlock()
					calls[j.ID]++
					if len(calls) == total && calls[j.ID] == 1 {
						close(all)
					}
					return nil
				}},
			}
			stops = append(stops, start(t, r))
		}
		recv(t, all, "every job to run")
		for _, stop := range stops {
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		}
		for id, n := range calls {
			if n != 1 {
				t.Fatalf("job %d ran %d times", id, n)
			}
		}
		q, _ := newQueue(db)
		counts, err := q.Counts(ctx, "deliver")
		if err != nil || counts[jobs.StateCompleted] != total {
			t.Fatalf("counts = %v, %v", counts, err)
		}
	})
}

// A restart after a kill -9: the dead process's job is rescued once its lease
// has expired and runs again, its lost run counted as an attempt.
func TestRunnerRescuesADeadWorkersJob(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		q, c := newQueue(db)
		id := enqueue(t, db, t0, "deliver", nil, jobs.Opts{})
		claimOne(t, q) // the process that then died
		c.Advance(jobs.DefaultLease + time.Second)
		ran := make(chan int, 1)
		r := &jobs.Runner{Queue: q, Log: testdb.Logger(), Handlers: map[string]jobs.HandlerFunc{
			"deliver": func(ctx context.Context, j jobs.Job) error { ran <- j.Attempt; return nil },
		}}
		stop := start(t, r)
		if attempt := recv(t, ran, "the rescued job"); attempt != 2 {
			t.Fatalf("rescued job ran as attempt %d, want 2", attempt)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if j := get(t, q, id); j.State != jobs.StateCompleted || j.Attempt != 2 || j.LastError != jobs.RescuedError {
			t.Fatalf("job = %+v", j)
		}
	})
}

// A handler that overruns JobTimeout is cut off and its job retried.
func TestRunnerJobTimeout(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		q, _ := newQueue(db)
		id := enqueue(t, db, t0, "hang", nil, jobs.Opts{})
		ran := make(chan struct{}, 1)
		r := &jobs.Runner{Queue: q, JobTimeout: time.Millisecond, Log: testdb.Logger(), Handlers: map[string]jobs.HandlerFunc{
			"hang": func(ctx context.Context, j jobs.Job) error {
				<-ctx.Done()
				ran <- struct{}{}
				return ctx.Err()
			},
		}}
		stop := start(t, r)
		recv(t, ran, "the handler to time out")
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if j := get(t, q, id); j.State != jobs.StateRetryable || j.Attempt != 1 || j.LastError != context.DeadlineExceeded.Error() {
			t.Fatalf("job = %+v", j)
		}
	})
}

// A looping handler learns that the runner was asked to stop, and yields.
func TestRunnerTellsHandlersItIsStopping(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		q, _ := newQueue(db)
		enqueue(t, db, t0, "loop", nil, jobs.Opts{})
		started := make(chan int64, 1)
		var sawStop atomic.Bool
		r := &jobs.Runner{Queue: q, Log: testdb.Logger(), Handlers: map[string]jobs.HandlerFunc{
			"loop": func(ctx context.Context, j jobs.Job) error {
				started <- j.ID
				select {
				case <-jobs.Stopping(ctx):
					sawStop.Store(true)
					return jobs.Snooze(0)
				case <-time.After(10 * time.Second):
					return nil
				}
			}}}
		if jobs.Stopping(context.Background()) != nil {
			t.Error("Stopping outside a runner is not nil")
		}
		stop := start(t, r)
		recv(t, started, "the loop")
		began := time.Now()
		stop()
		if !sawStop.Load() || time.Since(began) > 5*time.Second {
			t.Fatalf("handler saw the stop: %v, after %s", sawStop.Load(), time.Since(began))
		}
		counts, err := q.Counts(context.Background())
		if err != nil || counts[jobs.StateAvailable] != 1 {
			t.Errorf("the yielded job should wait for the next run: %v %v", counts, err)
		}
	})
}
