package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/dropday/dropday/handlers"
	"github.com/dropday/dropday/internal/accounts"
	"github.com/dropday/dropday/internal/analytics"
	"github.com/dropday/dropday/internal/artwork"
	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/broadcast"
	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/fans"
	"github.com/dropday/dropday/internal/instance"
	"github.com/dropday/dropday/internal/keycheck"
	"github.com/dropday/dropday/internal/keys"
	"github.com/dropday/dropday/internal/metrics"
	"github.com/dropday/dropday/internal/platform/registry"
	"github.com/dropday/dropday/internal/presave"
	"github.com/dropday/dropday/internal/ratelimit"
	"github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/vault"
)

// openDB connects and migrates: every command works on an up-to-date schema.
func openDB(ctx context.Context, cfg *config.Config, log *slog.Logger) (*bun.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx, db, log, 2*time.Minute); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// beforeServe runs once the database is ready and the dependencies are built
// (the demo seeds its workspace there).
type beforeServe func(ctx context.Context, d handlers.Deps) error

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, hooks ...beforeServe) error {
	// Listen first: while migrations run (a long one, or waiting for another
	// instance's), /healthz answers and /readyz says 503, so a balancer or
	// an orchestrator can tell "starting" from "dead".
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (DROPDAY_ADDR): %w", cfg.Addr, err)
	}
	app := &swapHandler{}
	app.set(starting())
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           app,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second, // artwork uploads on slow phones
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	stopEarly := func(err error) error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return err
	}

	secret, err := keys.Load(log, cfg.SecretKey, cfg.DataDir)
	if err != nil {
		return stopEarly(err)
	}
	keyring, err := vault.Load(log, cfg.MasterKeys, cfg.DataDir)
	if err != nil {
		return stopEarly(err)
	}
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return stopEarly(err)
	}
	defer db.Close()
	// Every instance on the database must hold the same secrets.
	if err := keycheck.Verify(ctx, db, secret, keyring); err != nil {
		return stopEarly(err)
	}

	// This instance among the others on the database: jobs.claimed_by and the logs.
	self := instance.NewID()
	log = log.With("instance", self)
	m := metrics.New(prometheus.NewRegistry())
	m.WatchDB(db, log)

	hc := registry.HTTPClient()
	hc.Timeout = cfg.PlatformTimeout
	hc.Transport = m.Transport(platformOfHost(cfg), hc.Transport)
	clients := registry.New(cfg, hc, time.Now)
	for key := range clients {
		log.Info("direct pre-save is on", "platform", key)
	}
	catalogs := registry.Catalogs(cfg, clients, hc, time.Now)
	for key := range catalogs {
		log.Info("release look-up is on", "platform", key)
	}
	eng := release.NewEngine(cfg, db, keyring, clients, catalogs, time.Now, log)
	eng.Observe(self, func(kind, outcome string, took time.Duration) {
		if outcome != "" {
			m.JobOutcome(kind, outcome)
		}
		if took > 0 {
			m.JobDuration(kind, took)
		}
	}, m.SetLeader)
	emails, err := broadcast.New(cfg, db, secret, time.Now, log)
	if err != nil {
		return stopEarly(err)
	}
	// The release-day email is worked by the same workers and ticked by the same scheduler.
	emails.Notify = eng.Runner
	eng.Also(broadcast.KindSend, emails.Work, emails.Tick)
	log.Info("email", "driver", cfg.Mail.Driver, "from", cfg.Mail.From)
	accountMail, err := accounts.NewMailer(cfg, db, time.Now, log)
	if err != nil {
		return stopEarly(err)
	}
	// Several instances share PostgreSQL, so they share the limits there;
	// SQLite is one process, whose memory is the cheaper place.
	var loginLimit, signupLimit ratelimit.Limiter
	if store.DialectName(db) == "postgres" {
		loginLimit = ratelimit.NewShared(db, "login", cfg.LoginRate, time.Now, log)
		signupLimit = ratelimit.NewShared(db, "signup", cfg.SignupRate, time.Now, log)
	}
	// Fans' data rights; their retention rules run with the hourly housekeeping.
	fanData, err := fans.New(cfg, db, secret, time.Now, log)
	if err != nil {
		return err
	}
	eng.Scheduler.Hourly = append(eng.Scheduler.Hourly, fanData.Retention)
	deps := handlers.Deps{
		Config:    cfg,
		DB:        db,
		Log:       log,
		Now:       time.Now,
		Hasher:    auth.NewHasher(cfg.BcryptCost),
		Secret:    secret,
		Artwork:   &artwork.Store{Dir: filepath.Join(cfg.DataDir, "artwork"), MaxBytes: cfg.MaxArtworkBytes},
		Presave:   &presave.Flow{DB: db, Vault: keyring, Clients: clients, Now: time.Now, Erasure: fanData.Key},
		Fans:      fanData,
		Release:   eng,
		Broadcast: emails,
		// Invitations and password resets go through the same driver.
		AccountMail: accountMail,
		Analytics:   analytics.New(db, time.Now, log, cfg.BaseURL),
		Metrics:     m,
		LoginLimit:  loginLimit,
		SignupLimit: signupLimit,
	}
	for _, h := range hooks {
		if err := h(ctx, deps); err != nil {
			return stopEarly(err)
		}
	}
	if token, err := accounts.NewSetupToken(ctx, db); err != nil {
		return stopEarly(err)
	} else if token != "" {
		log.Info("no admin account yet: open this one-time link to create the first owner and workspace",
			"setup_url", cfg.URL("/setup?token="+token))
	}

	app.set(handlers.New(deps))
	log.Info("dropday is running", "addr", ln.Addr().String(), "url", cfg.BaseURL.String(),
		"database", string(mustDialect(cfg.DatabaseURL)), "version", version())

	// Release day runs beside the HTTP server; it stops after the server, so
	// requests in flight can still enqueue, and finishes the jobs in flight.
	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	engineDone := make(chan error, 1)
	go func() { engineDone <- deps.Release.Run(engineCtx) }()

	// Analytics flushes its in-memory counts every few seconds, and once more after the server stops.
	statsCtx, stopStats := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStats()
	statsDone := make(chan error, 1)
	go func() { statsDone <- deps.Analytics.Run(statsCtx) }()
	defer func() {
		stopStats()
		if err := <-statsDone; err != nil {
			log.Error("analytics: last flush failed; the last seconds of views are lost", "err", err)
		}
	}()
	select {
	case err := <-errc:
		stopEngine()
		<-engineDone
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests and deliveries in flight")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	stopEngine()
	accountMail.Wait() // password reset emails still being sent
	fanData.Wait()     // fans' data links still being sent
	if err := <-engineDone; err != nil {
		log.Error("release engine stopped with an error", "err", err)
	}
	log.Info("stopped")
	return nil
}

// swapHandler serves the start-up answers until the app is built, then the app.
type swapHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swapHandler) set(h http.Handler) { s.h.Store(&h) }
func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// starting answers while the database is being migrated: alive, not ready.
func starting() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if r.URL.Path == "/healthz" {
			_, _ = io.WriteString(w, "ok\n")
			return
		}
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "starting: migrating the database\n")
	})
}

// platformOfHost names the platform a request's host belongs to, for the
// platform metrics; an unknown host (a catalog added later) is its own name.
func platformOfHost(cfg *config.Config) func(string) string {
	hosts := map[string]string{}
	for key, urls := range map[string][]string{
		"spotify":     {cfg.Spotify.AccountsURL, cfg.Spotify.APIURL},
		"apple_music": {cfg.Apple.APIURL},
		"deezer":      {cfg.Deezer.APIURL},
		"tidal":       {cfg.Tidal.AuthURL, cfg.Tidal.APIURL},
	} {
		for _, u := range urls {
			if pu, err := url.Parse(u); err == nil {
				hosts[pu.Host] = key
			}
		}
	}
	return func(host string) string {
		if p, ok := hosts[host]; ok {
			return p
		}
		return host
	}
}

func mustDialect(u string) config.Dialect {
	d, _, _ := config.ParseDatabaseURL(u)
	return d
}
