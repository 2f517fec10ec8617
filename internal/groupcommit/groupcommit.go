// Package groupcommit writes what concurrent callers each need stored in one
// transaction, and answers each caller only after that commit. Each commit
// waits for the database to flush its log (PostgreSQL's WAL sync was the
// limit at ~1,100 deliveries/s in make bench; SQLite serialises writers), so
// grouping keeps every caller's guarantee — Do returns only once its item is
// durably stored, or with its own error — at one commit per batch.
//
// Used for the delivered marks of release day and for fans' email signups.
//
// No goroutine of its own: the first caller to arrive writes the batch, and
// hands the next batch to a caller that waits in it, so each caller writes
// at most once and none is held longer than two commits.
package groupcommit

import (
	"context"
	"sync"
	"time"
)

// Write stores a batch. A non-nil err applies to every item; otherwise errs
// is nil (all stored) or holds one error per item, nil for an item stored.
type Write[T any] func(ctx context.Context, batch []T) (errs []error, err error)

// Group batches the items of concurrent Do calls. Set Write before the first Do.
type Group[T any] struct {
	Write Write[T]
	// Max bounds a batch (default 500: a small IN list for both databases).
	Max int

	mu       sync.Mutex
	pending  []*request[T]
	flushing bool
}

// DefaultMax is a batch's size when Max is 0.
const DefaultMax = 500

type request[T any] struct {
	item T
	done chan result // buffered: the writer never blocks on a reply
}

type result struct {
	err  error
	lead bool // write the next batch (this request is in it)
}

// Do returns once item is written, or with the error that kept it from being.
func (g *Group[T]) Do(ctx context.Context, item T) error {
	r := &request[T]{item: item, done: make(chan result, 1)}
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

// flush writes up to Max pending items (self's among them), answers the
// others, and passes the lead on.
func (g *Group[T]) flush(ctx context.Context, self *request[T]) error {
	limit := g.Max
	if limit <= 0 {
		limit = DefaultMax
	}
	g.mu.Lock()
	n := min(len(g.pending), limit)
	batch := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()

	items := make([]T, len(batch))
	for i, r := range batch {
		items[i] = r.item
	}
	// The others in the batch are waiting on this write: finish it even when
	// this caller's context ends (a client gone, a shutdown).
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	errs, err := g.Write(wctx, items)
	cancel()
	var mine error
	for i, r := range batch {
		e := err
		if e == nil && errs != nil {
			e = errs[i]
		}
		if r == self {
			mine = e
		} else {
			r.done <- result{err: e}
		}
	}

	g.mu.Lock()
	if len(g.pending) > 0 {
		g.pending[0].done <- result{lead: true}
	} else {
		g.flushing = false
	}
	g.mu.Unlock()
	return mine
}

// Queued is how many items wait for the batch being written (tests use it
// to know everyone has arrived).
func (g *Group[T]) Queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pending)
}
