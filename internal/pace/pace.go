// Package pace is the one pace per platform or provider that every worker of
// an instance shares: a token bucket, and a pause a 429 sets for everyone.
package pace

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is the one pace per platform that every worker shares: a token
// bucket at the configured rate, and a pause that a 429's Retry-After sets
// for everyone, not just the worker that was told.
type Limiter struct {
	mu     sync.Mutex
	bucket *rate.Limiter
	until  time.Time
	now    func() time.Time
}

// NewLimiter allows perSecond calls a second (≤ 0: no pace, only pauses),
// in bursts of a tenth of a second's worth so a rolling window never sees a spike.
func NewLimiter(perSecond float64, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{now: now}
	if perSecond > 0 {
		l.bucket = rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond/10)))
	}
	return l
}

// Pause holds every caller of Wait for d (the platform said Retry-After: d).
func (l *Limiter) Pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.now().Add(d); t.After(l.until) {
		l.until = t
	}
}

// PausedFor tells how long the pause has left (0 when not paused).
func (l *Limiter) PausedFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(0, l.until.Sub(l.now()))
}

// Wait blocks until a call may go out: after any pause, then at the pace.
func (l *Limiter) Wait(ctx context.Context) error {
	for {
		d := l.PausedFor()
		if d <= 0 {
			break
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	if l.bucket == nil {
		return nil
	}
	return l.bucket.Wait(ctx)
}
