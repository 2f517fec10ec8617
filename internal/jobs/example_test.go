package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/jobs"
)

// Enqueue a delivery in the same transaction as the domain write, so the
// pre-save and its job commit together (or not at all).
func ExampleEnqueue() {
	var db *bun.DB // from store.Open
	ctx := context.Background()
	presaveID := int64(123)
	_ = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// … store.UpsertPresave(ctx, tx, p) …
		_, _, err := jobs.Enqueue(ctx, tx, time.Now(), "deliver", map[string]int64{"presave_id": presaveID},
			jobs.Opts{UniqueKey: fmt.Sprintf("deliver:presave:%d", presaveID)})
		return err
	})
}

// A runner whose handler snoozes on a rate limit and cancels on a permanent
// error; everything else it returns is retried with backoff.
func ExampleRunner() {
	var db *bun.DB // from store.Open
	errRateLimited := errors.New("429")
	errRevoked := errors.New("refresh token revoked")
	r := &jobs.Runner{
		Queue:       &jobs.Queue{DB: db},
		Concurrency: 20,
		Log:         slog.Default(),
		Handlers: map[string]jobs.HandlerFunc{
			"deliver": func(ctx context.Context, j jobs.Job) error {
				var p struct {
					PresaveID int64 `json:"presave_id"`
				}
				if err := j.Decode(&p); err != nil {
					return jobs.Cancel(err) // a payload that never decodes never will
				}
				err := deliver(ctx, p.PresaveID)
				switch {
				case errors.Is(err, errRateLimited):
					return jobs.Snooze(30 * time.Second) // Retry-After; no attempt used
				case errors.Is(err, errRevoked):
					return jobs.Cancel(err)
				}
				return err
			},
		},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// On Ctrl-C, Run stops claiming and returns once the jobs in flight
	// have finished and been recorded.
	if err := r.Run(ctx); err != nil {
		slog.Error("jobs runner", "err", err)
	}
}

func deliver(ctx context.Context, presaveID int64) error { return nil }
