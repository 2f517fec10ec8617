package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/proc"
	"github.com/dropday/dropday/internal/seed"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// Targets of the public pages (issue 8, part 4).
const (
	targetStaticRatio = 0.80
	targetSignups     = 5000.0
	targetP99         = 50 * time.Millisecond
)

// pageTurns is how many slices (a) and (d) alternate in.
const pageTurns = 5

// pagesResult is the public-page run: four scenarios against one server.
type pagesResult struct {
	before, after, signup, static loadResult
	pageBytes                     int
	stored, consents              int // signups in the database, and those with their consent record
}

// runPages measures the public pages of one `dropday serve` on SQLite:
// (a) the landing page before release, (b) the smart link after release,
// (c) the email signup POST and (d) the landing page's bytes as a static
// file of the same server (DATA_DIR/artwork, served by /media/artwork) —
// the ceiling.
func runPages(ctx context.Context, o options, bin, tmp string, out io.Writer) (pagesResult, error) {
	var res pagesResult
	dbURL := "sqlite://" + tmp + "/sqlite-pages/dropday.db"
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return res, err
	}
	defer db.Close()
	if err := store.Migrate(ctx, db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Minute); err != nil {
		return res, err
	}
	now := time.Now()
	before, err := seed.Link(ctx, db, "night-drive", now.Add(30*24*time.Hour), now)
	if err != nil {
		return res, err
	}
	after, err := seed.Link(ctx, db, "out-now", now.Add(-time.Hour), now)
	if err != nil {
		return res, err
	}
	if err := seedFound(ctx, db, after.ID, now); err != nil {
		return res, err
	}
	dataDir := filepath.Join(tmp, "data-pages")
	env := map[string]string{
		"DROPDAY_DATABASE_URL":    dbURL,
		"DROPDAY_DATA_DIR":        dataDir,
		"DROPDAY_DEEZER_CATALOG":  "false",
		"DROPDAY_TRUSTED_PROXIES": "127.0.0.1/32", // the load generator stands in for a proxy: one address per fan
	}
	p, err := proc.Start(ctx, bin, env)
	if err != nil {
		return res, err
	}
	defer p.Kill()

	// (d)'s file: the landing page's own bytes, where the server serves files from disk.
	page, err := fetch("http://" + p.Addr + "/" + before.Slug)
	if err != nil {
		return res, err
	}
	res.pageBytes = len(page)
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	dir := filepath.Join(dataDir, "artwork", hex.EncodeToString(key))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	if err := os.WriteFile(filepath.Join(dir, "640.jpg"), page, 0o644); err != nil {
		return res, err
	}
	staticPath := "/media/artwork/" + hex.EncodeToString(key) + "/640.jpg"
	if b, err := fetch("http://" + p.Addr + staticPath); err != nil || len(b) != len(page) {
		return res, fmt.Errorf("the static copy of the page: %d bytes, %v", len(b), err)
	}

	addr := p.Addr
	fans := func(path string) request {
		return func(i int64) []byte { return get(addr, path, "X-Forwarded-For", fanIP(i%10_000)) }
	}
	run := func(name string, want int, req request) (loadResult, error) {
		fmt.Fprintf(out, "public pages: %s …\n", name)
		return closedLoop(ctx, name, addr, o.conns, o.warm, o.pagesDur, want, req)
	}
	// (a) and (d) make the ratio, so they take turns in short slices: a
	// neighbour's compile on this shared machine then weighs on both alike.
	fmt.Fprintf(out, "public pages: (a) the landing page and (d) its bytes as a static file, in %d turns each …\n", pageTurns)
	res.before = loadResult{name: "(a) landing page, before release"}
	res.static = loadResult{name: "(d) the same bytes as a static file"}
	for range pageTurns {
		for _, sc := range []struct {
			dst  *loadResult
			path string
		}{{&res.before, "/" + before.Slug}, {&res.static, staticPath}} {
			r, err := closedLoop(ctx, sc.dst.name, addr, o.conns, o.warm/2, o.pagesDur/pageTurns, http.StatusOK, fans(sc.path))
			if err != nil {
				return res, err
			}
			sc.dst.merge(r)
		}
	}
	if res.after, err = run("(b) smart link, after release", http.StatusOK, fans("/"+after.Slug)); err != nil {
		return res, err
	}
	signupPath := "/" + before.Slug + "/signup"
	if res.signup, err = run("(c) email signup POST", http.StatusOK, func(i int64) []byte {
		return post(addr, signupPath, fmt.Sprintf("email=fan%d%%40example.com&platform=spotify", i),
			"X-Forwarded-For", fanIP(i), "HX-Request", "true", "Origin", "http://"+addr, "Sec-Fetch-Site", "same-origin")
	}); err != nil {
		return res, err
	}
	if exited, perr := p.Exited(); exited {
		return res, fmt.Errorf("dropday exited mid-run (%v):\n%s", perr, tail(p.Logs()))
	}
	if err := p.Stop(30 * time.Second); err != nil {
		fmt.Fprintf(out, "public pages: %v\n", err)
	}
	// Every answered signup must be in the database with its consent record
	// (warm-up signups included: they were answered too).
	n, err := db.NewSelect().Model((*models.Signup)(nil)).Where("link_id = ?", before.ID).Count(ctx)
	if err != nil {
		return res, err
	}
	c, err := db.NewSelect().Model((*models.Signup)(nil)).Where("link_id = ? AND consent_text_id IS NOT NULL AND consent_version <> ''", before.ID).
		Where("EXISTS (SELECT 1 FROM subscribers AS s WHERE s.id = signup.subscriber_id)").Count(ctx)
	if err != nil {
		return res, err
	}
	res.stored, res.consents = int(n), int(c)
	return res, nil
}

// seedFound gives the released link the platforms a look-up would have found.
func seedFound(ctx context.Context, db bun.IDB, linkID int64, now time.Time) error {
	found := map[string]string{
		"spotify":       "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
		"apple_music":   "https://music.apple.com/us/album/night-drive/1577502911?i=1577502912",
		"deezer":        "https://www.deezer.com/track/302127",
		"tidal":         "https://tidal.com/browse/track/75413016",
		"youtube_music": "https://music.youtube.com/watch?v=dQw4w9WgXcQ",
	}
	for platform, u := range found {
		if err := store.RecordFound(ctx, db, linkID, platform, u, []string{"bench"}, now); err != nil {
			return err
		}
	}
	return nil
}

func fetch(u string) ([]byte, error) {
	res, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d", u, res.StatusCode)
	}
	return b, nil
}

func printPages(out io.Writer, o options, r pagesResult) {
	fmt.Fprintf(out, "\npublic pages: SQLite, %d connections, closed loop on loopback, %s measured after %s warm-up each; the page is %d bytes\n\n",
		o.conns, o.pagesDur, o.warm, r.pageBytes)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "scenario\trequests/s\tp50\tp99\terrors\ttarget\t")
	row := func(l loadResult, extra string) {
		fmt.Fprintf(w, "%s\t%.0f\t%s\t%s %s\t%d %s\tp99 < %s%s\t\n", l.name, l.rps(), ms(l.pct(50)), ms(l.pct(99)), mark(l.pct(99) < targetP99),
			l.errors, mark(l.errors == 0), ms(targetP99), extra)
	}
	row(r.before, "")
	row(r.after, "")
	row(r.signup, "")
	row(r.static, " (the ceiling)")
	ratio := 0.0
	if r.static.rps() > 0 {
		ratio = r.before.rps() / r.static.rps()
	}
	fmt.Fprintf(w, "landing ÷ static\t%.2f %s\t\t\t\t≥ %.2f\t\n", ratio, mark(ratio >= targetStaticRatio), targetStaticRatio)
	fmt.Fprintf(w, "signups/s on SQLite\t%.0f %s\t\t\t\t≥ %.0f/s\t\n", r.signup.rps(), mark(r.signup.rps() >= targetSignups), targetSignups)
	fmt.Fprintf(w, "signups answered 200 / stored with consent\t%d / %d %s\t\t\t\tequal\t\n", r.signup.answered, r.consents,
		mark(r.signup.answered > 0 && r.consents == r.signup.answered && r.stored == r.consents))
	w.Flush()
	for _, l := range []loadResult{r.before, r.after, r.signup, r.static} {
		if len(l.status) > 0 {
			fmt.Fprintf(out, "%s: unexpected statuses %v\n", l.name, l.status)
		}
	}
}
