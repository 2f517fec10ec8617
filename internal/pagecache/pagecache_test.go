package pagecache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func page(body string, exp, until time.Time) *Page {
	return &Page{Status: 200, Body: []byte(body), Expires: exp, Until: until}
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// Fresh pages are not refilled; an expired one is, by one caller, while
// callers that arrive meanwhile get the old copy up to its Until, and wait
// for the refill after it.
func TestRefillServesTheOldCopyUntilItsLimit(t *testing.T) {
	clk := &clock{t: t0}
	c := New(clk.now)
	ctx := context.Background()
	var fills atomic.Int64
	p, err := c.Get(ctx, "k", func(context.Context) (*Page, error) {
		fills.Add(1)
		return page("v1", t0.Add(time.Second), t0.Add(2*time.Second)), nil
	})
	if err != nil || string(p.Body) != "v1" {
		t.Fatalf("first: %v %v", p, err)
	}
	clk.set(t0.Add(999 * time.Millisecond))
	if p, _ := c.Get(ctx, "k", nil); string(p.Body) != "v1" || fills.Load() != 1 {
		t.Fatal("a fresh page was refilled")
	}

	// Expired: one refill, held until released.
	clk.set(t0.Add(time.Second))
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan *Page)
	go func() {
		p, _ := c.Get(ctx, "k", func(context.Context) (*Page, error) {
			close(started)
			<-release
			return page("v2", t0.Add(3*time.Second), t0.Add(4*time.Second)), nil
		})
		done <- p
	}()
	<-started
	if p, _ := c.Get(ctx, "k", nil); string(p.Body) != "v1" {
		t.Fatalf("during the refill: %q, want the old copy", p.Body)
	}
	// Past Until, a caller must wait for the refill instead.
	clk.set(t0.Add(2 * time.Second))
	if _, _, ok := c.lookup("k"); ok {
		t.Fatal("past Until the old copy may still answer")
	}
	waited := make(chan *Page)
	go func() {
		p, _ := c.Get(ctx, "k", func(context.Context) (*Page, error) { return page("v3", t0.Add(3*time.Second), time.Time{}), nil })
		waited <- p
	}()
	close(release)
	if p := <-done; string(p.Body) != "v2" {
		t.Fatalf("the refiller got %q", p.Body)
	}
	if p := <-waited; string(p.Body) != "v2" && string(p.Body) != "v3" {
		t.Fatalf("the waiter got %q, want a refilled page", p.Body)
	}
	if _, _, ok := c.lookup("k"); !ok {
		t.Fatal("the refilled page is not fresh")
	}
}

// A fill that began before Clear is answered but not kept; errors are not cached.
func TestClearDropsFillsInFlightAndErrorsAreNotKept(t *testing.T) {
	clk := &clock{t: t0}
	c := New(clk.now)
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.Get(ctx, "k", func(context.Context) (*Page, error) {
			close(started)
			<-release
			return page("old", t0.Add(time.Hour), time.Time{}), nil
		})
	}()
	<-started
	c.Clear()
	close(release)
	<-done
	if c.Len() != 0 {
		t.Fatal("a fill from before Clear was kept")
	}
	boom := errors.New("database down")
	if _, err := c.Get(ctx, "k", func(context.Context) (*Page, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if c.Len() != 0 {
		t.Fatal("an error was cached")
	}
	if p, err := c.Get(ctx, "k", func(context.Context) (*Page, error) { return page("new", t0.Add(time.Hour), time.Time{}), nil }); err != nil || string(p.Body) != "new" {
		t.Fatalf("after the error: %v %v", p, err)
	}
}
