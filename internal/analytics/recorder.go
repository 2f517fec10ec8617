// Package analytics counts page views, unique visitors, sources and smart-link
// clicks without cookies and without storing an IP address or a user agent,
// and turns the counts (with the pre-saves and signups) into insights.
//
// A visitor is HMAC-SHA256(salt of the UTC day, link | IP | user agent): the
// same person on the same day and link is one visitor; the salt is random,
// shared through the database by every instance, and deleted after its day, so
// no one (the operator included) can later tell whose hash it was.
//
// Recording never touches the database on the request path: counts gather in
// memory and are flushed in one transaction every few seconds and at shutdown.
package analytics

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
)

const (
	// FlushEvery is how often counts go to the database: what a crash can lose.
	FlushEvery = 5 * time.Second
	// forgetAfter is how long after midnight the past day's salt and visitor
	// hashes stay, so an instance still flushing the last seconds of the day
	// (or with a clock a little behind) does not count its visitors twice.
	forgetAfter = time.Minute
	// flushAt starts a flush early when this many entries wait.
	flushAt = 20000
	// maxPending caps the memory counts take while the database is away;
	// beyond it new entries are dropped (and logged) rather than growing.
	maxPending = 500000
	// maxSourcesPerLinkDay caps distinct referrers/utm sources per link, day
	// and flush, so made-up values can't flood memory; the store applies the
	// same cap across flushes.
	maxSourcesPerLinkDay = store.MaxSourceValues
	// Other is the source value that stands for values over the cap.
	Other = store.SourceOther
)

// DayOf is the UTC calendar day of t, as stored: "2006-01-02".
func DayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

type dayKey struct {
	link int64
	day  string
}

type sourceKey struct {
	dayKey
	kind, value string
}

type clickKey struct {
	dayKey
	platform string
}

// Recorder gathers counts in memory and flushes them. Its methods are safe for
// concurrent use; a nil Recorder records nothing.
type Recorder struct {
	db  *bun.DB
	now func() time.Time
	log *slog.Logger
	// selfHost is dropday's own host: moving between its pages is no referral.
	selfHost string

	saltMu  sync.Mutex
	saltDay string
	salt    []byte

	mu       sync.Mutex
	views    map[dayKey]int
	visitors map[dayKey]map[string]struct{}
	sources  map[sourceKey]int
	nsources map[sourceKey]int // distinct values per link-day-kind (value "")
	clicks   map[clickKey]int
	size     int
	dropped  int
	forgot   string // the day up to which salts and hashes were last forgotten

	flushMu sync.Mutex
	kick    chan struct{}
}

// New makes a recorder; baseURL is dropday's public address (its host is not a referrer).
func New(db *bun.DB, now func() time.Time, log *slog.Logger, baseURL *url.URL) *Recorder {
	r := &Recorder{db: db, now: now, log: log, kick: make(chan struct{}, 1)}
	if baseURL != nil {
		r.selfHost = strings.ToLower(baseURL.Hostname())
	}
	r.reset()
	return r
}

func (r *Recorder) reset() {
	r.views = map[dayKey]int{}
	r.visitors = map[dayKey]map[string]struct{}{}
	r.sources = map[sourceKey]int{}
	r.nsources = map[sourceKey]int{}
	r.clicks = map[clickKey]int{}
	r.size = 0
}

// Counted tells whether a request is a person's: not a HEAD, not a prefetch
// or prerender, not a crawler, link-preview fetcher or script (by user agent).
func (r *Recorder) Counted(req *http.Request) bool {
	if req.Method != http.MethodGet {
		return false
	}
	for _, h := range []string{"Purpose", "Sec-Purpose", "X-Purpose", "X-Moz"} {
		if v := strings.ToLower(req.Header.Get(h)); strings.Contains(v, "prefetch") || strings.Contains(v, "preview") || strings.Contains(v, "prerender") {
			return false
		}
	}
	return !Robot(req.UserAgent())
}

// robotWords are fragments (lower case) of the user agents of crawlers,
// link-preview fetchers, monitors and scripts that call themselves Mozilla.
var robotWords = []string{
	"bot", "crawl", "spider", "slurp", "externalhit", "externalagent", "preview", "fetch", "headless",
	"lighthouse", "http", "scan", "monitor", "python", "curl", "wget", "java/", "okhttp", "axios",
	"whatsapp", "embedly", "iframely", "pinterest", "vkshare", "skype", "snippet", "validator",
}

// Robot tells whether a user agent is not a person's browser. Every browser's
// starts with "Mozilla/" (or "Opera/"); link previewers such as WhatsApp,
// Slackbot or TelegramBot and scripts (curl) mostly don't, and the crawlers that
// do name themselves (Googlebot, bingbot, facebookexternalhit, HeadlessChrome…).
func Robot(ua string) bool {
	if !strings.HasPrefix(ua, "Mozilla/") && !strings.HasPrefix(ua, "Opera/") {
		return true // an empty user agent included
	}
	l := strings.ReplaceAll(strings.ToLower(ua), "cubot", "") // a phone brand, not a robot
	for _, w := range robotWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// View records a page view of link by the request's visitor (ip as the router
// sees it, behind trusted proxies). The IP and user agent only feed the hash.
func (r *Recorder) View(req *http.Request, linkID int64, ip string) {
	if r == nil || !r.Counted(req) {
		return
	}
	now := r.now()
	day := DayOf(now)
	salt, err := r.saltOf(req.Context(), day)
	if err != nil {
		r.log.Warn("analytics: no salt for today; view not counted", "err", err)
		return
	}
	visitor := visitorHash(salt, linkID, ip, req.UserAgent())
	referrer := r.referrerHost(req.Referer())
	utm := cleanSource(req.URL.Query().Get("utm_source"))

	k := dayKey{linkID, day}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.size >= maxPending {
		r.dropped++
		return
	}
	r.views[k]++
	set := r.visitors[k]
	if set == nil {
		set = map[string]struct{}{}
		r.visitors[k] = set
		r.size++
	}
	if _, ok := set[visitor]; !ok {
		set[visitor] = struct{}{}
		r.size++
	}
	if referrer != "" {
		r.addSource(k, "referrer", referrer)
	}
	if utm != "" {
		r.addSource(k, "utm_source", utm)
	}
	r.nudge()
}

// Click records a click on a link's "listen" button for platform.
func (r *Recorder) Click(req *http.Request, linkID int64, platform string) {
	if r == nil || !r.Counted(req) {
		return
	}
	k := clickKey{dayKey{linkID, DayOf(r.now())}, platform}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.size >= maxPending {
		r.dropped++
		return
	}
	if r.clicks[k] == 0 {
		r.size++
	}
	r.clicks[k]++
	r.nudge()
}

// addSource counts one view from a source; r.mu is held.
func (r *Recorder) addSource(k dayKey, kind, value string) {
	sk := sourceKey{k, kind, value}
	if r.sources[sk] == 0 {
		n := sourceKey{k, kind, ""}
		if r.nsources[n] >= maxSourcesPerLinkDay {
			sk.value = Other
		} else {
			r.nsources[n]++
		}
	}
	if r.sources[sk] == 0 {
		r.size++
	}
	r.sources[sk]++
}

// nudge asks for an early flush when a lot is waiting; r.mu is held.
func (r *Recorder) nudge() {
	if r.size >= flushAt {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// saltOf returns the salt of day, from memory, or from the database (made
// there if need be) once per day and instance.
func (r *Recorder) saltOf(ctx context.Context, day string) ([]byte, error) {
	r.saltMu.Lock()
	defer r.saltMu.Unlock()
	if r.saltDay == day {
		return r.salt, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("analytics: new salt: %w", err)
	}
	s, err := store.AnalyticsSalt(context.WithoutCancel(ctx), r.db, day, hex.EncodeToString(fresh))
	if err != nil {
		return nil, err
	}
	salt, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("analytics: salt of %s: %w", day, err)
	}
	r.saltDay, r.salt = day, salt
	return salt, nil
}

// visitorHash is the day's pseudonymous visitor id of (link, ip, user agent).
func visitorHash(salt []byte, linkID int64, ip, ua string) string {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(strconv.FormatInt(linkID, 10)))
	m.Write([]byte{0})
	m.Write([]byte(ip))
	m.Write([]byte{0})
	m.Write([]byte(ua))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// referrerHost keeps only the host of a referring URL ("" for none, our own
// pages or anything that is not an http(s) URL), without "www." and port.
func (r *Recorder) referrerHost(ref string) string {
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if h == "" || h == r.selfHost || len(h) > 253 {
		return ""
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':') {
			return ""
		}
	}
	return strings.TrimPrefix(h, "www.")
}

// cleanSource is a utm_source as counted: trimmed, lower case, at most 60
// printable characters ("" when nothing is left).
func cleanSource(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	var b strings.Builder
	n := 0
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			continue
		}
		if n == 60 {
			break
		}
		b.WriteRune(c)
		n++
	}
	return b.String()
}

// Run flushes every FlushEvery (sooner when a lot waits) until ctx ends, then
// flushes what is left, so a clean shutdown loses nothing.
func (r *Recorder) Run(ctx context.Context) error {
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			return r.Flush(fctx)
		case <-t.C:
		case <-r.kick:
		}
		if err := r.Flush(ctx); err != nil {
			r.log.Error("analytics: flush failed; the counts stay in memory and are retried", "err", err)
		}
	}
}

// Flush writes what was counted since the last flush and forgets the salts
// and visitor hashes of past days. On failure the counts are kept for the next.
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	if err := r.forget(ctx); err != nil {
		return err
	}
	// Today's salt is fetched here, so the request path rarely has to.
	if _, err := r.saltOf(ctx, DayOf(r.now())); err != nil {
		return err
	}

	r.mu.Lock()
	views, visitors, sources, clicks := r.views, r.visitors, r.sources, r.clicks
	dropped := r.dropped
	r.dropped = 0
	r.reset()
	r.mu.Unlock()
	if dropped > 0 {
		r.log.Warn("analytics: counts dropped while the database was away", "entries", dropped)
	}

	b := batch(views, visitors, sources, clicks)
	if err := store.FlushAnalytics(ctx, r.db, b); err != nil {
		r.putBack(views, visitors, sources, clicks)
		return err
	}
	return nil
}

// forget deletes past days' salts and visitor hashes, once per day.
func (r *Recorder) forget(ctx context.Context) error {
	day := DayOf(r.now().Add(-forgetAfter))
	r.mu.Lock()
	done := r.forgot == day
	r.mu.Unlock()
	if done {
		return nil
	}
	if err := store.AnalyticsForget(ctx, r.db, day); err != nil {
		return err
	}
	r.mu.Lock()
	r.forgot = day
	r.mu.Unlock()
	return nil
}

// putBack merges counts that could not be written into what is pending.
func (r *Recorder) putBack(views map[dayKey]int, visitors map[dayKey]map[string]struct{}, sources map[sourceKey]int, clicks map[clickKey]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, n := range views {
		r.views[k] += n
	}
	for k, set := range visitors {
		cur := r.visitors[k]
		if cur == nil {
			cur = map[string]struct{}{}
			r.visitors[k] = cur
			r.size++
		}
		for v := range set {
			if _, ok := cur[v]; !ok {
				cur[v] = struct{}{}
				r.size++
			}
		}
	}
	for k, n := range sources {
		if r.sources[k] == 0 {
			r.size++
		}
		r.sources[k] += n
	}
	for k, n := range clicks {
		if r.clicks[k] == 0 {
			r.size++
		}
		r.clicks[k] += n
	}
}

// batch turns the maps into a sorted batch (a fixed lock order for concurrent flushes).
func batch(views map[dayKey]int, visitors map[dayKey]map[string]struct{}, sources map[sourceKey]int, clicks map[clickKey]int) store.AnalyticsBatch {
	var b store.AnalyticsBatch
	for k, n := range views {
		vc := store.ViewCount{LinkID: k.link, Day: k.day, Views: n}
		for v := range visitors[k] {
			vc.Visitors = append(vc.Visitors, v)
		}
		slices.Sort(vc.Visitors)
		b.Views = append(b.Views, vc)
	}
	slices.SortFunc(b.Views, func(a, c store.ViewCount) int {
		return cmpDay(a.LinkID, a.Day, c.LinkID, c.Day)
	})
	for k, n := range sources {
		b.Sources = append(b.Sources, store.SourceCount{LinkID: k.link, Day: k.day, Kind: k.kind, Value: k.value, N: n})
	}
	slices.SortFunc(b.Sources, func(a, c store.SourceCount) int {
		if d := cmpDay(a.LinkID, a.Day, c.LinkID, c.Day); d != 0 {
			return d
		}
		return strings.Compare(a.Kind+"\x00"+a.Value, c.Kind+"\x00"+c.Value)
	})
	for k, n := range clicks {
		b.Clicks = append(b.Clicks, store.ClickCount{LinkID: k.link, Day: k.day, Platform: k.platform, N: n})
	}
	slices.SortFunc(b.Clicks, func(a, c store.ClickCount) int {
		if d := cmpDay(a.LinkID, a.Day, c.LinkID, c.Day); d != 0 {
			return d
		}
		return strings.Compare(a.Platform, c.Platform)
	})
	return b
}

func cmpDay(l1 int64, d1 string, l2 int64, d2 string) int {
	switch {
	case l1 < l2:
		return -1
	case l1 > l2:
		return 1
	}
	return strings.Compare(d1, d2)
}
