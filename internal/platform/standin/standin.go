// Package standin holds what the catalog stand-ins (appletest, deezertest,
// tidaltest) share: a settable clock, latency, injected faults, request
// counters, "visible from" release times, and the small pages a stand-in
// serves in place of a platform's website (covers and "listen" pages), so a
// click in a test or the demo never leaves the machine.
package standin

import (
	"hash/fnv"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Fault is an injected failure.
type Fault struct {
	// Endpoint limits the fault to one endpoint (the stand-in's Endpoint*
	// constants); empty means any.
	Endpoint string
	// Status is answered (500, 502, 503, 429, ...) in the platform's error shape.
	Status int
	// RetryAfter is sent with a 429 (seconds; 0 sends no header).
	RetryAfter int
	// Hang holds the request until the client gives up or the server closes.
	Hang bool
}

// Base is embedded by every catalog stand-in; its methods are the stand-ins'
// common knobs and counters. The zero value is not ready: call Init.
type Base struct {
	mu        sync.Mutex
	now       func() time.Time
	latency   time.Duration
	faults    []Fault
	requests  map[string]map[int]int
	closing   chan struct{}
	closeOnce sync.Once
}

// Init readies b with a clock (nil means time.Now).
func (b *Base) Init(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	b.now = now
	b.requests = map[string]map[int]int{}
	b.closing = make(chan struct{})
}

// SetClock replaces the clock that release visibility and rate windows are
// judged by (nil means time.Now).
func (b *Base) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	b.mu.Lock()
	b.now = now
	b.mu.Unlock()
}

// Now reads the stand-in's clock.
func (b *Base) Now() time.Time {
	b.mu.Lock()
	now := b.now
	b.mu.Unlock()
	return now()
}

// SetLatency delays every request by d.
func (b *Base) SetLatency(d time.Duration) {
	b.mu.Lock()
	b.latency = d
	b.mu.Unlock()
}

// FailNext makes the next n matching requests fail with f.
func (b *Base) FailNext(n int, f Fault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for range n {
		b.faults = append(b.faults, f)
	}
}

// ClearFaults drops every injected fault.
func (b *Base) ClearFaults() {
	b.mu.Lock()
	b.faults = nil
	b.mu.Unlock()
}

// Requests is how many requests to endpoint got status (status 0: any
// status; a request that got no answer counts under status 0 only).
func (b *Base) Requests(endpoint string, status int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if status != 0 {
		return b.requests[endpoint][status]
	}
	n := 0
	for _, c := range b.requests[endpoint] {
		n += c
	}
	return n
}

// CloseBase releases hung requests (the stand-in's Close calls it).
func (b *Base) CloseBase() { b.closeOnce.Do(func() { close(b.closing) }) }

// Serve runs one request: it counts it under endpoint, waits the latency,
// answers an injected fault with fault (hanging ones hang), and otherwise
// calls next.
func (b *Base) Serve(w http.ResponseWriter, r *http.Request, endpoint string, fault func(http.ResponseWriter, Fault), next func(http.ResponseWriter)) {
	rec := &Recorder{ResponseWriter: w}
	defer func() {
		b.mu.Lock()
		if b.requests[endpoint] == nil {
			b.requests[endpoint] = map[int]int{}
		}
		b.requests[endpoint][rec.Status]++
		b.mu.Unlock()
	}()
	b.mu.Lock()
	latency := b.latency
	var f *Fault
	for i := range b.faults {
		if b.faults[i].Endpoint == "" || b.faults[i].Endpoint == endpoint {
			ff := b.faults[i]
			f = &ff
			b.faults = append(b.faults[:i], b.faults[i+1:]...)
			break
		}
	}
	b.mu.Unlock()
	if latency > 0 && !b.wait(r, latency) {
		return
	}
	if f != nil {
		if f.Hang {
			select {
			case <-r.Context().Done():
			case <-b.closing:
			}
			return
		}
		fault(rec, *f)
		return
	}
	next(rec)
}

func (b *Base) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-b.closing:
	}
	return false
}

// Recorder remembers the status a handler answered with (200 when it only
// wrote a body), for counting and for records of token requests.
type Recorder struct {
	http.ResponseWriter
	Status int
}

func (r *Recorder) WriteHeader(code int) {
	if r.Status == 0 {
		r.Status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *Recorder) Write(p []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

// Visible tells whether something visible from from is visible at now (the
// zero time means always).
func Visible(from, now time.Time) bool { return from.IsZero() || !now.Before(from) }

// Window counts requests in a rolling window, for a stand-in's rate limit.
type Window struct {
	Limit int           // requests allowed per Span; 0 turns the limit off
	Span  time.Duration // the window
	times []time.Time
}

// Take counts a request at now, or says how long until one is allowed.
func (w *Window) Take(now time.Time) (wait time.Duration, ok bool) {
	if w.Limit <= 0 {
		return 0, true
	}
	i := 0
	for i < len(w.times) && now.Sub(w.times[i]) >= w.Span {
		i++
	}
	w.times = w.times[i:]
	if len(w.times) < w.Limit {
		w.times = append(w.times, now)
		return 0, true
	}
	return w.times[0].Add(w.Span).Sub(now), false
}

// Cover answers a plain square PNG of the requested size (clamped to
// 16..1200) in a colour picked from key, in place of a platform's artwork.
func Cover(w http.ResponseWriter, key string, size int) {
	size = min(max(size, 16), 1200)
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	v := h.Sum32()
	img := image.NewUniform(color.RGBA{uint8(v), uint8(v >> 8), uint8(v >> 16), 255})
	rgba := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			rgba.Set(x, y, img.C)
		}
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "max-age=3600")
	_ = png.Encode(w, rgba)
}

// SizeParam reads a size like "640" or "640x640" (the first number).
func SizeParam(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
		if n > 10000 {
			break
		}
	}
	if n == 0 {
		return 640
	}
	return n
}

var listenTmpl = template.Must(template.New("listen").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Name}} · {{.Platform}} (stand-in)</title>
<style>body{font-family:system-ui,sans-serif;margin:0;padding:0 16px;display:grid;place-items:center;min-height:100vh;background:#111;color:#eee;text-align:center}img{width:240px;height:240px;border-radius:8px}small{color:#999}</style>
</head><body><main data-testid="standin-listen" data-platform="{{.Platform}}" data-kind="{{.Kind}}" data-id="{{.ID}}">
{{if .Artwork}}<img src="{{.Artwork}}" alt="">{{end}}
<h1>{{.Name}}</h1><p>{{.Artist}}</p>
<p><small>{{.Platform}} {{.Kind}} {{.ID}} — a local stand-in for the platform's page</small></p>
</main></body></html>`))

// Listen is what a stand-in's "listen" page shows.
type Listen struct {
	Platform, Kind, ID, Name, Artist, Artwork string
}

// ListenPage answers the stand-in's page for a release (the URL the smart
// link's button opens).
func ListenPage(w http.ResponseWriter, l Listen) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = listenTmpl.Execute(w, l)
}

// NotFoundPage answers a plain 404 for a page the stand-in does not have.
func NotFoundPage(w http.ResponseWriter) {
	http.Error(w, "not found (stand-in)", http.StatusNotFound)
}

// Itoa is strconv.FormatInt for ids.
func Itoa(n int64) string { return strconv.FormatInt(n, 10) }
