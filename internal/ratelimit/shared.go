package ratelimit

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// Shared is a per-key limit kept in the rate_limits table, so every instance
// on the database counts against the same bucket. It is GCRA, the token
// bucket of Keyed written as one number per key (the "theoretical arrival
// time"): one upsert per action, no read-modify-write race between instances.
type Shared struct {
	db     *bun.DB
	name   string
	perMin int
	now    func() time.Time
	log    *slog.Logger

	mu    sync.Mutex
	swept time.Time
}

// NewShared allows perMinute actions per key (burst the same) under name
// (keys are stored as name:key). now should be the same wall clock on every
// instance (NTP): the bucket's state is a point in time.
func NewShared(db *bun.DB, name string, perMinute int, now func() time.Time, log *slog.Logger) *Shared {
	return &Shared{db: db, name: name, perMin: max(perMinute, 1), now: now, log: log}
}

// sharedTimeout bounds the upsert: a slow database must not hold a login.
const sharedTimeout = 2 * time.Second

// Allow takes one token for key. If the database cannot answer, the action
// is allowed (and logged): every action it guards needs the database anyway,
// so refusing would only turn an outage into a lock-out.
func (s *Shared) Allow(key string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	now := s.now()
	nowUS := now.UnixMicro()
	interval := int64(time.Minute/time.Microsecond) / int64(s.perMin) // one token's worth
	limit := nowUS + int64(s.perMin-1)*interval                       // the burst's tolerance
	s.sweep(now)
	// Allowed when max(tat, now) <= now + (burst-1)·interval; then tat moves
	// to max(tat, now) + interval. A refusal matches no row and returns none.
	var tat int64
	err := s.db.NewRaw(`INSERT INTO rate_limits (key, tat) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET tat = (CASE WHEN rate_limits.tat > ? THEN rate_limits.tat ELSE ? END) + ?
WHERE rate_limits.tat <= ?
RETURNING tat`, s.name+":"+key, nowUS+interval, nowUS, nowUS, interval, limit).Scan(ctx, &tat)
	switch {
	case err == nil:
		return true
	case errors.Is(err, sql.ErrNoRows):
		return false
	default:
		s.log.Warn("rate limit: database unavailable, allowing", "limit", s.name, "err", err)
		return true
	}
}

// sweep deletes full buckets (tat in the past) at most once a minute per
// instance, in the background.
func (s *Shared) sweep(now time.Time) {
	s.mu.Lock()
	due := now.Sub(s.swept) > time.Minute
	if due {
		s.swept = now
	}
	s.mu.Unlock()
	if !due {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := s.db.NewDelete().Table("rate_limits").Where("tat < ?", now.UnixMicro()).Exec(ctx); err != nil {
			s.log.Warn("rate limit: sweeping idle keys", "err", err)
		}
	}()
}
