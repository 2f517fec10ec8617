package release

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/pace"
	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/vault"
	"github.com/dropday/dropday/models"
)

// Engine is release day on one instance: the queue, the workers, and the
// scheduler (which only ticks on the elected instance).
type Engine struct {
	Queue     *jobs.Queue
	Runner    *jobs.Runner
	Scheduler *Scheduler
	Deliverer *Deliverer
	elector   *PGElector
}

// NewEngine wires release day from the configuration.
func NewEngine(cfg *config.Config, db *bun.DB, k *vault.Keyring, clients map[string]platform.Client, now func() time.Time, log *slog.Logger) *Engine {
	q := &jobs.Queue{DB: db, Now: now, Lease: cfg.JobLease}
	d := &Deliverer{DB: db, Vault: k, Clients: clients, Now: now, Log: log,
		Limits: map[string]*pace.Limiter{"spotify": pace.NewLimiter(cfg.SpotifyRate, nil)}}
	r := &jobs.Runner{Queue: q, Handlers: map[string]jobs.HandlerFunc{KindDeliver: d.Work},
		Concurrency: cfg.Workers, Log: log,
		// Jobs of a killed instance come back soon after their lease ends.
		RescueInterval: min(time.Minute, max(cfg.JobLease/2, time.Second))}
	e := &Engine{Queue: q, Runner: r, Deliverer: d}
	e.Scheduler = &Scheduler{DB: db, Queue: q, Notifier: r, Interval: cfg.SchedulerInterval, Now: now, Log: log}
	if store.DialectName(db) == "postgres" {
		// Several instances may share the database: one schedules, all work.
		e.elector = &PGElector{DB: db}
		e.Scheduler.Elector = e.elector
	}
	return e
}

// Run works the queue and runs the scheduler until ctx ends, then lets the
// jobs in flight finish (the rest stay queued).
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() { defer wg.Done(); errs[0] = e.Runner.Run(ctx) }()
	go func() { defer wg.Done(); errs[1] = e.Scheduler.Run(ctx) }()
	wg.Wait()
	if e.elector != nil {
		e.elector.Close()
	}
	return errors.Join(errs...)
}

// Observe makes the engine report to this instance's metrics: which
// instance claimed each job (instance, stored in jobs.claimed_by), each job's
// outcome and duration, and whether this instance schedules. Call it before Run.
func (e *Engine) Observe(instance string, observe func(kind, outcome string, took time.Duration), leading func(bool)) {
	e.Queue.Instance = instance
	e.Runner.Observe = observe
	if e.elector != nil {
		e.elector.Leading = leading
	} else if leading != nil {
		leading(true) // SQLite: one process, always the scheduler
	}
}

// Also adds another kind of job to this instance's workers and a task to
// the scheduler's tick (the release-day email). Call it before Run.
func (e *Engine) Also(kind string, h jobs.HandlerFunc, tick func(context.Context) error) {
	e.Runner.Handlers[kind] = h
	if tick != nil {
		e.Scheduler.Also = append(e.Scheduler.Also, tick)
	}
}

// DeliverNow starts a link's delivery at once (the panel's "deliver now").
func (e *Engine) DeliverNow(ctx context.Context, l *models.Link) (int, error) {
	return DeliverNow(ctx, e.Queue.DB, l, e.Deliverer.Now(), e.Runner)
}
