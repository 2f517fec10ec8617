// Command dropday-bench is `make bench`: release day at full scale. It seeds
// N pending Spotify pre-saves on SQLite (and on PostgreSQL when
// DROPDAY_TEST_POSTGRES_DSN is set), starts the Spotify stand-in with
// per-request latency and a rolling-window rate limit, runs the real
// `dropday serve` (scheduler and workers) as a child process, and prints one
// table of ratios and counts. Ratios, not absolute times: these machines are
// noisy, and what matters is how close dropday comes to the platform's limit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/proc"
	"github.com/dropday/dropday/internal/seed"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/vault"
	"github.com/dropday/dropday/models"
)

// Targets the issue holds release day to.
const (
	targetRatio   = 0.90
	target429     = 0.01
	targetRSSMB   = 256.0
	targetRSSForN = 100_000
)

type options struct {
	n        int
	latency  time.Duration
	limit    int // saves per second the stand-in allows (rolling 30 s window)
	workers  int
	headroom float64 // dropday is told limit × headroom (DROPDAY_SPOTIFY_RATE)
	timeout  time.Duration
	pgDSN    string
	only     string

	conns    int
	warm     time.Duration
	pagesDur time.Duration // each public-page scenario; 0 skips them
	dayN     int           // pre-saves of the release-day load; 0 skips it
	dayFans  bool          // false: the release-day run without its fans (to compare)

	mailN       int
	mailRate    int // requests per second the Resend stand-in allows
	mailLatency time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 100_000, "pending pre-saves to deliver (0 skips the run)")
	flag.DurationVar(&o.latency, "latency", 25*time.Millisecond, "the stand-in's latency per request")
	flag.IntVar(&o.limit, "limit", 2000, "saves per second the stand-in allows, over a rolling 30 s window")
	flag.IntVar(&o.workers, "workers", 256, "DROPDAY_WORKERS for the run")
	flag.Float64Var(&o.headroom, "headroom", 0.95, "DROPDAY_SPOTIFY_RATE = limit × headroom, as an operator would set it")
	flag.DurationVar(&o.timeout, "timeout", 0, "give up after (default: 3 × N/limit + 2 min)")
	flag.StringVar(&o.only, "only", "", "run only this store: sqlite or postgres")
	flag.IntVar(&o.mailN, "mail-n", 100_000, "subscribers of the release-day email run (0 skips it)")
	flag.IntVar(&o.mailRate, "mail-rate", 10, "requests per second the Resend stand-in allows (100 emails each)")
	flag.DurationVar(&o.mailLatency, "mail-latency", 25*time.Millisecond, "the Resend stand-in's latency per request")
	flag.IntVar(&o.conns, "conns", 256, "connections of the public-page load")
	flag.DurationVar(&o.warm, "warm", 2*time.Second, "warm-up before each public-page measurement")
	flag.DurationVar(&o.pagesDur, "pages", 10*time.Second, "how long each public-page scenario is measured (0 skips them)")
	flag.IntVar(&o.dayN, "day-n", 100_000, "pending pre-saves of the release-day load on SQLite (0 skips it)")
	flag.BoolVar(&o.dayFans, "day-fans", true, "send the release-day fans (false measures the same run without them)")
	flag.Parse()
	o.pgDSN = os.Getenv("DROPDAY_TEST_POSTGRES_DSN")
	if o.timeout == 0 {
		o.timeout = 3*time.Duration(o.n/max(o.limit, 1))*time.Second + 2*time.Minute
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dropday-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "dropday-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintln(out, "building dropday …")
	bin, err := proc.Build(ctx, tmp)
	if err != nil {
		return err
	}
	var rows []result
	var mailRows []mailResult
	var errs []error
	// The public pages first: they are quick, and need nothing but SQLite.
	var pages *pagesResult
	if o.pagesDur > 0 && (o.only == "" || o.only == "sqlite") {
		if r, err := runPages(ctx, o, bin, tmp, out); err != nil {
			errs = append(errs, fmt.Errorf("public pages: %w", err))
		} else {
			pages = &r
		}
	}
	// fresh gives each run its own empty database.
	type store struct {
		name  string
		fresh func(run string) (string, func(), error)
	}
	var stores []store
	if o.only == "" || o.only == "sqlite" {
		stores = append(stores, store{"sqlite", func(run string) (string, func(), error) {
			return "sqlite://" + tmp + "/sqlite-" + run + "/dropday.db", func() {}, nil
		}})
	}
	if o.only == "" || o.only == "postgres" {
		if o.pgDSN == "" {
			fmt.Fprintln(out, "PostgreSQL: skipped (set DROPDAY_TEST_POSTGRES_DSN to include it)")
		} else {
			stores = append(stores, store{"postgres", func(string) (string, func(), error) { return freshPostgres(ctx, o.pgDSN) }})
		}
	}
	for _, st := range stores {
		if o.n > 0 {
			dbURL, drop, err := st.fresh("deliver")
			if err == nil {
				var r result
				r, err = runOne(ctx, o, bin, tmp, st.name, dbURL, out)
				drop()
				rows = append(rows, r)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s deliveries: %w", st.name, err))
				rows = rows[:max(0, len(rows)-1)]
			}
		}
		if o.mailN > 0 {
			dbURL, drop, err := st.fresh("email")
			if err == nil {
				var r mailResult
				r, err = runMail(ctx, o, bin, tmp, st.name, dbURL, out)
				drop()
				mailRows = append(mailRows, r)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s email: %w", st.name, err))
				mailRows = mailRows[:max(0, len(mailRows)-1)]
			}
		}
	}
	var day *dayResult
	if o.dayN > 0 && (o.only == "" || o.only == "sqlite") {
		if r, err := runDay(ctx, o, bin, tmp, out); err != nil {
			errs = append(errs, fmt.Errorf("release day under load: %w", err))
		} else {
			day = &r
		}
	}
	// A store that failed does not hide the others' rows.
	if pages != nil {
		printPages(out, o, *pages)
	}
	if len(rows) > 0 {
		printTable(out, o, rows)
	}
	if len(mailRows) > 0 {
		printMailTable(out, o, mailRows)
	}
	if day != nil {
		alone := 0.0
		for _, r := range rows {
			if r.store == "sqlite" {
				alone = r.achieved()
			}
		}
		printDay(out, o, *day, alone)
	}
	return errors.Join(errs...)
}

// result is one store's row.
type result struct {
	store       string
	n           int
	wall        time.Duration
	delivered   int
	failed      int
	lost        int
	saves       int
	saveSpan    time.Duration
	apiCalls    int
	tooMany     int
	duplicates  int
	peakRSS     int64
	finishedAll bool
}

func (r result) deliveriesPerSec() float64 { return float64(r.delivered) / r.wall.Seconds() }

// achieved is the save rate the stand-in saw, from its first save to its last.
func (r result) achieved() float64 {
	if r.saveSpan <= 0 {
		return 0
	}
	return float64(r.saves-1) / r.saveSpan.Seconds()
}

func runOne(ctx context.Context, o options, bin, tmp, name, dbURL string, out io.Writer) (result, error) {
	res := result{store: name, n: o.n}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return res, err
	}
	defer db.Close()
	if err := store.Migrate(ctx, db, log, time.Minute); err != nil {
		return res, err
	}

	sp := spotifytest.New(spotifytest.Options{Seed: 1})
	defer sp.Close()
	sp.SetLatency(o.latency)
	sp.SetRateLimit(o.limit*int(spotifytest.RateWindow/time.Second), false)

	keys, err := seed.MasterKeys()
	if err != nil {
		return res, err
	}
	k, err := vault.Parse(keys)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(out, "%s: seeding %d pre-saves …\n", name, o.n)
	now := time.Now()
	l, err := seed.Link(ctx, db, "bench", now, now)
	if err != nil {
		return res, err
	}
	fans := seed.Fans(o.n, sp.Grant)
	if err := seed.Presaves(ctx, db, k, l, fans, now); err != nil {
		return res, err
	}

	env := map[string]string{
		"DROPDAY_DATABASE_URL":          dbURL,
		"DROPDAY_DATA_DIR":              tmp + "/data-" + name,
		"DROPDAY_MASTER_KEYS":           keys,
		"DROPDAY_SPOTIFY_CLIENT_ID":     sp.ClientID(),
		"DROPDAY_SPOTIFY_CLIENT_SECRET": sp.ClientSecret(),
		"DROPDAY_SPOTIFY_ACCOUNTS_URL":  sp.URL,
		"DROPDAY_SPOTIFY_API_URL":       sp.URL,
		"DROPDAY_DEEZER_CATALOG":        "false", // only the Spotify stand-in runs
		"DROPDAY_WORKERS":               strconv.Itoa(o.workers),
		"DROPDAY_SPOTIFY_RATE":          strconv.FormatFloat(float64(o.limit)*o.headroom, 'f', -1, 64),
		"DROPDAY_SCHEDULER_INTERVAL":    "1s",
	}
	fmt.Fprintf(out, "%s: delivering …\n", name)
	start := time.Now()
	p, err := proc.Start(ctx, bin, env)
	if err != nil {
		return res, err
	}
	defer p.Kill()
	deadline := start.Add(o.timeout)
	if res.finishedAll, err = waitDelivered(ctx, db, l.ID, p, deadline); err != nil {
		return res, err
	}
	res.wall = time.Since(start)
	if res.peakRSS, err = p.PeakRSS(); err != nil {
		return res, err
	}
	if err := p.Stop(30 * time.Second); err != nil {
		fmt.Fprintf(out, "%s: %v\n", name, err)
	}

	if res.delivered, err = countState(ctx, db, l.ID, models.PresaveDelivered); err != nil {
		return res, err
	}
	if res.failed, err = countState(ctx, db, l.ID, models.PresaveFailed); err != nil {
		return res, err
	}
	if res.lost, err = countState(ctx, db, l.ID, models.PresavePending); err != nil {
		return res, err
	}
	saved := sp.Saved()
	res.saves, res.saveSpan = len(saved), span(saved, func(s spotifytest.Save) time.Time { return s.At })
	for _, n := range sp.RequestCounts()[spotifytest.EndpointLibrary] {
		res.apiCalls += n
	}
	res.tooMany = sp.RateLimited()
	res.duplicates = sp.Duplicates()
	return res, nil
}

// waitDelivered polls until no pre-save of the link is pending (true), the
// deadline passes or ctx ends (false), or dropday exits (an error).
func waitDelivered(ctx context.Context, db bun.IDB, linkID int64, p *proc.Process, deadline time.Time) (bool, error) {
	for {
		pending, err := countState(ctx, db, linkID, models.PresavePending)
		if err != nil {
			return false, err
		}
		if pending == 0 {
			return true, nil
		}
		if exited, perr := p.Exited(); exited {
			return false, fmt.Errorf("dropday exited mid-run (%v):\n%s", perr, tail(p.Logs()))
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func countState(ctx context.Context, db bun.IDB, linkID int64, state string) (int, error) {
	n, err := db.NewSelect().Model((*models.Presave)(nil)).Where("link_id = ? AND state = ?", linkID, state).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", state, err)
	}
	return int(n), nil
}

// freshPostgres creates a database for one run next to the one dsn names.
func freshPostgres(ctx context.Context, dsn string) (string, func(), error) {
	admin, err := store.Open(ctx, dsn)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("dropday_bench_%d_%d", os.Getpid(), time.Now().Unix())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "dropday-bench: drop", name+":", err)
		}
		admin.Close()
	}
	return u.String(), drop, nil
}

func printTable(out io.Writer, o options, rows []result) {
	fmt.Fprintf(out, "\nrelease day: %d pending Spotify pre-saves; stand-in latency %s, limit %d saves/s (rolling %s); DROPDAY_WORKERS=%d, DROPDAY_SPOTIFY_RATE=%.0f\n\n",
		o.n, o.latency, o.limit, spotifytest.RateWindow, o.workers, float64(o.limit)*o.headroom)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "store\tpre-saves\twall\tdeliveries/s\tachieved ÷ limit\t429s (of calls)\tduplicates\tlost\tfailed\tpeak RSS\t")
	for _, r := range rows {
		frac := 0.0
		if r.apiCalls > 0 {
			frac = float64(r.tooMany) / float64(r.apiCalls)
		}
		fmt.Fprintf(w, "%s\t%d\t%.1fs\t%.0f\t%.2f %s\t%d (%.2f%%) %s\t%d %s\t%d %s\t%d\t%.0f MB %s\t\n",
			r.store, r.n, r.wall.Seconds(), r.deliveriesPerSec(),
			r.achieved()/float64(o.limit), mark(r.achieved()/float64(o.limit) >= targetRatio),
			r.tooMany, 100*frac, mark(frac < target429),
			r.duplicates, mark(r.duplicates == 0),
			r.lost, mark(r.lost == 0 && r.finishedAll),
			r.failed,
			float64(r.peakRSS)/(1<<20), rssMark(o.n, r.peakRSS))
	}
	fmt.Fprintf(w, "target\t\t\t\t≥ %.2f\t< %.0f%%\t0\t0\t\t< %.0f MB for %d\t\n", targetRatio, 100*target429, targetRSSMB, targetRSSForN)
	w.Flush()
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

func rssMark(n int, rss int64) string {
	if n != targetRSSForN {
		return " "
	}
	return mark(float64(rss)/(1<<20) < targetRSSMB)
}

// span is the time from the earliest to the latest of items' times (0 for fewer than two).
func span[T any](items []T, at func(T) time.Time) time.Duration {
	if len(items) < 2 {
		return 0
	}
	first, last := at(items[0]), at(items[0])
	for _, it := range items[1:] {
		if t := at(it); t.Before(first) {
			first = t
		} else if t.After(last) {
			last = t
		}
	}
	return last.Sub(first)
}

func tail(s string) string {
	if i := len(s) - 4000; i > 0 {
		return "…" + s[i:]
	}
	return s
}
