package faults

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/proc"
	"github.com/dropday/dropday/internal/testdb"
)

// bin is the dropday binary every test starts, built once per test binary
// (a normal build, not -race: the child is the system under test, not the
// test harness).
var bin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dropday-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if bin, err = proc.Build(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	return m.Run()
}

// eachDB runs fn on a fresh migrated SQLite file and, when configured, on a
// fresh PostgreSQL schema; url is what the child gets as DROPDAY_DATABASE_URL.
func eachDB(t *testing.T, fn func(t *testing.T, db *bun.DB, url string, postgres bool)) {
	t.Run("sqlite", func(t *testing.T) {
		db, url := testdb.SQLite(t)
		fn(t, db, url, false)
	})
	t.Run("postgres", func(t *testing.T) {
		db, url := testdb.Postgres(t)
		fn(t, db, url, true)
	})
}

// start runs `dropday serve` with env; the test kills it at cleanup and
// prints its logs if the test failed.
func start(t *testing.T, name string, env map[string]string) *proc.Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := proc.Start(ctx, bin, env)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("logs of %s:\n%s", name, tail(p.Logs()))
		}
	})
	return p
}

// waitFor polls cond every interval until it reports done, fails the test
// with what (and cond's last detail) at the deadline, and stops early if one
// of the watched processes exits on its own.
func waitFor(t *testing.T, what string, deadline time.Time, interval time.Duration, watched []*proc.Process, cond func() (done bool, detail string, err error)) {
	t.Helper()
	for {
		done, detail, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if done {
			return
		}
		for _, p := range watched {
			if exited, perr := p.Exited(); exited {
				t.Fatalf("%s: dropday exited on its own (%v); %s", what, perr, detail)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached by the deadline; %s", what, detail)
		}
		time.Sleep(interval)
	}
}

func tail(s string) string {
	if i := len(s) - 8000; i > 0 {
		return "…" + s[i:]
	}
	return s
}
