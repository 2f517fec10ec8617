// Package resolve finds a link's release on every configured streaming
// catalog and records where it is (link_platforms): at the release time,
// then again every Interval for what is still missing, until Window after
// the release; then the workspace's owners get one email about what is
// still missing.
//
// The scheduler's tick (on the elected instance only) enqueues the checks
// as durable jobs with a unique key per link and interval, so a check
// survives a restart and runs once however many instances there are.
package resolve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/email"
)

// Job kinds.
const (
	// KindCheck looks a link's release up where it is not found yet.
	KindCheck = "resolve.check"
	// KindAlert tells the owners what is still missing after the window.
	KindAlert = "resolve.alert"
)

// Messages stored in link_platforms.last_error, shown on the Platforms tab.
const (
	MsgNotFound   = "Not found yet."
	MsgNoCode     = "Spotify gives no ISRC/UPC for this release, so it cannot be looked up here; paste its address."
	MsgNeedsSpot  = "Looked up by the ISRC/UPC Spotify gives, but Spotify has not found the release yet."
	MsgNoSpotify  = "Looked up by the ISRC/UPC that Spotify gives, and Spotify is not configured on this server; paste its address."
	msgCouldNotPf = "Could not check (%s)" + msgAgain
	msgAgain      = "; looks again at the next check."
)

// alertHorizon bounds how long after its window a link can still get its
// alert (a server that was down for longer sends no late alerts).
const alertHorizon = 7 * 24 * time.Hour

// lookupTimeout bounds one catalog call.
const lookupTimeout = 20 * time.Second

// Resolver looks releases up.
type Resolver struct {
	DB *bun.DB
	// Catalogs are the configured look-ups, by platform key (registry.Catalogs).
	Catalogs map[string]platform.Catalog
	// FromURL are the configured direct platforms with no look-up (YouTube
	// Music), by key: missing until the artist gives an address.
	FromURL map[string]FromURL
	// Mail sends the owners' alert; From is its sender; BaseURL the admin's.
	Mail    mail.Sender
	From    string
	BaseURL string
	// Interval between checks, Window after the release (config).
	Interval time.Duration
	Window   time.Duration
	Now      func() time.Time
	Log      *slog.Logger
	// Notify wakes the workers after the tick enqueued checks (the jobs.Runner).
	Notify interface{ Notify() }
}

type linkPayload struct {
	LinkID int64 `json:"link_id"`
}

// Outcome is what one check found on one platform.
type Outcome struct {
	Platform string
	Found    bool
	URL      string
	// Err is the reason it was not found ("" when found).
	Err string
}

// Check looks the link's release up on every configured catalog where it
// is not found yet (all: on every catalog, to refresh what was found) and
// records each answer. An unanswered look-up (rate limit, outage) is
// recorded as an error, not as a miss. It returns the outcomes by platform.
func (r *Resolver) Check(ctx context.Context, l *models.Link, all bool) ([]Outcome, error) {
	if l.SourceKind == models.SourceNone || len(r.Catalogs) == 0 {
		return nil, nil
	}
	rows, err := store.LinkPlatforms(ctx, r.DB, l.ID)
	if err != nil {
		return nil, err
	}
	found := map[string]bool{}
	for _, lp := range rows {
		found[lp.Platform] = lp.FoundAt != nil
	}
	var todo []string
	for key := range r.Catalogs {
		if all || !found[key] {
			todo = append(todo, key)
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	slices.Sort(todo)
	src := platform.Source{Kind: l.SourceKind, Value: l.SourceValue}
	// A Spotify source is looked up on Spotify first: its ISRC (track) or UPC
	// (album) is what the other catalogs know the release by.
	var spot *platform.Release
	var spotErr error
	spotify := l.SourceKind == models.SourceSpotifyTrack || l.SourceKind == models.SourceSpotifyAlbum
	if spotify {
		c, ok := r.Catalogs["spotify"]
		if !ok {
			spotErr = errors.New(MsgNoSpotify)
		} else {
			rel, err := lookup(ctx, c, src)
			if err == nil {
				spot = &rel
			}
			spotErr = err
		}
	}
	out := make([]Outcome, len(todo))
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	for i, key := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rel platform.Release
			var err error
			switch {
			case spotify && key == "spotify":
				if spot != nil {
					rel = *spot
				}
				err = spotErr
			case spotify && spotErr != nil:
				err = spotErr
				if platform.KindOf(spotErr) == platform.NotFound {
					err = &platform.Error{Platform: key, Kind: platform.NotFound, Message: MsgNeedsSpot}
				}
			case spotify:
				code := platform.Source{Kind: models.SourceISRC, Value: spot.ISRC}
				if l.SourceKind == models.SourceSpotifyAlbum {
					code = platform.Source{Kind: models.SourceUPC, Value: spot.UPC}
				}
				if code.Value == "" {
					err = &platform.Error{Platform: key, Kind: platform.NotFound, Message: MsgNoCode}
				} else {
					rel, err = lookup(ctx, r.Catalogs[key], code)
				}
			default:
				rel, err = lookup(ctx, r.Catalogs[key], src)
			}
			out[i], errs[i] = r.record(ctx, l.ID, key, rel, err)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func lookup(ctx context.Context, c platform.Catalog, src platform.Source) (platform.Release, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	return c.Lookup(ctx, src)
}

// record writes one answer to link_platforms.
func (r *Resolver) record(ctx context.Context, linkID int64, key string, rel platform.Release, err error) (Outcome, error) {
	now := r.Now()
	o := Outcome{Platform: key}
	var dbErr error
	switch {
	case err == nil && rel.URL == "" && len(rel.Items) == 0:
		o.Err = MsgNotFound
		dbErr = store.RecordMissing(ctx, r.DB, linkID, key, o.Err, now)
	case err == nil:
		o.Found, o.URL = true, rel.URL
		dbErr = store.RecordFound(ctx, r.DB, linkID, key, rel.URL, rel.Items, now)
	case platform.KindOf(err) == platform.NotFound:
		o.Err = MsgNotFound
		var perr *platform.Error
		if errors.As(err, &perr) && (perr.Message == MsgNeedsSpot || perr.Message == MsgNoCode) {
			o.Err = perr.Message
		}
		dbErr = store.RecordMissing(ctx, r.DB, linkID, key, o.Err, now)
	case err.Error() == MsgNoSpotify:
		o.Err = MsgNoSpotify
		dbErr = store.RecordMissing(ctx, r.DB, linkID, key, o.Err, now)
	default:
		// No answer: not a miss. The next check asks again.
		o.Err = fmt.Sprintf(msgCouldNotPf, safeMessage(err))
		dbErr = store.RecordLookupError(ctx, r.DB, linkID, key, o.Err, now)
		r.Log.Warn("catalog look-up failed", "platform", key, "link", linkID, "err", err)
	}
	return o, dbErr
}

// safeMessage is an error as an artist may read it: the platform's kind and
// message, never a URL with a token.
func safeMessage(err error) string {
	var perr *platform.Error
	if errors.As(err, &perr) {
		s := perr.Kind.String()
		if perr.Status != 0 {
			s += ", HTTP " + strconv.Itoa(perr.Status)
		}
		if perr.Message != "" {
			s += ": " + perr.Message
		}
		return s
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer in time"
	}
	return "no answer"
}

// Slot is the number of the check interval now is in (0 at the release time).
func (r *Resolver) Slot(l *models.Link, now time.Time) int64 {
	if now.Before(l.ReleaseAt) {
		return -1
	}
	return int64(now.Sub(l.ReleaseAt) / r.Interval)
}

// NextCheck is when the check after now runs (the release time itself, before it).
func (r *Resolver) NextCheck(l *models.Link, now time.Time) time.Time {
	return l.ReleaseAt.Add(time.Duration(r.Slot(l, now)+1) * r.Interval)
}

// Looking tells whether the release is still being looked for at now.
func (r *Resolver) Looking(l *models.Link, now time.Time) bool {
	return !now.After(l.ReleaseAt.Add(r.Window))
}

// Missing lists the configured catalogs where the link's release is neither
// found nor given a URL by the artist, in models.Platforms order.
func (r *Resolver) Missing(rows []models.LinkPlatform) []models.LinkPlatform {
	by := map[string]models.LinkPlatform{}
	for _, lp := range rows {
		by[lp.Platform] = lp
	}
	var out []models.LinkPlatform
	for _, p := range models.Platforms {
		if fu, ok := r.FromURL[p.Key]; ok {
			if AddressItems(fu, rows) == nil {
				out = append(out, models.LinkPlatform{Platform: p.Key, LastError: ReasonNoAddress})
			}
			continue
		}
		if _, ok := r.Catalogs[p.Key]; !ok {
			continue
		}
		lp, ok := by[p.Key]
		if !ok {
			lp = models.LinkPlatform{Platform: p.Key}
		}
		if lp.FoundAt == nil && lp.ManualURL == "" {
			out = append(out, lp)
		}
	}
	return out
}

// Tick enqueues the checks that are due (one per link and interval) and the
// alerts of links whose window has passed with something still missing.
// It runs on the elected instance; the unique keys make a repeat harmless.
func (r *Resolver) Tick(ctx context.Context) error {
	if len(r.Catalogs) == 0 && len(r.FromURL) == 0 {
		return nil
	}
	now := r.Now()
	var items []jobs.Item
	// Checks: released links within the window, with a catalog still to find.
	checking, err := store.LinksReleasedBetween(ctx, r.DB, now.Add(-r.Window), now, false, 1000)
	if err != nil {
		return err
	}
	alerting, err := store.LinksReleasedBetween(ctx, r.DB, now.Add(-r.Window-alertHorizon), now.Add(-r.Window), true, 1000)
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(checking)+len(alerting))
	for _, l := range checking {
		ids = append(ids, l.ID)
	}
	for _, l := range alerting {
		ids = append(ids, l.ID)
	}
	rows, err := store.LinkPlatformsOf(ctx, r.DB, ids)
	if err != nil {
		return err
	}
	for _, l := range checking {
		if !r.needsLook(rows[l.ID]) {
			continue
		}
		key := "resolve:" + strconv.FormatInt(l.ID, 10) + ":" + strconv.FormatInt(l.ReleaseAt.Unix(), 36) + ":" + strconv.FormatInt(r.Slot(&l, now), 10)
		items = append(items, jobs.Item{Kind: KindCheck, Payload: linkPayload{LinkID: l.ID},
			Opts: jobs.Opts{UniqueKey: key, MaxAttempts: 3}})
	}
	for _, l := range alerting {
		if !now.After(l.ReleaseAt.Add(r.Window)) || len(r.Missing(rows[l.ID])) == 0 {
			continue
		}
		items = append(items, jobs.Item{Kind: KindAlert, Payload: linkPayload{LinkID: l.ID},
			Opts: jobs.Opts{UniqueKey: "resolve-alert:" + strconv.FormatInt(l.ID, 10), MaxAttempts: 5}})
	}
	if len(items) == 0 {
		return nil
	}
	n, err := jobs.EnqueueMany(ctx, r.DB, now, items)
	if err != nil {
		return fmt.Errorf("resolve: enqueue: %w", err)
	}
	if n > 0 && r.Notify != nil {
		r.Notify.Notify()
	}
	return nil
}

// needsLook tells whether some configured catalog has not found the release.
func (r *Resolver) needsLook(rows []models.LinkPlatform) bool {
	found := map[string]bool{}
	for _, lp := range rows {
		if lp.FoundAt != nil {
			found[lp.Platform] = true
		}
	}
	for key := range r.Catalogs {
		if !found[key] {
			return true
		}
	}
	return false
}

// WorkCheck is the KindCheck job: one scheduled look-up of a link.
func (r *Resolver) WorkCheck(ctx context.Context, job jobs.Job) error {
	l, err := r.jobLink(ctx, job)
	if err != nil || l == nil {
		return err
	}
	if l.State != models.LinkReleased && l.State != models.LinkLive {
		return nil // archived (or back to draft) meanwhile
	}
	_, err = r.Check(ctx, l, false)
	return err
}

func (r *Resolver) jobLink(ctx context.Context, job jobs.Job) (*models.Link, error) {
	var pl linkPayload
	if err := job.Decode(&pl); err != nil {
		return nil, jobs.Cancel(err)
	}
	l, err := store.LinkForFan(ctx, r.DB, pl.LinkID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // deleted meanwhile
	}
	return l, err
}

// WorkAlert is the KindAlert job: a last look, then, if something is still
// missing, one email to the workspace's owners. The email's idempotency key
// and resolve_alerted_at make it one email however often the job runs.
func (r *Resolver) WorkAlert(ctx context.Context, job jobs.Job) error {
	l, err := r.jobLink(ctx, job)
	if err != nil || l == nil {
		return err
	}
	if l.ResolveAlertedAt != nil || l.State != models.LinkReleased {
		return nil
	}
	if _, err := r.Check(ctx, l, false); err != nil {
		return err
	}
	rows, err := store.LinkPlatforms(ctx, r.DB, l.ID)
	if err != nil {
		return err
	}
	missing := r.Missing(rows)
	if len(missing) == 0 {
		return nil
	}
	members, err := store.Members(ctx, r.DB, l.WorkspaceID)
	if err != nil {
		return err
	}
	var to []string
	for _, m := range members {
		if m.Role == models.RoleOwner && m.User != nil && len(to) < mail.MaxRecipients {
			to = append(to, m.User.Email)
		}
	}
	if len(to) > 0 && r.Mail == nil {
		return errors.New("resolve: no mail driver to send the alert with")
	}
	if len(to) > 0 {
		msg, err := r.alertMessage(ctx, l, missing, to)
		if err != nil {
			return err
		}
		// A conflict means a run before this one sent it (with other wording): once is enough.
		if _, err := r.Mail.Send(ctx, msg); err != nil && mail.KindOf(err) != mail.Conflict {
			return fmt.Errorf("resolve: send alert: %w", err)
		}
	}
	if _, err := store.MarkResolveAlerted(ctx, r.DB, l.ID, r.Now()); err != nil {
		return err
	}
	r.Log.Info("release still missing: owners told", "link", l.ID, "missing", len(missing), "owners", len(to))
	return nil
}

func (r *Resolver) alertMessage(ctx context.Context, l *models.Link, missing []models.LinkPlatform, to []string) (mail.Message, error) {
	v := email.ResolveAlert{Subject: l.Title + " is still missing on " + names(missing), Title: l.Title, Artist: l.Artist,
		Window: HumanDuration(r.Window), PlatformsURL: strings.TrimRight(r.BaseURL, "/") + "/admin/links/" + strconv.FormatInt(l.ID, 10) + "/platforms"}
	var text strings.Builder
	fmt.Fprintf(&text, "dropday looked for %s by %s during the %s after its release. It is still missing here, so the smart link shows no button for:\n\n", l.Title, l.Artist, v.Window)
	for _, lp := range missing {
		// No more checks after this email: drop the "looks again" promise.
		reason := strings.TrimSuffix(lp.LastError, msgAgain)
		if reason == "" {
			reason = "not checked"
		} else if !strings.HasSuffix(reason, ".") {
			reason += "."
		}
		m := email.MissingPlatform{Name: platformName(lp.Platform), Reason: reason}
		v.Missing = append(v.Missing, m)
		fmt.Fprintf(&text, "- %s: %s\n", m.Name, m.Reason)
	}
	fmt.Fprintf(&text, "\nCheck with your distributor, or paste the release's address on each platform into the link's Platforms tab: %s\n", v.PlatformsURL)
	var html bytes.Buffer
	if err := email.ResolveAlertHTML(v).Render(ctx, &html); err != nil {
		return mail.Message{}, fmt.Errorf("resolve: render alert: %w", err)
	}
	return mail.Message{From: r.From, To: to, Subject: v.Subject, HTML: html.String(), Text: text.String(),
		Tags:           []mail.Tag{{Name: "kind", Value: "resolve_alert"}, mail.WorkspaceTag(l.WorkspaceID)},
		IdempotencyKey: "resolve-alert-" + strconv.FormatInt(l.ID, 10)}, nil
}

func names(lps []models.LinkPlatform) string {
	ns := make([]string, len(lps))
	for i, lp := range lps {
		ns[i] = platformName(lp.Platform)
	}
	if len(ns) <= 1 {
		return strings.Join(ns, "")
	}
	return strings.Join(ns[:len(ns)-1], ", ") + " and " + ns[len(ns)-1]
}

func platformName(key string) string {
	if p, ok := models.PlatformByKey(key); ok {
		return p.Name
	}
	return key
}

// HumanDuration writes a window the way a person would ("24 hours", "90 minutes").
func HumanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		if h := int(d / time.Hour); h != 1 {
			return strconv.Itoa(h) + " hours"
		}
		return "hour"
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	}
	return d.String()
}
