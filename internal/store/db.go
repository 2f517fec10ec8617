// Package store holds every query dropday runs. Functions take (ctx, bun.IDB)
// so callers can run them inside a transaction; a missing row is ErrNotFound.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go, no cgo)

	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/migrations"
)

// Sentinels the handlers' error mapper turns into pages and JSON errors.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("already exists")
	ErrLastOwner = errors.New("a workspace needs at least one owner")
)

// sqliteConns bounds the SQLite pool; writes are serialized by SQLite anyway.
const sqliteConns = 16

// Open connects to the database a DROPDAY_DATABASE_URL names.
func Open(ctx context.Context, databaseURL string) (*bun.DB, error) {
	dialect, dsn, err := config.ParseDatabaseURL(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var db *bun.DB
	switch dialect {
	case config.SQLite:
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("store: create %s: %w", dir, err)
			}
		}
		// WAL lets readers run beside the writer; busy_timeout makes writers
		// wait for each other instead of failing; _txlock=immediate takes the
		// write lock at BEGIN so two transactions never deadlock on upgrade.
		q := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		sqldb, err := sql.Open("sqlite", "file:"+dsn+q)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		// A bounded pool that is kept: a new SQLite connection re-parses the
		// schema (it was 40% of the CPU with 256 workers opening and closing
		// connections), and writers beyond a few only wait in SQLite's busy
		// handler, which sleeps in steps, instead of in the pool's queue.
		// (make bench: 0.40 → 0.93 of the limit.)
		sqldb.SetMaxOpenConns(sqliteConns)
		sqldb.SetMaxIdleConns(sqliteConns)
		sqldb.SetConnMaxIdleTime(0)
		db = bun.NewDB(sqldb, sqlitedialect.New())
	case config.Postgres:
		sqldb, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		sqldb.SetMaxOpenConns(20)
		sqldb.SetMaxIdleConns(20) // the default 2 would reconnect under load
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		db = bun.NewDB(sqldb, pgdialect.New())
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s database: %w", dialect, err)
	}
	return db, nil
}

// DialectName is "sqlite" or "postgres", the folder names under migrations/.
func DialectName(db bun.IDB) string {
	if db.Dialect().Name().String() == "pg" {
		return "postgres"
	}
	return "sqlite"
}

func newMigrator(db *bun.DB) (*migrate.Migrator, error) {
	fsys, err := migrations.For(DialectName(db))
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(fsys); err != nil {
		return nil, fmt.Errorf("store: discover migrations: %w", err)
	}
	return migrate.NewMigrator(db, ms, migrate.WithMarkAppliedOnSuccess(true)), nil
}

// Migrate applies every pending migration under bun's migration lock. It
// first takes an exclusive lock that dies with its process (a PostgreSQL
// session advisory lock; a flock next to the SQLite file), so instances
// starting together wait for each other (up to lockWait) instead of racing in
// bun's table setup, and a bun lock row found while holding it can only be
// the leftover of a crashed run.
func Migrate(ctx context.Context, db *bun.DB, log *slog.Logger, lockWait time.Duration) error {
	m, err := newMigrator(db)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, lockWait)
	release, err := exclusive(lctx, db)
	cancel()
	if err != nil {
		return fmt.Errorf("store: wait for another instance's migrations: %w", err)
	}
	defer release()
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("store: init migrations: %w", err)
	}
	if err := m.Lock(ctx); err != nil {
		log.Warn("removing a migration lock left by a crashed process")
		if err := m.Unlock(ctx); err != nil {
			return fmt.Errorf("store: clear stale migration lock: %w", err)
		}
		if err := m.Lock(ctx); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	defer func() {
		// Unlock with a fresh context: the caller's may be cancelled by now.
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Unlock(uctx); err != nil {
			log.Error("could not release the migration lock", "err", err)
		}
	}()
	group, err := m.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if !group.IsZero() {
		log.Info("applied migrations", "group", group.ID, "migrations", group.Migrations.String())
	}
	return nil
}

// MigrationLock takes the lock Migrate runs under (waiting until ctx ends)
// and returns its release: for tests that hold a migration "in progress".
func MigrationLock(ctx context.Context, db *bun.DB) (func(), error) { return exclusive(ctx, db) }

// exclusive takes the per-database migration lock and returns its release.
func exclusive(ctx context.Context, db *bun.DB) (func(), error) {
	if DialectName(db) == "postgres" {
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		key, err := AdvisoryKey(ctx, conn, "migrate")
		if err != nil {
			conn.Close()
			return nil, err
		}
		// Poll with try-lock so the wait honours ctx's deadline.
		for {
			var ok bool
			if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(?)", key).Scan(&ok); err != nil {
				conn.Close()
				return nil, err
			}
			if ok {
				break
			}
			select {
			case <-ctx.Done():
				conn.Close()
				return nil, ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
		return func() {
			_, _ = conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(?)", key)
			conn.Close()
		}, nil
	}
	var seq int
	var name, file string
	if err := db.QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
		return nil, err
	}
	if file == "" { // in-memory database: one process by definition
		return func() {}, nil
	}
	return lockFile(ctx, file+".migrate-lock")
}

// Unlock removes a migration lock left by a crashed process.
func Unlock(ctx context.Context, db *bun.DB) error {
	m, err := newMigrator(db)
	if err != nil {
		return err
	}
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("store: init migrations: %w", err)
	}
	if err := m.Unlock(ctx); err != nil {
		return fmt.Errorf("store: unlock migrations: %w", err)
	}
	return nil
}

// notFound turns sql.ErrNoRows into ErrNotFound, keeping other errors wrapped.
func notFound(what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// conflict turns a unique-constraint violation into ErrConflict.
func conflict(what string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("store: %s: %w", what, ErrConflict)
	}
	if strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("store: %s: %w", what, ErrConflict)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// mustAffect reports ErrNotFound when an UPDATE or DELETE touched no row,
// which for workspace-scoped statements also means "not yours".
func mustAffect(what string, res sql.Result, err error) error {
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return nil
}

// AdvisoryKey is the PostgreSQL advisory-lock key for name in the database and
// schema q runs against. Advisory locks are database-wide; keying them by
// schema too keeps dropdays that share a database in separate schemas (and
// tests) from blocking each other, while every instance of one dropday agrees.
func AdvisoryKey(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, name string) (int64, error) {
	var db, schema string
	if err := q.QueryRowContext(ctx, "SELECT current_database(), current_schema()").Scan(&db, &schema); err != nil {
		return 0, fmt.Errorf("store: advisory key: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("dropday\x00" + name + "\x00" + db + "\x00" + schema))
	return int64(h.Sum64()), nil
}
