package jobs_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/testdb"
)

// t0 is the fake clock's start: release day.
var t0 = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

// clock is a fake clock tests advance by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func newQueue(db *bun.DB) (*jobs.Queue, *clock) {
	c := newClock()
	return &jobs.Queue{DB: db, Now: c.Now}, c
}

// eachURL is testdb.Each for tests that open more connection pools on the
// same database: it also passes the database's URL.
func eachURL(t *testing.T, fn func(t *testing.T, db *bun.DB, url string)) {
	t.Run("sqlite", func(t *testing.T) {
		db, url := testdb.SQLite(t)
		fn(t, db, url)
	})
	t.Run("postgres", func(t *testing.T) {
		db, url := testdb.Postgres(t)
		fn(t, db, url)
	})
}

func enqueue(t *testing.T, db bun.IDB, now time.Time, kind string, payload any, opts jobs.Opts) int64 {
	t.Helper()
	id, inserted, err := jobs.Enqueue(context.Background(), db, now, kind, payload, opts)
	if err != nil || !inserted || id == 0 {
		t.Fatalf("enqueue %s: id=%d inserted=%v err=%v", kind, id, inserted, err)
	}
	return id
}

func get(t *testing.T, q *jobs.Queue, id int64) *jobs.Job {
	t.Helper()
	j, err := q.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("get %d: %v", id, err)
	}
	return j
}

// claimOne claims exactly one job and fails the test otherwise.
func claimOne(t *testing.T, q *jobs.Queue, kinds ...string) jobs.Job {
	t.Helper()
	got, err := q.Claim(context.Background(), kinds, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: want 1 job, got %d (%v)", len(got), err)
	}
	return got[0]
}

// claimNone fails the test if any job is claimable.
func claimNone(t *testing.T, q *jobs.Queue, why string) {
	t.Helper()
	got, err := q.Claim(context.Background(), nil, 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("%s: claimed %d jobs (%v), want none", why, len(got), err)
	}
}

func wantLost(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, jobs.ErrLost) {
		t.Fatalf("%s: err = %v, want ErrLost", what, err)
	}
}

func testdbEnv(name string) string { return os.Getenv(name) }
