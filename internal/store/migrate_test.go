package store_test

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
)

// Several instances starting at once must not trip over each other's migrations.
func TestConcurrentMigrate(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) string{
		"sqlite":   func(t testing.TB) string { return "sqlite://" + t.TempDir() + "/x.db" },
		"postgres": func(t testing.TB) string { _, u := testdb.Postgres(t); return u },
	} {
		t.Run(name, func(t *testing.T) {
			dbURL := mk(t)
			if name == "postgres" {
				// testdb.Postgres migrated already; start from an empty schema instead.
				db := testdb.OpenRaw(t, dbURL)
				if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schemaOf(dbURL)+" CASCADE; CREATE SCHEMA "+schemaOf(dbURL)); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 3)
			for i := range errs {
				db := testdb.OpenRaw(t, dbURL)
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = store.Migrate(context.Background(), db, testdb.Logger(), 30*time.Second)
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("instance %d: %v", i, err)
				}
			}
			db := testdb.OpenRaw(t, dbURL)
			if n, err := store.CountUsers(context.Background(), db); err != nil || n != 0 {
				t.Fatalf("schema not usable after concurrent migrations: %d, %v", n, err)
			}
		})
	}
}

func TestSQLitePragmas(t *testing.T) {
	db, _ := testdb.SQLite(t)
	ctx := context.Background()
	var fk int
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v", fk, err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	var busy int
	if err := db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil || busy < 1000 {
		t.Fatalf("busy_timeout = %d, %v", busy, err)
	}
}

func schemaOf(raw string) string {
	u, _ := url.Parse(raw)
	return u.Query().Get("search_path")
}

// A crash mid-migration leaves bun's lock row; the next start must clear it, not hang.
func TestStaleMigrationLockIsCleared(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, "INSERT INTO bun_migration_locks (table_name) VALUES ('bun_migrations')"); err != nil {
			t.Fatal(err)
		}
		if err := store.Migrate(ctx, db, testdb.Logger(), 2*time.Second); err != nil {
			t.Fatalf("migrate over a stale lock: %v", err)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM bun_migration_locks").Scan(&n); err != nil || n != 0 {
			t.Fatalf("locks left: %d, %v", n, err)
		}
	})
}
