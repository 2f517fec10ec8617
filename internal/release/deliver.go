// Package release runs release day: the scheduler releases due links and
// enqueues one delivery per pending pre-save; workers save the release into
// each fan's library, at the platform's pace, and record the outcome.
package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/groupcommit"
	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/pace"
	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/presave"
	"github.com/dropday/dropday/internal/resolve"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/vault"
	"github.com/dropday/dropday/models"
)

// KindDeliver is the job that saves one pre-save's release into the fan's library.
const KindDeliver = presave.KindDeliver

// deliverPayload is a delivery job's payload.
type deliverPayload = presave.DeliverPayload

// Reasons an artist reads in the presave panel.
const (
	ReasonRevoked    = "The fan removed dropday's access on %s."
	ReasonExpired    = "The authorization expired (%s grants last 6 months); the fan must pre-save again."
	ReasonNotAllowed = "%s does not let this account use the app (development mode allows only listed users)."
	ReasonNotFound   = "The release was not found on %s."
	ReasonNoSource   = "The link has no pre-save source (Spotify link, UPC or ISRC)."
	ReasonGaveUp     = "%s kept failing; gave up after %d tries: %s"
	ReasonPermanent  = "%s refused the save: %s"
	ReasonCredential = "The stored authorization could not be read (key missing or data damaged)."
	ReasonNoVideo    = "The link has no %s video address; add it in the Platforms tab."
	// ReasonAuthorizeAgain: the platform refused the fan's token (HTTP 401/403).
	ReasonAuthorizeAgain = "%s no longer accepts the fan's authorization (HTTP %d); the fan must authorize again."
)

// reauthorizeReasons replace ReasonExpired for platforms whose grants do
// not run out after 6 months: their "authorize again" answers mean the
// token stopped working for a reason the platform does not give.
var reauthorizeReasons = map[string]string{
	"deezer": "Deezer no longer accepts the fan's authorization (they may have removed dropday in their Deezer settings); the fan must pre-save again.",
}

// Deliverer is the handler of KindDeliver jobs.
type Deliverer struct {
	DB      *bun.DB
	Vault   *vault.Keyring
	Clients map[string]platform.Client
	// Limits paces calls per platform; a platform without one is not paced.
	Limits map[string]*pace.Limiter
	Now    func() time.Time
	Log    *slog.Logger
	// Resolver says when the next look-up runs and until when a release not
	// found yet is waited for (nil: no waiting, as for a link without checks).
	Resolver *resolve.Resolver

	// items caches what a link resolves to on a platform, so 100,000
	// deliveries look the release up once, not 100,000 times.
	items sync.Map // "linkID/platform" → []string

	commitOnce sync.Once
	delivered  groupcommit.Group[int64]
	pauses     pauseState
}

// Work delivers one pre-save. The outcome is written to the pre-save before
// the job is settled: a crash in between repeats at most a harmless save.
func (d *Deliverer) Work(ctx context.Context, job jobs.Job) error {
	var pl deliverPayload
	if err := job.Decode(&pl); err != nil {
		return jobs.Cancel(err)
	}
	p, err := store.PresaveByID(ctx, d.DB, pl.PresaveID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // erased meanwhile: nothing to deliver
	}
	if err != nil {
		return err
	}
	if p.State != models.PresavePending {
		return nil // revoked by the fan, or delivered by an earlier run
	}
	name := platformName(p.Platform)
	c, ok := d.Clients[p.Platform]
	if !ok {
		// Unconfigured meanwhile: retry (the operator may restore it), fail with the reason at the last attempt.
		return d.outcome(ctx, job, p, name, &platform.Error{Platform: p.Platform, Kind: platform.Transient,
			Message: name + " is not configured on this server any more"})
	}
	l, err := store.LinkForFan(ctx, d.DB, p.LinkID)
	if err != nil {
		return err
	}
	items, err := d.resolve(ctx, l, c)
	var wait waitForCheck
	if errors.As(err, &wait) {
		return jobs.Snooze(time.Duration(wait))
	}
	if err != nil {
		return d.outcome(ctx, job, p, name, err)
	}
	refresh, err := presave.OpenCredential(d.Vault, p.ID, p.Credential)
	if err != nil {
		return d.fail(ctx, p, ReasonCredential, err)
	}
	// While the platform asked everyone to wait, don't even refresh: snooze.
	d.loadPause(ctx, p.Platform)
	if l := d.Limits[p.Platform]; l != nil {
		if pause := l.PausedFor(); pause > 0 {
			return jobs.Snooze(pause)
		}
	}
	// The token endpoint is not the Web API: its calls are not paced.
	tok, err := c.Refresh(ctx, refresh)
	if err != nil {
		return d.outcome(ctx, job, p, name, err)
	}
	if tok.RefreshToken != "" && tok.RefreshToken != refresh {
		// A rotated refresh token is the only one that works from now on:
		// store it before anything else can fail.
		if err := presave.StoreRotated(ctx, d.DB, d.Vault, p.ID, p.Credential, tok.RefreshToken); err != nil {
			return err
		}
	}
	if err := d.wait(ctx, p.Platform); err != nil {
		return err
	}
	if err := d.save(platform.WithStorefront(ctx, p.Storefront), c, p, tok, items); err != nil {
		return d.outcome(ctx, job, p, name, err)
	}
	return d.markDelivered(ctx, p.ID)
}

// save calls the platform's Save, named for this pre-save (platform.SaveID:
// a platform with idempotency keys replays a crashed run's answer). A
// platform refusing the access token it just issued (AuthExpired from Save:
// a 401) gets one more refresh before the pre-save fails; a grant revoked
// meanwhile then shows as revoked.
func (d *Deliverer) save(ctx context.Context, c platform.Client, p *models.Presave, tok platform.Token, items []string) error {
	ctx = platform.WithSaveID(ctx, "presave-"+strconv.FormatInt(p.ID, 10))
	err := c.Save(ctx, tok.AccessToken, items)
	if platform.KindOf(err) != platform.AuthExpired {
		return err
	}
	again, rerr := c.Refresh(ctx, tok.RefreshToken)
	if rerr != nil {
		return rerr
	}
	if again.RefreshToken != "" && again.RefreshToken != tok.RefreshToken {
		cur, err := store.PresaveByID(ctx, d.DB, p.ID)
		if err != nil {
			return err
		}
		if err := presave.StoreRotated(ctx, d.DB, d.Vault, p.ID, cur.Credential, again.RefreshToken); err != nil {
			return err
		}
	}
	return c.Save(ctx, again.AccessToken, items)
}

// markDelivered records a delivery, grouped with other workers' into one commit.
func (d *Deliverer) markDelivered(ctx context.Context, id int64) error {
	d.commitOnce.Do(func() {
		d.delivered.Write = func(ctx context.Context, ids []int64) ([]error, error) {
			_, err := store.FinishPresaves(ctx, d.DB, ids, models.PresaveDelivered, "", d.Now())
			return nil, err
		}
	})
	return d.delivered.Do(ctx, id)
}

// wait paces one Web API call. A pause longer than a second (a 429's
// Retry-After) snoozes the job instead of holding a worker, so it costs no
// attempt and no lease time.
func (d *Deliverer) wait(ctx context.Context, key string) error {
	l := d.Limits[key]
	if l == nil {
		return nil
	}
	if pause := l.PausedFor(); pause > time.Second {
		return jobs.Snooze(pause)
	}
	return l.Wait(ctx)
}

// outcome sorts a platform error into the pre-save's fate and the job's next step.
func (d *Deliverer) outcome(ctx context.Context, job jobs.Job, p *models.Presave, name string, err error) error {
	var perr *platform.Error
	errors.As(err, &perr)
	msg := err.Error()
	if perr != nil && perr.Message != "" {
		msg = perr.Message
	}
	switch platform.KindOf(err) {
	case platform.RateLimited:
		wait := time.Second
		if perr != nil && perr.RetryAfter > 0 {
			wait = perr.RetryAfter
		}
		// A quota's reset is dated by our clock, not the client's.
		var until interface{ Until(time.Time) time.Time }
		if errors.As(err, &until) {
			now := d.Now()
			wait = max(time.Second, until.Until(now).Sub(now))
		}
		if l := d.Limits[p.Platform]; l != nil {
			l.Pause(wait)
		}
		d.savePause(ctx, p.Platform, wait)
		return jobs.Snooze(wait)
	case platform.Revoked:
		return d.finish(ctx, p, models.PresaveRevoked, fmt.Sprintf(ReasonRevoked, name), err)
	case platform.AuthExpired:
		if r, ok := reauthorizeReasons[p.Platform]; ok {
			return d.fail(ctx, p, r, err)
		}
		if perr != nil && (perr.Status == 401 || perr.Status == 403) {
			return d.fail(ctx, p, fmt.Sprintf(ReasonAuthorizeAgain, name, perr.Status), err)
		}
		return d.fail(ctx, p, fmt.Sprintf(ReasonExpired, name), err)
	case platform.NotAllowed:
		return d.fail(ctx, p, fmt.Sprintf(ReasonNotAllowed, name), err)
	case platform.NotFound:
		if perr != nil && perr.Message == msgNoVideo {
			return d.fail(ctx, p, fmt.Sprintf(ReasonNoVideo, name), err)
		}
		return d.fail(ctx, p, fmt.Sprintf(ReasonNotFound, name), err)
	case platform.Permanent:
		return d.fail(ctx, p, fmt.Sprintf(ReasonPermanent, name, msg), err)
	}
	// Transient: retry with backoff; on the last attempt, fail with the reason.
	if job.Attempt >= job.MaxAttempts {
		return d.fail(ctx, p, fmt.Sprintf(ReasonGaveUp, name, job.Attempt, msg), err)
	}
	if err := store.NotePresaveError(ctx, d.DB, p.ID, msg, d.Now()); err != nil {
		d.Log.Warn("could not note a delivery error", "presave", p.ID, "err", err)
	}
	return err
}

func (d *Deliverer) fail(ctx context.Context, p *models.Presave, reason string, cause error) error {
	return d.finish(ctx, p, models.PresaveFailed, reason, cause)
}

// finish records a final state (destroying the credential) and cancels the job:
// retrying cannot change a permanent answer.
func (d *Deliverer) finish(ctx context.Context, p *models.Presave, state, reason string, cause error) error {
	if _, err := store.FinishPresave(ctx, d.DB, p.ID, state, reason, d.Now()); err != nil {
		return err
	}
	return jobs.Cancel(fmt.Errorf("%s: %w", reason, cause))
}

// resolve returns the items to save for a link on a platform: the Spotify
// source itself, or what the release look-ups found on the platform
// (link_platforms), cached per link once found. Not found yet and still
// within the look-up window: the job snoozes until just after the next check,
// spending no attempt. After the window: ReasonNotFound.
func (d *Deliverer) resolve(ctx context.Context, l *models.Link, c platform.Client) ([]string, error) {
	// The source is part of the key: a new source is another release.
	key := strconv.FormatInt(l.ID, 10) + "/" + c.Key() + "/" + l.SourceKind + ":" + l.SourceValue
	if v, ok := d.items.Load(key); ok {
		return v.([]string), nil
	}
	if fu, ok := c.(resolve.FromURL); ok {
		return d.itemsFromURL(ctx, l, c.Key(), fu)
	}
	var items []string
	switch {
	case l.SourceKind == "":
		return nil, &platform.Error{Platform: c.Key(), Kind: platform.Permanent, Message: ReasonNoSource}
	case c.Key() == "spotify" && (l.SourceKind == models.SourceSpotifyTrack || l.SourceKind == models.SourceSpotifyAlbum):
		items = []string{l.SourceValue}
	default:
		lp, err := store.LinkPlatform(ctx, d.DB, l.ID, c.Key())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if err == nil && lp.FoundAt != nil && len(lp.Items) > 0 {
			items = lp.Items
			break
		}
		now := d.Now()
		if d.Resolver != nil && d.Resolver.Looking(l, now) && !now.Before(l.ReleaseAt) &&
			(err != nil || lp.CheckedAt == nil || lp.CheckedAt.Before(l.ReleaseAt)) {
			// The release-time check was enqueued with this delivery and has
			// not answered yet: look again soon, not after the next check.
			return nil, waitForCheck(firstCheckWait)
		}
		if d.Resolver != nil && d.Resolver.Looking(l, now) {
			// Wake a little after the check, so its answer is in.
			return nil, waitForCheck(d.Resolver.NextCheck(l, now).Add(checkMargin).Sub(now))
		}
		return nil, &platform.Error{Platform: c.Key(), Kind: platform.NotFound, Message: "not found by the release look-ups"}
	}
	d.items.Store(key, items)
	return items, nil
}

// checkMargin is how long after a scheduled check a waiting delivery looks
// again: the scheduler ticks every few seconds and a look-up takes a few more.
const checkMargin = 2 * time.Minute

// firstCheckWait is how long a delivery that ran before the release-time
// check waits for it.
const firstCheckWait = 15 * time.Second

// waitForCheck is resolve's "not found yet": snooze this long.
type waitForCheck time.Duration

func (w waitForCheck) Error() string {
	return "release: not found yet, waiting " + time.Duration(w).String()
}

func platformName(key string) string {
	if p, ok := models.PlatformByKey(key); ok {
		return p.Name
	}
	return key
}
