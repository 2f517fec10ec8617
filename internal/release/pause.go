package release

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
)

// A platform's long pause (YouTube's used-up daily quota) is recorded in the
// settings table, so every instance, and one restarted meanwhile, waits too
// instead of spending calls on answers it knows. Short pauses (a 429's few
// seconds) stay in the instance's pace limiter.
const (
	// persistPause is the shortest pause worth recording.
	persistPause = time.Minute
	// pauseReload is how often a worker re-reads the recorded pause.
	pauseReload = 30 * time.Second
)

// PauseKey is the settings key holding until when a platform's deliveries wait (RFC 3339).
func PauseKey(platform string) string { return "pause." + platform }

// PausedUntil tells until when platform's deliveries wait, as recorded;
// the zero time when they do not (never paused, or the pause is over).
func PausedUntil(ctx context.Context, db bun.IDB, platform string, now time.Time) (time.Time, error) {
	v, err := store.GetSetting(ctx, db, PauseKey(platform))
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil || !t.After(now) {
		return time.Time{}, nil //nolint:nilerr // an unreadable value is no pause
	}
	return t, nil
}

// pauseState is what a Deliverer remembers of the recorded pauses.
type pauseState struct {
	mu   sync.Mutex
	read map[string]time.Time // platform → when the setting was last read
}

// savePause records a long pause for every instance (a failure only logs:
// this instance's limiter holds the pause anyway).
func (d *Deliverer) savePause(ctx context.Context, platform string, wait time.Duration) {
	if wait < persistPause {
		return
	}
	until := d.Now().Add(wait).UTC()
	if err := store.PutSetting(ctx, d.DB, PauseKey(platform), until.Format(time.RFC3339)); err != nil {
		d.Log.Warn("could not record a platform pause", "platform", platform, "err", err)
		return
	}
	d.Log.Info("platform paused", "platform", platform, "until", until)
}

// loadPause applies a pause another instance (or this one before a restart)
// recorded to this instance's limiter, reading it at most every pauseReload.
func (d *Deliverer) loadPause(ctx context.Context, platform string) {
	l := d.Limits[platform]
	if l == nil {
		return
	}
	now := d.Now()
	d.pauses.mu.Lock()
	if d.pauses.read == nil {
		d.pauses.read = map[string]time.Time{}
	}
	last, seen := d.pauses.read[platform]
	if seen && now.Sub(last) < pauseReload && !now.Before(last) {
		d.pauses.mu.Unlock()
		return
	}
	d.pauses.read[platform] = now
	d.pauses.mu.Unlock()
	until, err := PausedUntil(ctx, d.DB, platform, now)
	if err != nil {
		d.Log.Warn("could not read a platform pause", "platform", platform, "err", err)
		return
	}
	if !until.IsZero() {
		l.Pause(until.Sub(now))
	}
}
