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
	"github.com/dropday/dropday/internal/mail/driver"
	"github.com/dropday/dropday/internal/pace"
	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/resolve"
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
	// Resolver finds each released link on the configured catalogs.
	Resolver *resolve.Resolver
	elector  *PGElector
}

// NewEngine wires release day from the configuration: clients save into
// fans' libraries, catalogs find the release (registry.Catalogs).
func NewEngine(cfg *config.Config, db *bun.DB, k *vault.Keyring, clients map[string]platform.Client, catalogs map[string]platform.Catalog, now func() time.Time, log *slog.Logger) *Engine {
	q := &jobs.Queue{DB: db, Now: now, Lease: cfg.JobLease}
	// Release resolution mails the owners through the configured driver, as
	// account email does. A driver that cannot be built fails the broadcast
	// engine's start the same way; here the alert job would say so.
	sender, err := driver.New(cfg.Mail, db, now)
	if err != nil {
		log.Error("release resolution: no mail driver", "err", err)
	}
	fromURL := map[string]resolve.FromURL{}
	for key, c := range clients {
		if fu, ok := c.(resolve.FromURL); ok {
			fromURL[key] = fu
		}
	}
	res := &resolve.Resolver{DB: db, Catalogs: catalogs, FromURL: fromURL, Mail: sender, From: cfg.Mail.From,
		BaseURL: cfg.URL(""), Interval: cfg.ResolveInterval, Window: cfg.ResolveWindow, Now: now, Log: log}
	d := &Deliverer{DB: db, Vault: k, Clients: clients, Now: now, Log: log, Resolver: res,
		Limits: map[string]*pace.Limiter{"spotify": pace.NewLimiter(cfg.SpotifyRate, nil)}}
	// YouTube's pause is the quota's day, dated by the engine's clock.
	d.Limits["youtube_music"] = pace.NewLimiter(cfg.YouTube.Rate, now)
	// TIDAL's pause after a 429 is judged by the engine's clock (tests inject one).
	d.Limits["tidal"] = pace.NewLimiter(cfg.Tidal.Rate, now)
	if cfg.Deezer.Rate > 0 {
		// Its quota pause (5 s, > the 1 s a worker waits in place) always
		// snoozes, so it is judged by the engine's clock like the snooze.
		d.Limits["deezer"] = pace.NewLimiter(cfg.Deezer.Rate, now)
	}
	d.Limits["apple_music"] = pace.NewLimiter(cfg.Apple.Rate, nil)
	r := &jobs.Runner{Queue: q, Handlers: map[string]jobs.HandlerFunc{KindDeliver: d.Work,
		resolve.KindCheck: res.WorkCheck, resolve.KindAlert: res.WorkAlert},
		Concurrency: cfg.Workers, Log: log,
		// Jobs of a killed instance come back soon after their lease ends.
		RescueInterval: min(time.Minute, max(cfg.JobLease/2, time.Second))}
	res.Notify = r
	e := &Engine{Queue: q, Runner: r, Deliverer: d, Resolver: res}
	e.Scheduler = &Scheduler{DB: db, Queue: q, Notifier: r, Interval: cfg.SchedulerInterval, Now: now, Log: log,
		// At the release time (the tick that releases the link) and every
		// interval after, what is not found yet is looked up again.
		Also: []func(context.Context) error{res.Tick}}
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
// record, when given, runs in the same transaction as the enqueue (the audit
// log's entry): both happen or neither. The workers are woken after the commit.
func (e *Engine) DeliverNow(ctx context.Context, l *models.Link, record ...func(ctx context.Context, tx bun.IDB, added int) error) (int, error) {
	var added int
	err := e.Queue.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if added, err = DeliverNow(ctx, tx, l, e.Deliverer.Now(), nil); err != nil {
			return err
		}
		for _, r := range record {
			if err := r(ctx, tx, added); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if added > 0 {
		e.Runner.Notify()
	}
	return added, nil
}
