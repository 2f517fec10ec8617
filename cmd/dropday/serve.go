package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/handlers"
	"github.com/dropday/dropday/internal/accounts"
	"github.com/dropday/dropday/internal/analytics"
	"github.com/dropday/dropday/internal/artwork"
	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/broadcast"
	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/fans"
	"github.com/dropday/dropday/internal/keys"
	"github.com/dropday/dropday/internal/platform/registry"
	"github.com/dropday/dropday/internal/presave"
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
	secret, err := keys.Load(log, cfg.SecretKey, cfg.DataDir)
	if err != nil {
		return err
	}
	keyring, err := vault.Load(log, cfg.MasterKeys, cfg.DataDir)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()

	clients := registry.New(cfg, registry.HTTPClient())
	for key := range clients {
		log.Info("direct pre-save is on", "platform", key)
	}
	eng := release.NewEngine(cfg, db, keyring, clients, time.Now, log)
	emails, err := broadcast.New(cfg, db, secret, time.Now, log)
	if err != nil {
		return err
	}
	// The release-day email is worked by the same workers and ticked by the same scheduler.
	emails.Notify = eng.Runner
	eng.Also(broadcast.KindSend, emails.Work, emails.Tick)
	log.Info("email", "driver", cfg.Mail.Driver, "from", cfg.Mail.From)
	accountMail, err := accounts.NewMailer(cfg, db, time.Now, log)
	if err != nil {
		return err
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
	}
	for _, h := range hooks {
		if err := h(ctx, deps); err != nil {
			return err
		}
	}
	if token, err := accounts.NewSetupToken(ctx, db); err != nil {
		return err
	} else if token != "" {
		log.Info("no admin account yet: open this one-time link to create the first owner and workspace",
			"setup_url", cfg.URL("/setup?token="+token))
	}

	e := handlers.New(deps)
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second, // artwork uploads on slow phones
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (DROPDAY_ADDR): %w", cfg.Addr, err)
	}
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

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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

func mustDialect(u string) config.Dialect {
	d, _, _ := config.ParseDatabaseURL(u)
	return d
}
