package groupcommit

import (
	"context"
	"errors"
	"fmt"
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
	g := &Group[int64]{Write: func(_ context.Context, ids []int64) ([]error, error) {
		mu.Lock()
		hold := first
		first = false
		writes = append(writes, slices.Clone(ids))
		mu.Unlock()
		if hold {
			<-release // the first write is slow: everyone else queues behind it
		}
		if slices.Contains(ids, 13) {
			return nil, errors.New("disk full")
		}
		return nil, nil
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

func (g *Group[T]) busy() bool  { g.mu.Lock(); defer g.mu.Unlock(); return g.flushing }
func (g *Group[T]) queued() int { return g.Queued() }

// Per-item errors reach their own callers; the others in the batch succeed.
func TestGroupCommitPerItemErrors(t *testing.T) {
	g := &Group[int]{Max: 3, Write: func(_ context.Context, items []int) ([]error, error) {
		errs := make([]error, len(items))
		for i, it := range items {
			if it%2 == 1 {
				errs[i] = fmt.Errorf("odd %d", it)
			}
		}
		return errs, nil
	}}
	const n = 50
	got := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = g.Do(context.Background(), i) }()
	}
	wg.Wait()
	for i, err := range got {
		if (err != nil) != (i%2 == 1) || (err != nil && err.Error() != fmt.Sprintf("odd %d", i)) {
			t.Errorf("item %d: %v", i, err)
		}
	}
}
