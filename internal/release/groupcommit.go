package release

import (
	"context"
	"sync"
	"time"
)

// groupCommit writes the "delivered" marks of concurrent workers in one
// statement and one commit. Each commit waits for the database to flush its
// log (PostgreSQL's WAL sync was the limit at ~1,100 deliveries/s in make
// bench); grouping keeps every worker's guarantee — Work returns only after
// its pre-save is durably delivered — with a commit per batch, not per fan.
//
// No goroutine of its own: the first worker to arrive writes the batch, and
// hands the next batch to a worker that waits in it, so each worker writes
// at most once and none is held longer than two commits.
type groupCommit struct {
	write func(ctx context.Context, ids []int64) error

	mu       sync.Mutex
	pending  []*commitReq
	flushing bool
}

// maxGroup keeps a batch's IN list small for both databases.
const maxGroup = 500

type commitReq struct {
	id   int64
	done chan commitResult // buffered: the writer never blocks on a reply
}

type commitResult struct {
	err  error
	lead bool // write the next batch (this request is in it)
}

// Do returns once id's mark is written (or failed, with the error).
func (g *groupCommit) Do(ctx context.Context, id int64) error {
	r := &commitReq{id: id, done: make(chan commitResult, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if !g.flushing {
		g.flushing = true
		g.mu.Unlock()
		return g.flush(ctx, r)
	}
	g.mu.Unlock()
	res := <-r.done // always answered: by a writer, or with the lead
	if res.lead {
		return g.flush(ctx, r)
	}
	return res.err
}

// flush writes up to maxGroup pending marks (self's among them), answers
// the others, and passes the lead on.
func (g *groupCommit) flush(ctx context.Context, self *commitReq) error {
	g.mu.Lock()
	n := min(len(g.pending), maxGroup)
	batch := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()

	ids := make([]int64, len(batch))
	for i, r := range batch {
		ids[i] = r.id
	}
	// The workers in the batch are done with the platform: finish their
	// write even when this worker's context ends (shutdown).
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	err := g.write(wctx, ids)
	cancel()
	for _, r := range batch {
		if r != self {
			r.done <- commitResult{err: err}
		}
	}

	g.mu.Lock()
	if len(g.pending) > 0 {
		g.pending[0].done <- commitResult{lead: true}
	} else {
		g.flushing = false
	}
	g.mu.Unlock()
	return err
}
