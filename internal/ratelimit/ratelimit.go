// Package ratelimit limits actions per key (a client address): Keyed in
// process memory (one process: SQLite), Shared in the database, so several
// instances behind a balancer enforce one limit together (PostgreSQL).
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter takes one token for key and reports whether the action may proceed.
type Limiter interface {
	Allow(key string) bool
}

// Keyed holds one token bucket per key and forgets idle keys.
type Keyed struct {
	mu      sync.Mutex
	perMin  int
	buckets map[string]*bucket
	now     func() time.Time
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New allows perMinute actions per key, with a burst of the same size.
func New(perMinute int, now func() time.Time) *Keyed {
	return &Keyed{perMin: perMinute, buckets: map[string]*bucket{}, now: now}
}

// Allow takes one token for key and reports whether the action may proceed.
func (k *Keyed) Allow(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if now.Sub(k.swept) > time.Minute {
		for key, b := range k.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(k.buckets, key)
			}
		}
		k.swept = now
	}
	b := k.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(k.perMin)/60), k.perMin)}
		k.buckets[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}
