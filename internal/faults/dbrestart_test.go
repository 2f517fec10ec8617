package faults

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/proc"
	"github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/store"
)

// tcpProxy stands between the instances and PostgreSQL. Down drops every
// connection and refuses new ones (the port is closed); Up listens again on
// the same port. To a client that is what a PostgreSQL restart looks like,
// and unlike restarting the real server it works in every CI (see
// docs/decisions.md).
type tcpProxy struct {
	target, addr string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{target: target, addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]struct{}{}}
	go p.serve(ln)
	t.Cleanup(p.Down)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *tcpProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil { // went down meanwhile
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *tcpProxy) pipe(c net.Conn) {
	if !p.track(c) {
		return
	}
	u, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil || !p.track(u) {
		c.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(u, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, u); done <- struct{}{} }()
	<-done
	c.Close()
	u.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// Down closes the port and every connection through it.
func (p *tcpProxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Up listens on the same port again.
func (p *tcpProxy) Up() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("proxy: listen again on %s: %w", p.addr, err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go p.serve(ln)
	return nil
}

const (
	restartN = 5000
	// outage is how long the database is gone: longer than a job lease
	// (3 s), so leases of jobs whose outcome could not be written expire.
	outage = 4 * time.Second
)

// readyz is the status of a process's /readyz (0 when it does not answer).
func readyz(p *proc.Process) int {
	res, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + p.Addr + "/readyz")
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// TestDatabaseRestart cuts two instances off PostgreSQL for four seconds in
// the middle of delivering 5,000 pre-saves, as a restart of the server
// does: /readyz turns 503 on both while it is gone, they reconnect on their
// own, and every pre-save ends delivered and counted once, with repeats at
// most the jobs that were running when the connections dropped.
func TestDatabaseRestart(t *testing.T) {
	onPostgres(t, func(t *testing.T, db *bun.DB, dbURL string) {
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		proxy := newTCPProxy(t, u.Host)
		u.Host = proxy.addr
		r := newReleaseDayN(t, db, u.String(), restartN)
		begin := time.Now()
		deadline := begin.Add(2 * time.Minute)
		c := newCluster(t, r.env, 2)
		waitFor(t, "a third of the saves", deadline, 5*time.Millisecond, c.procs, func() (bool, string, error) {
			n := len(r.sp.Saved())
			return n >= restartN/3, fmt.Sprintf("%d saves", n), nil
		})
		proxy.Down()
		down := time.Now()
		savesAtCut := len(r.sp.Saved())
		// The test's own connection goes straight to PostgreSQL.
		inflight, err := db.NewSelect().Table("jobs").Where("kind = ?", release.KindDeliver).
			Where("state = ?", jobs.StateRunning).Count(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "/readyz 503 on both instances", down.Add(outage), 50*time.Millisecond, c.procs, func() (bool, string, error) {
			a, b := readyz(c.procs[0]), readyz(c.procs[1])
			return a == http.StatusServiceUnavailable && b == http.StatusServiceUnavailable, fmt.Sprintf("/readyz %d and %d", a, b), nil
		})
		time.Sleep(time.Until(down.Add(outage))) // the rest of the outage
		if err := proxy.Up(); err != nil {
			t.Fatal(err)
		}
		up := time.Now()
		waitFor(t, "/readyz 200 on both instances", up.Add(30*time.Second), 50*time.Millisecond, c.procs, func() (bool, string, error) {
			a, b := readyz(c.procs[0]), readyz(c.procs[1])
			return a == http.StatusOK && b == http.StatusOK, fmt.Sprintf("/readyz %d and %d", a, b), nil
		})
		ready := time.Since(up)
		r.waitDone(t, deadline, c.procs...)
		repeats := r.checkDelivered(t)
		t.Logf("%d pre-saves, 2 instances: database cut at %s (%d saves, %d jobs running) for %s; ready again %s after it came back; settled in %s; %d repeats (bound %d)",
			restartN, down.Sub(begin).Round(time.Millisecond), savesAtCut, inflight, outage,
			ready.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond), repeats, inflight)
		if int64(repeats) > inflight {
			t.Errorf("%d repeated saves, want at most %d (the jobs running when the database went)", repeats, inflight)
		}
	})
}

// TestReadyWhileMigrating starts `dropday serve` while another process holds
// the migration lock (a long migration elsewhere): it answers at once, alive
// (/healthz 200) but not ready (/readyz 503), and turns ready when the
// migration is done.
func TestReadyWhileMigrating(t *testing.T) {
	eachDB(t, func(t *testing.T, db *bun.DB, url string, _ bool) {
		release, err := store.MigrationLock(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		p, err := proc.Launch(bin, map[string]string{"DROPDAY_DATABASE_URL": url, "DROPDAY_DATA_DIR": t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Kill)
		get := func(path string) int {
			res, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + p.Addr + path)
			if err != nil {
				return 0
			}
			res.Body.Close()
			return res.StatusCode
		}
		waitFor(t, "/healthz 200 while migrating", time.Now().Add(30*time.Second), 20*time.Millisecond, []*proc.Process{p}, func() (bool, string, error) {
			st := get("/healthz")
			return st == http.StatusOK, fmt.Sprintf("/healthz %d", st), nil
		})
		for _, path := range []string{"/readyz", "/login"} {
			if st := get(path); st != http.StatusServiceUnavailable {
				t.Errorf("%s while the migration lock is held: %d, want 503", path, st)
			}
		}
		release()
		if err := p.WaitReady(t.Context(), 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if st := get("/login"); st != http.StatusOK {
			t.Errorf("/login once ready: %d", st)
		}
	})
}
