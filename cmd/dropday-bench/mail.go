package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/dropday/dropday/internal/mail/resendtest"
	"github.com/dropday/dropday/internal/proc"
	"github.com/dropday/dropday/internal/seed"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// mailResult is one store's row of the release-day email run.
type mailResult struct {
	store       string
	n           int
	wall        time.Duration
	sent        int // recipients recorded as sent
	received    int // distinct subscribers the stand-in got an email for
	requests    int // accepted requests at the stand-in
	span        time.Duration
	tooMany     int
	duplicates  int
	lost        int
	peakRSS     int64
	finishedAll bool
}

func (r mailResult) emailsPerSec() float64 { return float64(r.sent) / r.wall.Seconds() }

// achieved is the request rate the stand-in saw, first accepted to last.
func (r mailResult) achieved() float64 {
	if r.span <= 0 {
		return 0
	}
	return float64(r.requests-1) / r.span.Seconds()
}

// runMail sends one broadcast to o.mailN subscribers through the Resend
// stand-in, by the real scheduler and workers of a `dropday serve` child.
func runMail(ctx context.Context, o options, bin, tmp, name, dbURL string, out io.Writer) (mailResult, error) {
	res := mailResult{store: name, n: o.mailN}
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return res, err
	}
	defer db.Close()
	if err := store.Migrate(ctx, db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Minute); err != nil {
		return res, err
	}
	rs := resendtest.New(resendtest.Options{Rate: o.mailRate, DiscardBodies: true})
	defer rs.Close()
	rs.SetLatency(o.mailLatency)

	fmt.Fprintf(out, "%s: seeding %d subscribers …\n", name, o.mailN)
	now := time.Now()
	l, err := seed.Link(ctx, db, "bench", now, now)
	if err != nil {
		return res, err
	}
	emails, err := seed.Subscribers(ctx, db, l, o.mailN, now)
	if err != nil {
		return res, err
	}
	b, err := seed.Broadcast(ctx, db, l, now, now)
	if err != nil {
		return res, err
	}
	env := map[string]string{
		"DROPDAY_DATABASE_URL":       dbURL,
		"DROPDAY_DATA_DIR":           tmp + "/data-mail-" + name,
		"DROPDAY_MAIL_DRIVER":        "resend",
		"DROPDAY_MAIL_FROM":          "Mara Lune <news@example.com>",
		"DROPDAY_RESEND_API_KEY":     rs.APIKey(),
		"DROPDAY_RESEND_BASE_URL":    rs.URL,
		"DROPDAY_RESEND_RATE":        strconv.FormatFloat(float64(o.mailRate)*o.headroom, 'f', -1, 64),
		"DROPDAY_SCHEDULER_INTERVAL": "1s",
	}
	fmt.Fprintf(out, "%s: sending …\n", name)
	start := time.Now()
	p, err := proc.Start(ctx, bin, env)
	if err != nil {
		return res, err
	}
	defer p.Kill()
	deadline := start.Add(3*time.Duration(o.mailN/max(o.mailRate*100, 1))*time.Second + 2*time.Minute)
	for {
		cur, err := store.BroadcastByID(ctx, db, b.ID)
		if err != nil {
			return res, err
		}
		if cur.State == models.BroadcastSent {
			res.finishedAll = true
			break
		}
		if cur.State == models.BroadcastPaused {
			return res, fmt.Errorf("the broadcast paused: %s", cur.PauseReason)
		}
		if exited, perr := p.Exited(); exited {
			return res, fmt.Errorf("dropday exited mid-run (%v):\n%s", perr, tail(p.Logs()))
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.wall = time.Since(start)
	if res.peakRSS, err = p.PeakRSS(); err != nil {
		return res, err
	}
	if err := p.Stop(30 * time.Second); err != nil {
		fmt.Fprintf(out, "%s: %v\n", name, err)
	}
	counts, err := store.RecipientCounts(ctx, db, b.ID)
	if err != nil {
		return res, err
	}
	res.sent = counts[models.RecipientSent]
	for _, e := range emails {
		if rs.Received(e) > 0 {
			res.received++
		}
	}
	res.lost = o.mailN - res.received
	ms := rs.Emails()
	if len(ms) > 1 {
		batches := map[string]bool{}
		for _, m := range ms {
			batches[m.IdempotencyKey] = true
		}
		res.span, res.requests = span(ms, func(m resendtest.Email) time.Time { return m.At }), len(batches)
	}
	res.tooMany = rs.RateLimited()
	res.duplicates = rs.Duplicates()
	return res, nil
}

func printMailTable(out io.Writer, o options, rows []mailResult) {
	fmt.Fprintf(out, "\nrelease-day email: %d subscribers; Resend stand-in latency %s, limit %d requests/s (%d emails/s); DROPDAY_RESEND_RATE=%.1f\n\n",
		o.mailN, o.mailLatency, o.mailRate, o.mailRate*100, float64(o.mailRate)*o.headroom)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "store\tsubscribers\twall\temails/s\tachieved ÷ allowed\t429s\tduplicates\tlost\tpeak RSS\t")
	for _, r := range rows {
		ratio := r.achieved() / float64(o.mailRate)
		fmt.Fprintf(w, "%s\t%d\t%.1fs\t%.0f\t%.2f %s\t%d\t%d %s\t%d %s\t%.0f MB %s\t\n",
			r.store, r.n, r.wall.Seconds(), r.emailsPerSec(), ratio, mark(ratio >= targetRatio), r.tooMany,
			r.duplicates, mark(r.duplicates == 0), r.lost, mark(r.lost == 0 && r.finishedAll),
			float64(r.peakRSS)/(1<<20), rssMark(r.n, r.peakRSS))
	}
	fmt.Fprintf(w, "target\t\t\t\t≥ %.2f\t\t0\t0\t< %.0f MB for %d\t\n", targetRatio, targetRSSMB, targetRSSForN)
	w.Flush()
}
