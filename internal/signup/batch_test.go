package signup_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/signup"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
)

// gatedDB holds the first transaction until the test opens the gate, so
// every other signup queues behind it and the next batch holds them all.
type gatedDB struct {
	*bun.DB
	entered chan struct{}
	gate    chan struct{}
	txs     atomic.Int64
	once    sync.Once
}

func (g *gatedDB) RunInTx(ctx context.Context, opts *sql.TxOptions, f func(ctx context.Context, tx bun.Tx) error) error {
	if g.txs.Add(1) == 1 {
		g.once.Do(func() { close(g.entered) })
		<-g.gate
	}
	return g.DB.RunInTx(ctx, opts, f)
}

// run signs up every input at once through one Batcher: the first alone,
// then all the others in one batch. It returns each one's outcome.
func runBatch(t *testing.T, db *bun.DB, ls []*models.Link, ins []signup.Input, queued int) ([]signup.Result, []error, int64) {
	t.Helper()
	g := &gatedDB{DB: db, entered: make(chan struct{}), gate: make(chan struct{})}
	b := signup.NewBatcher(g)
	res := make([]signup.Result, len(ins))
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	do := func(i int) {
		wg.Add(1)
		go func() { defer wg.Done(); res[i], errs[i] = b.Signup(context.Background(), ls[i], ins[i], t0) }()
	}
	do(0)
	<-g.entered
	for i := 1; i < len(ins); i++ {
		do(i)
	}
	for b.Queued() < queued {
		runtime.Gosched()
	}
	close(g.gate)
	wg.Wait()
	return res, errs, g.txs.Load()
}

// Concurrent signups share one commit, every row stored with its consent
// record; each request gets its own answer (a validation error, an erased
// address), and a row the database refuses fails alone: the others of its
// batch are stored.
func TestBatcherGroupsSignupsAndKeepsEachOutcome(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		l := seed(t, db, models.LinkLive)
		const n = 200

		// All good: two transactions for 200 signups.
		ls := make([]*models.Link, n)
		ins := make([]signup.Input, n)
		for i := range n {
			ls[i] = l
			ins[i] = signup.Input{Erasure: testKey, Email: fmt.Sprintf("fan%d@example.com", i), Platform: "spotify", IP: "192.0.2.1"}
		}
		// The same fan twice in one batch: one subscriber, one consent record.
		ins[n-1].Email, ins[n-1].Platform = "FAN198@example.com", "deezer"
		_, errs, txs := runBatch(t, db, ls, ins, n-1)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("signup %d: %v", i, err)
			}
		}
		if txs != 2 {
			t.Fatalf("%d transactions for %d signups, want 2 (one, then the rest together)", txs, n)
		}
		if s, c := count(t, db, "subscribers"), count(t, db, "signups"); s != n-1 || c != n-1 {
			t.Fatalf("stored %d subscribers, %d signups; want %d each", s, c, n-1)
		}
		var noConsent int
		if err := db.NewSelect().Table("signups").ColumnExpr("COUNT(*)").
			Where("consent_text_id IS NULL OR consent_version <> ? OR link_id <> ?", signup.ConsentVersion, l.ID).Scan(ctx, &noConsent); err != nil {
			t.Fatal(err)
		}
		if noConsent != 0 {
			t.Fatalf("%d signups without their consent record", noConsent)
		}

		// Mixed: invalid input, an erased address, and a row whose link is
		// gone (the database refuses it) among good ones.
		if err := store.MarkErased(ctx, db, l.WorkspaceID, testKey.Hash("erased@example.com"), t0); err != nil {
			t.Fatal(err)
		}
		// A workspace that does not exist: the subscriber's insert breaks the batch.
		gone := *l
		gone.WorkspaceID = l.WorkspaceID + 1000
		// Archived since the caller read it (a cached page on another instance).
		closed := &models.Link{WorkspaceID: l.WorkspaceID, Slug: "closed", Title: "T", Artist: "A", ReleaseAt: l.ReleaseAt,
			TimeZone: l.TimeZone, State: models.LinkArchived, CreatedAt: t0, UpdatedAt: t0}
		if err := store.CreateLink(ctx, db, closed); err != nil {
			t.Fatal(err)
		}
		stale := *closed
		stale.State = models.LinkLive
		ls, ins = ls[:0], ins[:0]
		kind := map[int]string{}
		for i := range 60 {
			in := signup.Input{Erasure: testKey, Email: fmt.Sprintf("more%d@example.com", i), Platform: "deezer"}
			link := l
			switch {
			case i == 10:
				in.Email, kind[i] = "not-an-email", "invalid"
			case i == 20:
				in.Platform, kind[i] = "napster", "invalid"
			case i == 30:
				in.Email, kind[i] = "erased@example.com", "erased"
			case i == 40:
				link, kind[i] = &gone, "refused"
			case i == 50:
				link, kind[i] = &stale, "closed"
			}
			ls, ins = append(ls, link), append(ins, in)
		}
		before := count(t, db, "signups")
		res, errs, _ := runBatch(t, db, ls, ins, 60-1-2) // the invalid ones never queue
		for i, err := range errs {
			var verrs validate.Errors
			switch kind[i] {
			case "invalid":
				if !errors.As(err, &verrs) {
					t.Errorf("signup %d: %v, want its validation error", i, err)
				}
			case "erased":
				if !errors.Is(err, signup.ErrErased) {
					t.Errorf("signup %d: %v, want ErrErased", i, err)
				}
			case "refused":
				if err == nil || errors.As(err, &verrs) || errors.Is(err, signup.ErrClosed) {
					t.Errorf("signup %d (a workspace that is gone): %v, want a database error", i, err)
				}
			case "closed":
				if !errors.Is(err, signup.ErrClosed) {
					t.Errorf("signup %d (a link archived since): %v, want ErrClosed", i, err)
				}
			default:
				if err != nil || !res[i].Stored {
					t.Errorf("signup %d: %+v %v, want stored", i, res[i], err)
				}
			}
		}
		if got := count(t, db, "signups") - before; got != 55 {
			t.Fatalf("%d new signups, want 55 (60 less two invalid, one erased, one refused, one closed)", got)
		}
	})
}
