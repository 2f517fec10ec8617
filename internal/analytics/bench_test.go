package analytics_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dropday/dropday/internal/analytics"
	"github.com/dropday/dropday/internal/testdb"
)

// BenchmarkView is the cost recording adds to a landing page view (no database:
// the salt is cached after the first view of the day).
func BenchmarkView(b *testing.B) {
	db, _ := testdb.SQLite(b)
	c := &clock{t: day1}
	rec := analytics.New(db, c.Now, testdb.Logger(), self)
	reqs := make([]string, 256)
	for i := range reqs {
		reqs[i] = fmt.Sprintf("198.51.100.%d", i)
	}
	r := get("/night-drive?utm_source=ig", phoneUA, "Referer", "https://www.instagram.com/")
	rec.View(r, 1, "198.51.100.1")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rec.View(r, 1, reqs[i%len(reqs)])
	}
	b.StopTimer()
	_ = rec.Flush(context.Background()) // link 1 does not exist: dropped, as for a deleted link
}
