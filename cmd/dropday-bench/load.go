package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The load generator: a fixed number of keep-alive connections, each a
// closed loop (send, read the whole answer, send again), speaking just
// enough HTTP/1.1 to be cheap, so the server rather than the client is what
// the two cores spend their time on. Latency is measured per request, from
// the first byte written to the last byte read; percentiles come from the
// sorted samples.

// request builds the i-th request's bytes (i counts across connections).
type request func(i int64) []byte

// loadResult is one scenario's measurement.
type loadResult struct {
	name     string
	requests int           // answered with the expected status, in the window
	answered int           // answered with the expected status, warm-up included
	errors   int           // anything else: other statuses, broken connections
	window   time.Duration // the measured time
	lat      []time.Duration
	status   map[int]int // unexpected statuses seen
}

func (r loadResult) rps() float64 { return float64(r.requests) / r.window.Seconds() }

// pct is the p-th percentile (0 < p ≤ 100) of the latencies.
func (r loadResult) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat))*p/100+0.5) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

// closedLoop runs conns connections against addr for warm+dur; only the
// requests sent after warm count. want is the status a good answer has.
func closedLoop(ctx context.Context, name, addr string, conns int, warm, dur time.Duration, want int, req request) (loadResult, error) {
	var seq atomic.Int64
	start := time.Now()
	measureFrom, stopAt := start.Add(warm), start.Add(warm+dur)
	type part struct {
		ok, bad, all int
		lat          []time.Duration
		status       map[int]int
		err          error
	}
	parts := make([]part, conns)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &parts[w]
			p.status = map[int]int{}
			var c *rawConn
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for ctx.Err() == nil {
				if c == nil {
					var err error
					if c, err = dial(addr); err != nil {
						p.err = err
						return
					}
				}
				b := req(seq.Add(1))
				t0 := time.Now()
				if !t0.Before(stopAt) {
					return
				}
				st, err := c.do(b)
				took := time.Since(t0)
				if err == nil && st == want {
					p.all++
				}
				if t0.Before(measureFrom) {
					if err != nil {
						c.Close()
						c = nil
					}
					continue
				}
				switch {
				case err != nil:
					p.bad++
					c.Close()
					c = nil
				case st != want:
					p.bad++
					p.status[st]++
				default:
					p.ok++
					p.lat = append(p.lat, took)
				}
			}
		}()
	}
	wg.Wait()
	res := loadResult{name: name, window: dur, status: map[int]int{}}
	for _, p := range parts {
		if p.err != nil {
			return res, fmt.Errorf("%s: %w", name, p.err)
		}
		res.requests += p.ok
		res.answered += p.all
		res.errors += p.bad
		res.lat = append(res.lat, p.lat...)
		for k, v := range p.status {
			res.status[k] += v
		}
	}
	slices.Sort(res.lat)
	return res, ctx.Err()
}

// merge adds another measurement of the same scenario.
func (r *loadResult) merge(o loadResult) {
	r.requests += o.requests
	r.answered += o.answered
	r.errors += o.errors
	r.window += o.window
	r.lat = append(r.lat, o.lat...)
	slices.Sort(r.lat)
	if r.status == nil {
		r.status = map[int]int{}
	}
	for k, v := range o.status {
		r.status[k] += v
	}
}

// rawConn is one keep-alive HTTP/1.1 connection.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dial(addr string) (*rawConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawConn{Conn: c, r: bufio.NewReaderSize(c, 32<<10)}, nil
}

var errProtocol = errors.New("load: malformed HTTP answer")

// do sends one request and reads its whole answer, returning the status.
func (c *rawConn) do(req []byte) (int, error) {
	if _, err := c.Write(req); err != nil {
		return 0, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, errProtocol
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, errProtocol
	}
	length, chunked, closing := -1, false, false
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(bytes.TrimRight(h, "\r\n"), []byte(":"))
		if !ok {
			return 0, errProtocol
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, errProtocol
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case status == 304 || status == 204:
	case chunked:
		for {
			sz, err := c.r.ReadSlice('\n')
			if err != nil {
				return 0, err
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(sz)), 16, 64)
			if err != nil {
				return 0, errProtocol
			}
			if n == 0 {
				if _, err := c.r.Discard(2); err != nil { // the last CRLF (no trailers are sent)
					return 0, err
				}
				break
			}
			if _, err := c.r.Discard(int(n) + 2); err != nil {
				return 0, err
			}
		}
	case length >= 0:
		if _, err := c.r.Discard(length); err != nil {
			return 0, err
		}
	default:
		return 0, errProtocol
	}
	if closing {
		return status, io.EOF
	}
	return status, nil
}

// get is a GET request's bytes, as a phone browser sends it (analytics counts it).
func get(addr, path string, header ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: text/html\r\n", path, addr, phoneUA)
	for i := 0; i+1 < len(header); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", header[i], header[i+1])
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// post is a form POST's bytes.
func post(addr, path, form string, header ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n",
		path, addr, phoneUA, len(form))
	for i := 0; i+1 < len(header); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", header[i], header[i+1])
	}
	b.WriteString("\r\n")
	b.WriteString(form)
	return b.Bytes()
}

const phoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

// fanIP is the i-th fan's address, sent as X-Forwarded-For from the
// trusted loopback "proxy": the per-address signup limit applies per fan.
func fanIP(i int64) string {
	return fmt.Sprintf("10.%d.%d.%d", (i>>16)&255, (i>>8)&255, i&255)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
