package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// HandlerFunc runs one job. What it returns decides the job's next state:
// nil completes it; an error wrapping Snooze(d) snoozes it for d; an error
// wrapping Cancel(err) cancels it; any other error retries it with backoff
// (or discards it once its attempts are used up). A panic counts as an error.
//
// The context is not cancelled when the runner is asked to stop; it ends at
// the job's timeout, or when the runner's shutdown grace period runs out.
type HandlerFunc func(ctx context.Context, job Job) error

type snoozeError struct{ d time.Duration }

func (e *snoozeError) Error() string { return fmt.Sprintf("jobs: snooze for %s", e.d) }

// Snooze returns the error a handler gives back (possibly wrapped) to put its
// job back for d without using an attempt, for example on a 429 with
// Retry-After.
func Snooze(d time.Duration) error { return &snoozeError{d: d} }

type stoppingKey struct{}

// Stopping returns a channel closed once the runner running this handler has
// been asked to stop (nil, never closed, outside a runner). A handler that
// loops should yield at its next checkpoint (return Snooze(0)), so a
// shutdown waits for one step, not the whole loop.
func Stopping(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(stoppingKey{}).(<-chan struct{})
	return ch
}

type cancelError struct{ err error }

func (e *cancelError) Error() string { return e.err.Error() }
func (e *cancelError) Unwrap() error { return e.err }

// Cancel wraps err, a permanent failure, so that a handler returning it (or
// an error wrapping it) cancels its job instead of retrying; err becomes the
// job's last_error.
func Cancel(err error) error {
	if err == nil {
		err = errors.New("cancelled")
	}
	return &cancelError{err: err}
}

// Runner defaults.
const (
	DefaultConcurrency    = 10
	DefaultPollInterval   = time.Second
	DefaultRescueInterval = time.Minute
	DefaultShutdownGrace  = 30 * time.Second
	DefaultClaimCooldown  = 10 * time.Millisecond
)

// settleTimeout bounds the update that records a job's outcome.
const settleTimeout = 30 * time.Second

// Runner runs jobs from a Queue: it claims batches sized to its free slots
// and runs each job's handler in its own goroutine. Several runners, in one
// process or many, may share a queue. Call Run once at a time per Runner.
type Runner struct {
	Queue *Queue
	// Handlers maps a job kind to its handler; the runner claims only
	// these kinds.
	Handlers map[string]HandlerFunc
	// Concurrency is the number of jobs run at once; zero means
	// DefaultConcurrency.
	Concurrency int
	// PollInterval is how often the runner looks for due jobs when it has
	// nothing to do and nobody calls Notify; zero means DefaultPollInterval.
	PollInterval time.Duration
	// ClaimCooldown is the least time between two claims made to refill
	// slots freed while other jobs still run (a poll, a Notify, or all
	// slots free claims at once); zero means DefaultClaimCooldown. Longer
	// batches more jobs per claim statement; shorter leaves freed slots
	// idle for less time.
	ClaimCooldown time.Duration
	// RescueInterval is how often the runner calls Queue.Rescue; zero means
	// DefaultRescueInterval, negative never.
	RescueInterval time.Duration
	// JobTimeout bounds one handler call; zero means 90% of the queue's
	// lease, so a handler is stopped before its lease (which started at
	// the claim, a moment earlier) can expire and the job be rescued.
	JobTimeout time.Duration
	// ShutdownGrace is how long Run waits, once asked to stop, for jobs in
	// flight before it cancels their contexts; zero means
	// DefaultShutdownGrace.
	ShutdownGrace time.Duration
	Log           *slog.Logger
	// Observe, when set, is told each job's outcome once it is recorded
	// (completed, retryable, discarded, cancelled, snoozed, released, or lost
	// when the lease was gone) and how long its handler ran (took; zero for
	// an outcome recorded in a batch after the handler's own report).
	Observe func(kind, outcome string, took time.Duration)

	once sync.Once
	wake chan struct{}
}

func (r *Runner) init() { r.once.Do(func() { r.wake = make(chan struct{}, 1) }) }

// Notify wakes the runner to look for jobs now rather than at its next poll;
// call it after committing an enqueue. It never blocks.
func (r *Runner) Notify() {
	r.init()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func orDefault[T ~int | ~int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Run claims and runs jobs until ctx is cancelled. Then it stops claiming and
// waits for the jobs in flight to finish and be recorded; jobs not yet
// claimed stay queued. If handlers are still running after ShutdownGrace,
// their contexts are cancelled; a job that then fails is put back without
// using an attempt, since the stop, not the job, cut it short. Run returns
// nil after a clean stop.
func (r *Runner) Run(ctx context.Context) error {
	if r.Queue == nil || r.Queue.DB == nil {
		return errors.New("jobs: runner without a queue")
	}
	if len(r.Handlers) == 0 {
		return errors.New("jobs: runner without handlers")
	}
	r.init()
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	kinds := make([]string, 0, len(r.Handlers))
	for k := range r.Handlers {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	conc := orDefault(r.Concurrency, DefaultConcurrency)
	cooldown := orDefault(r.ClaimCooldown, DefaultClaimCooldown)

	// Handlers get a context that outlives ctx, cancelled only when the
	// grace period is over.
	hardCtx, hardCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hardCancel()
	// A long handler (one that loops over batches) may still want to stop
	// at its next checkpoint when the runner is asked to: Stopping tells it.
	hardCtx = context.WithValue(hardCtx, stoppingKey{}, ctx.Done())
	done := make(chan struct{}, conc) // never blocks a worker, even after Run returns
	inflight := 0
	// Successes are recorded in batches by one completer, which signals
	// done for them once they are; a job holds its slot until then.
	c := &completer{q: r.Queue, log: log, observe: r.Observe, in: make(chan Job, conc), done: done, stop: make(chan struct{}), exited: make(chan struct{})}
	go c.run()
	var workers sync.WaitGroup
	abandoned := false
	defer func() {
		// The completer outlives every handler, even one abandoned
		// after the grace period, so no success goes unrecorded.
		stop := func() {
			workers.Wait()
			c.shutdown()
		}
		if abandoned {
			go stop()
		} else {
			stop()
		}
	}()

	poll := time.NewTicker(orDefault(r.PollInterval, DefaultPollInterval))
	defer poll.Stop()
	var rescueC <-chan time.Time
	if r.RescueInterval >= 0 {
		rescue := time.NewTicker(orDefault(r.RescueInterval, DefaultRescueInterval))
		defer rescue.Stop()
		rescueC = rescue.C
		r.rescue(ctx, log)
	}

	// look: a poll, a Notify or the start asks for a claim now. more: the
	// last claim filled every free slot, so the queue likely has more, and
	// slots that free up are refilled: at once when nothing is running,
	// else once the cooldown since the last claim is over, so a busy runner
	// claims in batches rather than one statement per job.
	look, more := true, false
	var lastClaim time.Time
	refill := time.NewTimer(time.Hour)
	refill.Stop()
	refillArmed := false
	for ctx.Err() == nil {
		free := conc - inflight
		if free > 0 && (look || more) {
			if wait := cooldown - time.Since(lastClaim); !look && inflight > 0 && wait > 0 {
				if !refillArmed {
					refill.Reset(wait)
					refillArmed = true
				}
			} else {
				look = false
				lastClaim = time.Now()
				// Claim on a context the stop cannot cut: a claim
				// cancelled after its commit would strand its jobs
				// until rescued.
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
				jobs, err := r.Queue.Claim(cctx, kinds, free)
				cancel()
				if err != nil {
					log.Error("claiming jobs", "err", err)
				}
				more = len(jobs) == free
				for _, j := range jobs {
					inflight++
					workers.Add(1)
					go func() {
						defer workers.Done()
						r.work(hardCtx, log, j, c)
					}()
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-poll.C:
			look = true
		case <-r.wake:
			look = true
		case <-done:
			inflight--
		case <-refill.C:
			refillArmed = false
		case <-rescueC:
			r.rescue(ctx, log)
		}
	}
	refill.Stop()

	if inflight == 0 {
		return nil
	}
	log.Info("stopping: waiting for jobs in flight", "jobs", inflight)
	grace := time.NewTimer(orDefault(r.ShutdownGrace, DefaultShutdownGrace))
	defer grace.Stop()
	cancelled := false
	for inflight > 0 {
		select {
		case <-done:
			inflight--
		case <-grace.C:
			if cancelled {
				// Handlers that ignore their context are left behind:
				// their jobs stay running until rescued.
				abandoned = true
				return fmt.Errorf("jobs: stopped with %d jobs still running", inflight)
			}
			log.Warn("stopping: grace period over, cancelling jobs in flight", "jobs", inflight)
			cancelled = true
			hardCancel()
			grace.Reset(settleTimeout)
		}
	}
	return nil
}

func (r *Runner) rescue(ctx context.Context, log *slog.Logger) {
	n, err := r.Queue.Rescue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("rescuing jobs", "err", err)
		}
		return
	}
	if n > 0 {
		log.Warn("rescued jobs whose lease expired", "jobs", n)
	}
}

// work runs one job and records its outcome: a success through the
// completer, anything else here.
func (r *Runner) work(hardCtx context.Context, log *slog.Logger, job Job, c *completer) {
	handedOff := false
	defer func() {
		if !handedOff {
			c.done <- struct{}{}
		}
	}()
	log = log.With("job", job.ID, "kind", job.Kind, "attempt", job.Attempt)

	timeout := r.JobTimeout
	if timeout <= 0 {
		timeout = r.Queue.lease() / 10 * 9
	}
	jctx, cancel := context.WithTimeout(hardCtx, timeout)
	began := time.Now()
	herr := call(jctx, r.Handlers[job.Kind], job)
	took := time.Since(began)
	cancel()
	if herr == nil {
		if r.Observe != nil {
			r.Observe(job.Kind, "", took) // the duration now; the outcome once recorded
		}
		c.in <- job // never blocks for long: room for every slot
		handedOff = true
		return
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(hardCtx), settleTimeout)
	defer cancel()
	var (
		err     error
		snooze  *snoozeError
		cancelE *cancelError
		outcome string
	)
	switch {
	case errors.As(herr, &snooze):
		outcome, err = "snoozed", r.Queue.Snooze(sctx, job, snooze.d)
	case errors.As(herr, &cancelE):
		outcome, err = StateCancelled, r.Queue.Cancel(sctx, job, herr)
	case hardCtx.Err() != nil:
		// Cut short by the shutdown: release it, attempt not used.
		outcome, err = "released", r.Queue.Snooze(sctx, job, 0)
	case job.Attempt >= job.MaxAttempts:
		outcome, err = StateDiscarded, r.Queue.Retry(sctx, job, herr)
	default:
		outcome, err = StateRetryable, r.Queue.Retry(sctx, job, herr)
	}
	if r.Observe != nil {
		if errors.Is(err, ErrLost) {
			r.Observe(job.Kind, "lost", took)
		} else if err == nil {
			r.Observe(job.Kind, outcome, took)
		}
	}
	switch {
	case errors.Is(err, ErrLost):
		log.Warn("job finished after its lease was lost; outcome dropped", "outcome", outcome, "handler_err", herr)
	case err != nil:
		log.Error("recording job outcome", "outcome", outcome, "err", err, "handler_err", herr)
	default:
		log.Info("job not completed", "outcome", outcome, "err", herr)
	}
}

// call runs h, turning a panic into an error.
func call(ctx context.Context, h HandlerFunc, job Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("jobs: handler panicked: %v", p)
		}
	}()
	return h(ctx, job)
}

// completerBatch bounds the jobs one CompleteMany statement records.
const completerBatch = 500

// completer records successful jobs in batches: it takes what has queued up
// while its previous statement ran, so under load one commit covers many jobs
// and when idle a job is recorded at once.
type completer struct {
	q       *Queue
	log     *slog.Logger
	observe func(kind, outcome string, took time.Duration)
	in      chan Job
	done    chan<- struct{}
	stop    chan struct{}
	exited  chan struct{}
}

func (c *completer) run() {
	defer close(c.exited)
	for {
		var batch []Job
		select {
		case j := <-c.in:
			batch = append(batch, j)
		case <-c.stop: // every worker has handed over
			return
		}
	more:
		for len(batch) < completerBatch {
			select {
			case j := <-c.in:
				batch = append(batch, j)
			default:
				break more
			}
		}
		c.flush(batch)
	}
}

func (c *completer) flush(batch []Job) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	lost, err := c.q.CompleteMany(ctx, batch)
	cancel()
	switch {
	case err != nil:
		// The jobs stay running until their lease expires; then they are
		// rescued and run again.
		c.log.Error("recording completed jobs", "jobs", len(batch), "err", err)
	case len(lost) > 0:
		c.log.Warn("jobs finished after their lease was lost; outcome dropped", "jobs", lost)
	default:
		c.log.Debug("jobs completed", "jobs", len(batch))
	}
	if c.observe != nil && err == nil {
		lostSet := make(map[int64]bool, len(lost))
		for _, id := range lost {
			lostSet[id] = true
		}
		for _, j := range batch {
			outcome := StateCompleted
			if lostSet[j.ID] {
				outcome = "lost"
			}
			c.observe(j.Kind, outcome, 0)
		}
	}
	for range batch {
		c.done <- struct{}{}
	}
}

func (c *completer) shutdown() {
	close(c.stop)
	<-c.exited
}
