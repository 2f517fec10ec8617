package jobs

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
)

// The claim must walk jobs_claim_idx in order, not sort the backlog: with
// 100,000 deliveries queued a sort per claim would dominate release day.
func TestClaimUsesTheClaimIndex(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
		items := make([]Item, 5000)
		for i := range items {
			items[i] = Item{Kind: "deliver", Opts: Opts{RunAt: now.Add(-time.Duration(i) * time.Second)}}
		}
		if _, err := EnqueueMany(ctx, db, now, items); err != nil {
			t.Fatal(err)
		}
		dialect := store.DialectName(db)
		explain := "EXPLAIN QUERY PLAN "
		if dialect == "postgres" {
			explain = "EXPLAIN "
			if _, err := db.ExecContext(ctx, "ANALYZE jobs"); err != nil {
				t.Fatal(err)
			}
		}
		for _, byKind := range []bool{false, true} {
			args := []any{now.Add(DefaultLease), now, "plan-test", now}
			if byKind {
				args = append(args, bun.In([]string{"deliver", "mail"}))
			}
			args = append(args, 50)
			rows, err := db.QueryContext(ctx, explain+claimSQL(dialect, byKind), args...)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			cols, _ := rows.Columns()
			for rows.Next() {
				// PostgreSQL: one column; SQLite: id, parent, notused, detail.
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if !strings.Contains(plan, "jobs_claim_idx") || strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "Sort") {
				t.Fatalf("claim plan (by kind: %v) does not walk jobs_claim_idx:\n%s", byKind, plan)
			}
		}
	})
}

// jobColumns must name every column of Job, or claimed jobs come back with
// fields missing.
func TestJobColumnsMatchTheModel(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		var names []string
		for _, f := range db.Table(reflect.TypeFor[Job]()).Fields {
			names = append(names, f.Name)
		}
		if got := strings.Join(names, ", "); got != jobColumns {
			t.Fatalf("Job's columns are\n%s\nbut jobColumns is\n%s", got, jobColumns)
		}
	})
}
