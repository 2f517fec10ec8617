package jobs_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/testdb"
)

// BenchmarkDrain measures the queue's own cost on release day: enqueue a
// backlog in one transaction, then drain it with one runner whose handler
// does nothing. Run: go test -run '^$' -bench Drain -benchtime 1x ./internal/jobs/
// (DROPDAY_JOBS_BENCH_N sets the backlog; default 20,000).
func BenchmarkDrain(b *testing.B) {
	n := 20000
	if v := testdbEnv("DROPDAY_JOBS_BENCH_N"); v != "" {
		fmt.Sscan(v, &n)
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var db *bun.DB
			if dialect == "sqlite" {
				db, _ = testdb.SQLite(b)
			} else {
				db, _ = testdb.Postgres(b)
			}
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				items := make([]jobs.Item, n)
				for k := range items {
					items[k] = jobs.Item{Kind: "deliver", Payload: delivery{PresaveID: int64(k)},
						Opts: jobs.Opts{UniqueKey: fmt.Sprintf("deliver:%d:presave:%d", i, k)}}
				}
				start := time.Now()
				if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					_, err := jobs.EnqueueMany(ctx, tx, time.Now(), items)
					return err
				}); err != nil {
					b.Fatal(err)
				}
				enq := time.Since(start)
				var ran atomic.Int64
				all := make(chan struct{})
				r := &jobs.Runner{Queue: &jobs.Queue{DB: db}, Concurrency: 50, PollInterval: 10 * time.Millisecond,
					Handlers: map[string]jobs.HandlerFunc{"deliver": func(ctx context.Context, j jobs.Job) error {
						if ran.Add(1) == int64(n) {
							close(all)
						}
						return nil
					}}}
				rctx, cancel := context.WithCancel(ctx)
				done := make(chan error, 1)
				start = time.Now()
				go func() { done <- r.Run(rctx) }()
				<-all
				cancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				drain := time.Since(start)
				b.ReportMetric(float64(n)/enq.Seconds(), "enqueued/s")
				b.ReportMetric(float64(n)/drain.Seconds(), "jobs/s")
			}
		})
	}
}
