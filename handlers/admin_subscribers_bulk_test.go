package handlers_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

const (
	bulkRows  = 100_000
	bulkChunk = 1000
	bulkUA    = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
)

// seedBulk inserts n subscribers (ids 1…n) with one signup each through l.
// PostgreSQL: 1,000 rows a statement in one transaction, then ANALYZE, as
// autovacuum would after a bulk load. SQLite: one INSERT … SELECT per table,
// because under -race modernc's (translated C) parser takes ~50 s for the
// same 200 bulk statements, and the test must stay well under a minute.
func seedBulk(t *testing.T, app *testapp.App, l *models.Link, n int) {
	t.Helper()
	if store.DialectName(app.DB) == "sqlite" {
		seedCTE(t, app, l, n)
		return
	}
	at := app.Clock.Now().Add(-time.Hour)
	err := app.DB.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
		subs := make([]models.Subscriber, 0, bulkChunk)
		sigs := make([]models.Signup, 0, bulkChunk)
		for from := 1; from <= n; from += bulkChunk {
			subs, sigs = subs[:0], sigs[:0]
			for id := from; id < from+bulkChunk && id <= n; id++ {
				subs = append(subs, models.Subscriber{ID: int64(id), WorkspaceID: l.WorkspaceID, Email: fmt.Sprintf("fan%06d@example.net", id),
					Platform: "spotify", Status: models.SubscriberActive, CreatedAt: at, UpdatedAt: at})
				sigs = append(sigs, models.Signup{ID: int64(id), WorkspaceID: l.WorkspaceID, LinkID: l.ID, SubscriberID: int64(id),
					Platform: "spotify", IP: "203.0.113.7", UserAgent: bulkUA, ConsentVersion: "email-signup-v1", ConsentedAt: at, CreatedAt: at})
			}
			if _, err := tx.NewInsert().Model(&subs).Exec(ctx); err != nil {
				return err
			}
			if _, err := tx.NewInsert().Model(&sigs).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	if _, err := app.DB.ExecContext(context.Background(), "ANALYZE subscribers, signups"); err != nil {
		t.Fatal(err)
	}
}

func seedCTE(t *testing.T, app *testapp.App, l *models.Link, n int) {
	t.Helper()
	at := app.Clock.Now().Add(-time.Hour)
	ctx := context.Background()
	_, err := app.DB.ExecContext(ctx, `INSERT INTO subscribers (id, workspace_id, email, platform, status, created_at, updated_at)
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
		SELECT i, ?, printf('fan%06d@example.net', i), 'spotify', 'active', ?, ? FROM n`, n, l.WorkspaceID, at, at)
	if err != nil {
		t.Fatal(err)
	}
	_, err = app.DB.ExecContext(ctx, `INSERT INTO signups (id, workspace_id, link_id, subscriber_id, platform, ip, user_agent, consent_version, consented_at, created_at)
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
		SELECT i, ?, ?, i, 'spotify', '203.0.113.7', ?, 'email-signup-v1', ?, ? FROM n`, n, l.WorkspaceID, l.ID, bulkUA, at, at)
	if err != nil {
		t.Fatal(err)
	}
}

// batchCounter counts the export's batch queries (marked with store.ExportComment).
type batchCounter struct{ n atomic.Int64 }

func (b *batchCounter) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if strings.Contains(e.Query, store.ExportComment) {
		b.n.Add(1)
	}
	return ctx
}
func (b *batchCounter) AfterQuery(context.Context, *bun.QueryEvent) {}

// liveHeap is the Go heap still referenced: HeapAlloc right after a
// collection. Twice, because what the server allocates while the first one
// marks counts as live until the next.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// sampler is the slow reader: every 256 KiB of the body it stops to measure
// the live heap (server and client share this process), so the server is
// always ahead of it and any rows it held would show.
type sampler struct {
	r         io.Reader
	n, next   int64
	peak      uint64
	samples   int
	firstByte bool
}

func (s *sampler) Read(p []byte) (int, error) {
	k, err := s.r.Read(p)
	s.n += int64(k)
	if s.n >= s.next {
		s.next += 256 << 10
		s.samples++
		s.peak = max(s.peak, liveHeap())
	}
	return k, err
}

// An export of 100,000 subscribers streams through the real server: every
// row arrives, the store is asked in batches, and the live heap never grows
// by anything near what holding the rows would take.
func TestSubscriberExport100k(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbNames[pg], func(t *testing.T) {
			logs := &syncBuffer{}
			app := testapp.New(t, testapp.Options{Postgres: pg, Log: logs})
			o := app.CreateOwner("artist@example.com", "Mara Lune")
			l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
			start := time.Now()
			seedBulk(t, app, l, bulkRows)
			t.Logf("seeded %d subscribers and signups in %v", bulkRows, time.Since(start))
			batches := &batchCounter{}
			app.DB.AddQueryHook(batches) // before any request: no query runs concurrently
			admin := app.NewClient()
			admin.Login(o)

			base := liveHeap()
			start = time.Now()
			res, err := admin.Client.Get(app.URL + "/admin/subscribers/export.csv")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
				t.Fatalf("export: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
			}
			if res.ContentLength != -1 {
				t.Fatalf("the export was not streamed (Content-Length %d)", res.ContentLength)
			}
			body := &sampler{r: res.Body}
			cr := csv.NewReader(body)
			cr.ReuseRecord = true
			rows := -1 // the header
			for {
				rec, err := cr.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("row %d: %v", rows+1, err)
				}
				if rows >= 0 && (rec[0] != fmt.Sprintf("fan%06d@example.net", rows+1) || rec[8] != bulkUA) {
					t.Fatalf("row %d out of order or wrong: %v", rows+1, rec)
				}
				rows++
			}
			elapsed := time.Since(start)
			if rows != bulkRows {
				t.Fatalf("%d data rows, want %d", rows, bulkRows)
			}
			// The store was asked 1,000 rows at a time: 100 full batches and the empty one that ends it.
			if n := batches.n.Load(); n != bulkRows/1000+1 {
				t.Fatalf("%d batch queries, want %d", n, bulkRows/1000+1)
			}
			// Holding the rows would take at least the CSV's size (the strings
			// alone, before any struct or slice); a streaming export holds one
			// batch, about 1/100 of it. A third leaves room for the GC's noise
			// (6.5 MB seen on a loaded CI machine) and still fails if a third of
			// the rows were kept.
			growth := int64(body.peak) - int64(base)
			bound := body.n / 3
			t.Logf("%d rows, %.1f MB of CSV in %v; live heap %0.1f MB at the start, peak growth %.2f MB over %d samples (bound %.1f MB)",
				rows, float64(body.n)/1e6, elapsed, float64(base)/1e6, float64(growth)/1e6, body.samples, float64(bound)/1e6)
			if body.samples < 50 {
				t.Fatalf("only %d memory samples", body.samples)
			}
			if growth > bound {
				t.Fatalf("the live heap grew by %d bytes during the export, more than a third of the CSV (%d bytes): rows are being held", growth, body.n)
			}
			lines := logs.lines(t, "subscriber export")
			if len(lines) != 1 || lines[0]["rows"] != float64(bulkRows) || lines[0]["batches"] != float64(bulkRows/1000+1) {
				t.Fatalf("audit log: %v", lines)
			}
		})
	}
}
