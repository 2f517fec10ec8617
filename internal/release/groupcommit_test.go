package release

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// Many workers at once: every id written exactly once, in fewer writes than
// workers, each worker told the outcome of the write that held its id.
func TestGroupCommitBatchesConcurrentMarks(t *testing.T) {
	var mu sync.Mutex
	var writes [][]int64
	release := make(chan struct{})
	first := true
	g := &groupCommit{write: func(_ context.Context, ids []int64) error {
		mu.Lock()
		hold := first
		first = false
		writes = append(writes, slices.Clone(ids))
		mu.Unlock()
		if hold {
			<-release // the first write is slow: everyone else queues behind it
		}
		if slices.Contains(ids, 13) {
			return errors.New("disk full")
		}
		return nil
	}}
	const workers = 200
	errs := make([]error, workers)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); errs[0] = g.Do(context.Background(), 0) }()
	for !g.busy() {
		runtime.Gosched()
	}
	for i := 1; i < workers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = g.Do(context.Background(), int64(i)) }()
	}
	for g.queued() < workers-1 {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()

	seen := map[int64]int{}
	var failedBatch []int64
	for _, w := range writes {
		for _, id := range w {
			seen[id]++
		}
		if slices.Contains(w, 13) {
			failedBatch = w
		}
	}
	for i := range int64(workers) {
		if seen[i] != 1 {
			t.Fatalf("id %d written %d times", i, seen[i])
		}
		if got, want := errs[i] != nil, slices.Contains(failedBatch, i); got != want {
			t.Errorf("id %d: err = %v, but its batch failed = %v", i, errs[i], want)
		}
	}
	if len(writes) != 2 {
		t.Errorf("%d writes for %d workers queued behind one, want 2 (%v)", len(writes), workers, len(writes[0]))
	}
	if g.busy() || g.queued() != 0 {
		t.Error("the group is not idle after the last write")
	}
}

func (g *groupCommit) busy() bool  { g.mu.Lock(); defer g.mu.Unlock(); return g.flushing }
func (g *groupCommit) queued() int { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) }
