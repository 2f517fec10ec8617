// Package pagecache keeps rendered public pages in memory, so a request for
// a fresh page is a map look-up and a write, with no database.
//
// Freshness is decided by time only, never by messages between instances:
// a page is kept until the Expires its filler gave it (the cache's TTL, or
// sooner, such as a release time at which the page changes). An expired page
// is refilled by one request; the others for the same key meanwhile get the
// expired copy while it may still be served (Until: never past a release
// time), or else wait for the refill (singleflight). Clear drops everything at once (an edit on this instance);
// a fill that began before a Clear is not stored, so it cannot bring back
// what the edit replaced.
package pagecache

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Page is one rendered page.
type Page struct {
	Status int
	Body   []byte
	// ETag is empty when the page has none (it is then never answered 304).
	ETag string
	// Expires is when the page must be filled again.
	Expires time.Time
	// Until is how long the expired page may still answer requests that
	// arrive while another one refills it (zero: not at all).
	Until time.Time
	// Value is what the filler wants to keep beside the bytes (the link).
	Value any
}

// Filler renders the page for a key. An error is not cached.
type Filler func(ctx context.Context) (*Page, error)

// Cache is safe for concurrent use. The zero value is not: use New.
type Cache struct {
	now func() time.Time

	mu      sync.RWMutex
	pages   map[string]*Page
	filling map[string]bool // keys being refilled
	gen     uint64          // bumped by Clear
	fills   singleflight.Group
}

// New returns an empty cache reading time from now.
func New(now func() time.Time) *Cache {
	return &Cache{now: now, pages: map[string]*Page{}, filling: map[string]bool{}}
}

// fillTimeout bounds a fill that waiting requests share: it runs detached
// from the first request's context, so that request's client going away does
// not fail the others.
const fillTimeout = 10 * time.Second

// Get returns key's page, filling it when missing or expired.
func (c *Cache) Get(ctx context.Context, key string, fill Filler) (*Page, error) {
	p, gen, ok := c.lookup(key)
	if ok {
		return p, nil
	}
	v, err, _ := c.fills.Do(strconv.FormatUint(gen, 10)+"\x00"+key, func() (any, error) {
		c.mu.Lock()
		c.filling[key] = true
		c.mu.Unlock()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fillTimeout)
		defer cancel()
		np, err := fill(fctx)
		c.mu.Lock()
		delete(c.filling, key)
		if c.gen == gen {
			if err != nil {
				delete(c.pages, key) // gone (a renamed slug), or to be asked again
			} else {
				c.pages[key] = np
			}
		}
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return np, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Page), nil
}

// lookup returns key's page and whether it may answer without a fill: it
// is fresh, or another caller is refilling it and it is not past its Until.
func (c *Cache) lookup(key string) (*Page, uint64, bool) {
	c.mu.RLock()
	p, gen, busy := c.pages[key], c.gen, c.filling[key]
	c.mu.RUnlock()
	if p == nil {
		return nil, gen, false
	}
	now := c.now()
	return p, gen, now.Before(p.Expires) || busy && now.Before(p.Until)
}

// Forget drops key's page (a page that no longer exists).
func (c *Cache) Forget(key string) {
	c.mu.Lock()
	delete(c.pages, key)
	c.mu.Unlock()
}

// Clear drops every page; fills already running are not stored.
func (c *Cache) Clear() {
	c.mu.Lock()
	c.pages = map[string]*Page{}
	c.gen++ // c.filling stays: those fills still end, and clear their own marks
	c.mu.Unlock()
}

// Len is the number of pages held.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.pages)
}
