package release

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/store"
)

// Scheduler releases due links and does housekeeping. Its gocron jobs only
// enqueue work; the jobs.Runner on every instance does it.
type Scheduler struct {
	DB       *bun.DB
	Queue    *jobs.Queue
	Notifier Notifier
	// Interval between ticks (default 15 s).
	Interval time.Duration
	Now      func() time.Time
	Log      *slog.Logger
	// Elector decides which instance ticks; nil means this one always does.
	Elector gocron.Elector
	// Also runs at every tick after the links are released (the broadcasts
	// that are due, for one), on the elected instance only.
	Also []func(context.Context) error
	// Hourly runs with the housekeeping (the fans' retention rules, for one).
	Hourly []func(context.Context) error
}

// Tick releases every live link whose time has come: it enqueues the link's
// deliveries first and marks it released after, so a crash in between only
// repeats idempotent enqueues at the next tick.
func (s *Scheduler) Tick(ctx context.Context) error {
	now := s.Now()
	for {
		due, err := store.LinksDue(ctx, s.DB, now, 50)
		if err != nil || len(due) == 0 {
			return err
		}
		for _, l := range due {
			n, err := EnqueueDeliveries(ctx, s.DB, l.ID, now)
			if err != nil {
				return err
			}
			if _, err := store.MarkReleased(ctx, s.DB, l.ID, now); err != nil {
				return err
			}
			s.Log.Info("released", "link", l.ID, "slug", l.Slug, "deliveries", n)
			if n > 0 && s.Notifier != nil {
				s.Notifier.Notify()
			}
		}
	}
}

// tickAll releases due links, then runs the other ticks; one failing does
// not keep the others from running.
func (s *Scheduler) tickAll(ctx context.Context) error {
	errs := []error{s.Tick(ctx)}
	for _, f := range s.Also {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}

// Housekeeping removes what nobody needs any more.
func (s *Scheduler) Housekeeping(ctx context.Context) error {
	now := s.Now()
	var errs []error
	if _, err := store.DeleteExpiredSessions(ctx, s.DB, now); err != nil {
		errs = append(errs, err)
	}
	if _, err := store.DeleteExpiredOAuthStates(ctx, s.DB, now); err != nil {
		errs = append(errs, err)
	}
	// Finished jobs stay a month: the presave panel shows outcomes from the pre-saves themselves.
	if _, err := s.Queue.DeleteFinalizedBefore(ctx, now.Add(-30*24*time.Hour)); err != nil {
		errs = append(errs, err)
	}
	for _, f := range s.Hourly {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}

// Run starts the gocron scheduler and blocks until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = 15 * time.Second
	}
	opts := []gocron.SchedulerOption{}
	if s.Elector != nil {
		opts = append(opts, gocron.WithDistributedElector(s.Elector))
	}
	sched, err := gocron.NewScheduler(opts...)
	if err != nil {
		return fmt.Errorf("release: scheduler: %w", err)
	}
	add := func(name string, every time.Duration, fn func(context.Context) error) error {
		_, err := sched.NewJob(gocron.DurationJob(every), gocron.NewTask(func() {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				s.Log.Error("scheduled task failed", "task", name, "err", err)
			}
		}), gocron.WithName(name), gocron.WithSingletonMode(gocron.LimitModeReschedule),
			gocron.WithStartAt(gocron.WithStartImmediately()))
		return err
	}
	if err := add("release", interval, s.tickAll); err != nil {
		return err
	}
	if err := add("housekeeping", time.Hour, s.Housekeeping); err != nil {
		return err
	}
	sched.Start()
	<-ctx.Done()
	return sched.Shutdown()
}

// PGElector makes one PostgreSQL-backed instance the scheduler: the one that
// holds a session advisory lock. The lock dies with its connection, so when
// the holder dies another instance takes over at its next tick.
type PGElector struct {
	DB *bun.DB
	// Leading, when set, is told after each election whether this instance
	// leads (the /metrics gauge).
	Leading func(bool)
	mu      sync.Mutex
	con     *sql.Conn
	key     int64
}

// IsLeader returns nil when this instance holds (or just took) the lock.
func (e *PGElector) IsLeader(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	err := e.elect(ctx)
	if e.Leading != nil {
		e.Leading(err == nil)
	}
	return err
}

func (e *PGElector) elect(ctx context.Context) error {
	if e.con != nil {
		if err := e.con.PingContext(ctx); err == nil {
			return nil
		}
		e.con.Close() // the connection (and with it the lock) is gone
		e.con = nil
	}
	con, err := e.DB.Conn(ctx)
	if err != nil {
		return err
	}
	key, err := store.AdvisoryKey(ctx, con, "scheduler")
	if err != nil {
		con.Close()
		return err
	}
	var ok bool
	if err := con.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(?)", key).Scan(&ok); err != nil {
		con.Close()
		return err
	}
	if !ok {
		con.Close()
		return errNotLeader
	}
	// A holder whose machine dies sends no FIN: without keepalives the
	// server would keep its session, and the lock, for the OS default of
	// two hours. These make PostgreSQL drop it within about 25 s, so
	// another instance takes over within a minute. (Ignored on a Unix socket.)
	if _, err := con.ExecContext(ctx, "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3"); err != nil {
		_, _ = con.ExecContext(context.Background(), "SELECT pg_advisory_unlock(?)", key)
		con.Close()
		return err
	}
	e.con, e.key = con.Conn, key
	return nil
}

// Close gives the lock up (at shutdown), so another instance takes over at
// once. Closing a *sql.Conn only returns it to the pool, session and lock
// included, so the lock is released explicitly first.
func (e *PGElector) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.con != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = e.con.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", e.key)
		e.con.Close()
		e.con = nil
	}
}

var errNotLeader = errors.New("release: another instance is scheduling")
