package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/testdb"
)

type delivery struct {
	PresaveID int64  `json:"presave_id"`
	Platform  string `json:"platform"`
}

func TestEnqueueRollsBackWithTheTransaction(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		q, _ := newQueue(db)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		id := enqueue(t, tx, t0, "deliver", delivery{PresaveID: 1}, jobs.Opts{UniqueKey: "deliver:presave:1"})
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Get(ctx, id); err == nil {
			t.Fatalf("job %d survived the rollback", id)
		}
		// The key was released with the rollback.
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			id = enqueue(t, tx, t0, "deliver", delivery{PresaveID: 1, Platform: "spotify"}, jobs.Opts{UniqueKey: "deliver:presave:1"})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		j := get(t, q, id)
		var p delivery
		if err := j.Decode(&p); err != nil || p != (delivery{1, "spotify"}) {
			t.Fatalf("payload = %+v, %v", p, err)
		}
		if j.State != jobs.StateAvailable || j.Attempt != 0 || j.MaxAttempts != jobs.DefaultMaxAttempts ||
			!j.RunAt.Equal(t0) || !j.CreatedAt.Equal(t0) || j.UniqueKey != "deliver:presave:1" ||
			!j.LockedUntil.IsZero() || !j.FinalizedAt.IsZero() {
			t.Fatalf("stored job = %+v", j)
		}
	})
}

func TestEnqueueUniqueKey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		q, _ := newQueue(db)
		first := enqueue(t, db, t0, "deliver", delivery{PresaveID: 7}, jobs.Opts{UniqueKey: "deliver:presave:7"})
		id, inserted, err := jobs.Enqueue(ctx, db, t0.Add(time.Hour), "deliver", delivery{PresaveID: 8}, jobs.Opts{UniqueKey: "deliver:presave:7"})
		if err != nil || inserted || id != first {
			t.Fatalf("duplicate key: id=%d inserted=%v err=%v, want id=%d inserted=false", id, inserted, err, first)
		}
		// Still a duplicate once the first job is final.
		j := claimOne(t, q)
		if err := q.Complete(ctx, j); err != nil {
			t.Fatal(err)
		}
		if _, inserted, err := jobs.Enqueue(ctx, db, t0, "deliver", nil, jobs.Opts{UniqueKey: "deliver:presave:7"}); err != nil || inserted {
			t.Fatalf("duplicate of a completed job: inserted=%v err=%v", inserted, err)
		}
		// Jobs without a key never collide; options are kept.
		a := enqueue(t, db, t0, "mail", nil, jobs.Opts{})
		b := enqueue(t, db, t0, "mail", nil, jobs.Opts{MaxAttempts: 3, RunAt: t0.Add(time.Minute)})
		if a == b {
			t.Fatal("two jobs without a key got one id")
		}
		if jb := get(t, q, b); jb.MaxAttempts != 3 || !jb.RunAt.Equal(t0.Add(time.Minute)) || jb.UniqueKey != "" {
			t.Fatalf("options not stored: %+v", jb)
		}
		var p delivery
		if err := get(t, q, first).Decode(&p); err != nil || p.PresaveID != 7 {
			t.Fatalf("the first payload must be kept: %+v, %v", p, err)
		}
	})
}

func TestEnqueueMany(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		q, _ := newQueue(db)
		enqueue(t, db, t0, "deliver", nil, jobs.Opts{UniqueKey: "deliver:presave:5"}) // already queued
		var items []jobs.Item
		for i := range 2000 {
			it := jobs.Item{Kind: "deliver", Payload: delivery{PresaveID: int64(i)}}
			if i < 1900 {
				// 1,700 distinct keys: the last 200 repeat earlier
				// ones (across batches), and key 5 is already taken.
				it.Opts.UniqueKey = fmt.Sprintf("deliver:presave:%d", i%1700)
			} // the last 100 have no key
			items = append(items, it)
		}
		var n int
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) (err error) {
			n, err = jobs.EnqueueMany(ctx, tx, t0, items)
			return err
		})
		if want := 1700 - 1 + 100; err != nil || n != want {
			t.Fatalf("EnqueueMany = %d, %v; want %d", n, err, want)
		}
		counts, err := q.Counts(ctx)
		if err != nil || counts[jobs.StateAvailable] != 1800 {
			t.Fatalf("counts = %v, %v; want 1800 available", counts, err)
		}
		// The first of the duplicates won.
		got, err := q.Claim(ctx, nil, 2000)
		if err != nil || len(got) != 1800 {
			t.Fatalf("claim: %d, %v", len(got), err)
		}
		for _, j := range got {
			var p delivery
			if err := j.Decode(&p); err != nil {
				t.Fatal(err)
			}
			if j.UniqueKey != "" && j.UniqueKey != "deliver:presave:5" && j.UniqueKey != fmt.Sprintf("deliver:presave:%d", p.PresaveID) {
				t.Fatalf("job %s carries the payload of a duplicate: %+v", j.UniqueKey, p)
			}
		}
		if n, err := jobs.EnqueueMany(ctx, db, t0, nil); n != 0 || err != nil {
			t.Fatalf("empty batch: %d, %v", n, err)
		}
	})
}
