// Package testdb gives tests real, migrated databases: a SQLite file in a temp
// dir, and a fresh schema on the PostgreSQL that DROPDAY_TEST_POSTGRES_DSN names.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
)

// EnvPostgres names the variable CI sets to a PostgreSQL URL.
const EnvPostgres = "DROPDAY_TEST_POSTGRES_DSN"

// SQLite returns a migrated database on a new SQLite file and its URL.
func SQLite(t testing.TB) (*bun.DB, string) {
	t.Helper()
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "dropday.db")
	return open(t, dbURL), dbURL
}

// Postgres returns a migrated database in a fresh schema and its URL. Without
// DROPDAY_TEST_POSTGRES_DSN it skips, except under CI, where it fails: CI must
// never pass by not testing PostgreSQL.
func Postgres(t testing.TB) (*bun.DB, string) {
	t.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set under CI: the PostgreSQL tests must run", EnvPostgres)
		}
		t.Skipf("SKIPPING PostgreSQL: set %s (for example postgres://postgres@127.0.0.1:5432/test) to run it", EnvPostgres)
	}
	ctx := context.Background()
	admin, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvPostgres, err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx passes unknown parameters to the server
	u.RawQuery = q.Encode()
	return open(t, u.String()), u.String()
}

func open(t testing.TB, dbURL string) *bun.DB {
	t.Helper()
	db := OpenRaw(t, dbURL)
	if err := store.Migrate(context.Background(), db, Logger(), 30*time.Second); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// OpenRaw opens another connection pool on a test database's URL without migrating.
func OpenRaw(t testing.TB, dbURL string) *bun.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("open %s: %v", dbURL, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Each runs fn once per database: SQLite, and PostgreSQL when configured.
func Each(t *testing.T, fn func(t *testing.T, db *bun.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		db, _ := SQLite(t)
		fn(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		db, _ := Postgres(t)
		fn(t, db)
	})
}

// Logger discards, unless DROPDAY_TEST_LOG=1 asks to see the logs.
func Logger() *slog.Logger {
	if os.Getenv("DROPDAY_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
