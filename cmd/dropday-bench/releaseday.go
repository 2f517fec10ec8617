package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/proc"
	"github.com/dropday/dropday/internal/seed"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/vault"
	"github.com/dropday/dropday/models"
)

// Release-day load (issue 8, part 5).
const (
	dayViews    = 2000 // fans opening the page in the release minute
	daySignups  = 250  // of the 500 who act: email signups …
	dayPresaves = 250  // … and Spotify pre-save starts
	dayMinute   = time.Minute
	targetDayP  = 100 * time.Millisecond
	targetDayRt = 0.90 // delivery rate ÷ the delivery-only run's
)

// dayResult is the release-day run.
type dayResult struct {
	n                   int
	views, posts        loadResult // GET /{slug}; signup and pre-save POSTs
	wall                time.Duration
	delivered, lost     int
	duplicates, tooMany int
	saves               int
	saveSpan            time.Duration
	finishedAll         bool
}

func (r dayResult) achieved() float64 {
	if r.saveSpan <= 0 {
		return 0
	}
	return float64(r.saves-1) / r.saveSpan.Seconds()
}

// runDay seeds o.dayN pending pre-saves on a link releasing a few seconds
// after `dropday serve` is up; from the release time on, for one minute,
// 2,000 fans open the page and 500 sign up or start a pre-save, at random
// moments (open loop: a slow answer does not slow the arrivals), each on a
// new connection, while the workers deliver.
func runDay(ctx context.Context, o options, bin, tmp string, out io.Writer) (dayResult, error) {
	res := dayResult{n: o.dayN}
	dbURL := "sqlite://" + tmp + "/sqlite-day/dropday.db"
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return res, err
	}
	defer db.Close()
	if err := store.Migrate(ctx, db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Minute); err != nil {
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
	fmt.Fprintf(out, "release day under load: seeding %d pre-saves …\n", o.dayN)
	now := time.Now()
	l, err := seed.Link(ctx, db, "release-day", now.Add(time.Hour), now)
	if err != nil {
		return res, err
	}
	if err := seed.Presaves(ctx, db, k, l, seed.Fans(o.dayN, sp.Grant), now); err != nil {
		return res, err
	}
	// The release is a few seconds after the server is up: the page is the
	// countdown until then, and the release run starts at the scheduler's next tick.
	env := map[string]string{
		"DROPDAY_DATABASE_URL":          dbURL,
		"DROPDAY_DATA_DIR":              tmp + "/data-day",
		"DROPDAY_MASTER_KEYS":           keys,
		"DROPDAY_SPOTIFY_CLIENT_ID":     sp.ClientID(),
		"DROPDAY_SPOTIFY_CLIENT_SECRET": sp.ClientSecret(),
		"DROPDAY_SPOTIFY_ACCOUNTS_URL":  sp.URL,
		"DROPDAY_SPOTIFY_API_URL":       sp.URL,
		"DROPDAY_DEEZER_CATALOG":        "false",
		"DROPDAY_WORKERS":               strconv.Itoa(o.workers),
		"DROPDAY_SPOTIFY_RATE":          strconv.FormatFloat(float64(o.limit)*o.headroom, 'f', -1, 64),
		"DROPDAY_SCHEDULER_INTERVAL":    "1s",
		"DROPDAY_TRUSTED_PROXIES":       "127.0.0.1/32",
	}
	p, err := proc.Start(ctx, bin, env)
	if err != nil {
		return res, err
	}
	defer p.Kill()
	T := time.Now().Add(3 * time.Second).Truncate(time.Second)
	if _, err := db.NewUpdate().Model((*models.Link)(nil)).Set("release_at = ?", T.UTC()).Where("id = ?", l.ID).Exec(ctx); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "release day under load: release at %s; %d views, %d signups and %d pre-saves within the minute …\n",
		T.Format("15:04:05"), dayViews, daySignups, dayPresaves)
	time.Sleep(time.Until(T))
	start := time.Now()
	views, posts := fansMinute(ctx, "http://"+p.Addr, l.Slug, start, o.dayFans)

	deadline := start.Add(3*time.Duration(o.dayN/max(o.limit, 1))*time.Second + 2*time.Minute)
	if res.finishedAll, err = waitDelivered(ctx, db, l.ID, p, deadline); err != nil {
		return res, err
	}
	res.wall = time.Since(start)
	res.views, res.posts = <-views, <-posts
	if err := p.Stop(30 * time.Second); err != nil {
		fmt.Fprintf(out, "release day under load: %v\n", err)
	}
	if res.delivered, err = countState(ctx, db, l.ID, models.PresaveDelivered); err != nil {
		return res, err
	}
	if res.lost, err = countState(ctx, db, l.ID, models.PresavePending); err != nil {
		return res, err
	}
	saved := sp.Saved()
	res.saves, res.saveSpan = len(saved), span(saved, func(s spotifytest.Save) time.Time { return s.At })
	res.duplicates, res.tooMany = sp.Duplicates(), sp.RateLimited()
	return res, nil
}

// fansMinute sends the minute's fans from start on; the results arrive when
// the last fan has its answer.
func fansMinute(ctx context.Context, base, slug string, start time.Time, on bool) (<-chan loadResult, <-chan loadResult) {
	type fan struct {
		at   time.Duration
		kind int // 0 view, 1 signup, 2 pre-save
	}
	var fans []fan
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range dayViews + daySignups + dayPresaves {
		if !on {
			break
		}
		kind := 0
		if i >= dayViews {
			kind = 1
		}
		if i >= dayViews+daySignups {
			kind = 2
		}
		fans = append(fans, fan{at: time.Duration(rnd.Int64N(int64(dayMinute))), kind: kind})
	}
	// A new connection per fan, no redirects followed (the pre-save's goes to Spotify).
	client := &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	views, posts := make(chan loadResult, 1), make(chan loadResult, 1)
	go func() {
		var mu sync.Mutex
		v := loadResult{name: "landing page GET", window: dayMinute, status: map[int]int{}}
		q := loadResult{name: "signup / pre-save POST", window: dayMinute, status: map[int]int{}}
		var wg sync.WaitGroup
		for i, f := range fans {
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case <-time.After(time.Until(start.Add(f.at))):
				case <-ctx.Done():
					return
				}
				ip := fanIP(int64(i + 1))
				var req *http.Request
				want := http.StatusOK
				switch f.kind {
				case 0:
					req, _ = http.NewRequestWithContext(ctx, http.MethodGet, base+"/"+slug, nil)
				case 1:
					form := url.Values{"email": {fmt.Sprintf("day%d@example.com", i)}, "platform": {"spotify"}}
					req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/"+slug+"/signup", strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("HX-Request", "true")
				case 2:
					req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/"+slug+"/presave/spotify", strings.NewReader("email_opt_in=1"))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					want = http.StatusSeeOther
				}
				req.Header.Set("User-Agent", phoneUA)
				req.Header.Set("X-Forwarded-For", ip)
				t0 := time.Now()
				r, err := client.Do(req)
				st := 0
				if err == nil {
					_, _ = io.Copy(io.Discard, r.Body)
					r.Body.Close()
					st = r.StatusCode
				}
				took := time.Since(t0)
				mu.Lock()
				defer mu.Unlock()
				dst := &v
				if f.kind != 0 {
					dst = &q
				}
				if st == want {
					dst.requests++
					dst.lat = append(dst.lat, took)
				} else {
					dst.errors++
					dst.status[st]++
				}
			}()
		}
		wg.Wait()
		slices.Sort(v.lat)
		slices.Sort(q.lat)
		views <- v
		posts <- q
	}()
	return views, posts
}

// printDay prints the release-day table; alone is the delivery-only run's
// rate on SQLite (0 when it did not run).
func printDay(out io.Writer, o options, r dayResult, alone float64) {
	fmt.Fprintf(out, "\nrelease day under load: %d pending Spotify pre-saves released while, within the same minute, %d fans open the page and %d sign up or start a pre-save (SQLite; each fan a new connection, arrivals at random)\n\n",
		r.n, dayViews, daySignups+dayPresaves)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "\trequests\tp50\tp99\terrors\ttarget\t")
	for _, l := range []loadResult{r.views, r.posts} {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s %s\t%d %s\tp99 < %s\t\n", l.name, l.requests, ms(l.pct(50)), ms(l.pct(99)), mark(l.pct(99) < targetDayP),
			l.errors, mark(l.errors == 0), ms(targetDayP))
	}
	ratio, vs := 0.0, "no delivery-only run to compare"
	if alone > 0 {
		ratio = r.achieved() / alone
		vs = fmt.Sprintf("%.2f %s", ratio, mark(ratio >= targetDayRt))
	}
	fmt.Fprintf(w, "deliveries\t%d of %d in %.1fs\tsaves/s at the stand-in %.0f (alone %.0f)\t÷ alone %s\tlost %d %s, duplicates %d %s\t≥ %.2f of alone\t\n",
		r.delivered, r.n, r.wall.Seconds(), r.achieved(), alone, vs, r.lost, mark(r.lost == 0 && r.finishedAll), r.duplicates, mark(r.duplicates == 0), targetDayRt)
	w.Flush()
	for _, l := range []loadResult{r.views, r.posts} {
		if len(l.status) > 0 {
			fmt.Fprintf(out, "%s: unexpected statuses %v (0: no answer)\n", l.name, l.status)
		}
	}
}
