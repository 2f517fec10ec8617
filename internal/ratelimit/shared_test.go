package ratelimit_test

import (
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/ratelimit"
	"github.com/dropday/dropday/internal/testdb"
)

// Two instances (two connection pools, two limiters) on one database share
// one bucket per key: the burst is spent once, not once per instance.
func TestSharedAcrossInstances(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(testing.TB) (*bun.DB, string)
	}{{"sqlite", testdb.SQLite}, {"postgres", testdb.Postgres}} {
		t.Run(tc.name, func(t *testing.T) {
			db, url := tc.open(t)
			var mu sync.Mutex
			now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			a := ratelimit.NewShared(db, "login", 3, clock, testdb.Logger())
			b := ratelimit.NewShared(testdb.OpenRaw(t, url), "login", 3, clock, testdb.Logger())
			other := ratelimit.NewShared(db, "signup", 3, clock, testdb.Logger())
			for i, l := range []*ratelimit.Shared{a, b, a} {
				if !l.Allow("10.0.0.1") {
					t.Fatalf("attempt %d refused", i+1)
				}
			}
			if b.Allow("10.0.0.1") || a.Allow("10.0.0.1") {
				t.Fatal("4th attempt in the same instant allowed on some instance")
			}
			if !b.Allow("10.0.0.2") {
				t.Fatal("another address is limited by the first one's attempts")
			}
			if !other.Allow("10.0.0.1") {
				t.Fatal("the signup limit is spent by login attempts")
			}
			mu.Lock()
			now = now.Add(20 * time.Second) // 3/min refills one token every 20 s
			mu.Unlock()
			if !b.Allow("10.0.0.1") {
				t.Fatal("no token after the refill interval")
			}
			if a.Allow("10.0.0.1") {
				t.Fatal("two tokens after one refill interval")
			}
			// A refusal changes nothing: a minute later the bucket is full again.
			mu.Lock()
			now = now.Add(time.Minute)
			mu.Unlock()
			for i := range 3 {
				if !a.Allow("10.0.0.1") {
					t.Fatalf("attempt %d after a full refill refused", i+1)
				}
			}
			if b.Allow("10.0.0.1") {
				t.Fatal("burst larger than 3 after a refill")
			}
		})
	}
}
