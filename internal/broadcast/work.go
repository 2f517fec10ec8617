package broadcast

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// Errors pile up: pause when more than this share of the recipients so far
// were refused, once at least minFailures were.
const (
	pauseShare  = 0.10
	minFailures = 100
)

// Work sends a broadcast's batches from its checkpoint on, for up to Budget,
// then yields (a snooze, no attempt used) and goes on at its next run.
func (s *Service) Work(ctx context.Context, job jobs.Job) error {
	var pl sendPayload
	if err := job.Decode(&pl); err != nil {
		return jobs.Cancel(err)
	}
	budget := s.Budget
	if budget <= 0 {
		budget = time.Minute
	}
	until := time.Now().Add(budget)
	for {
		b, err := store.BroadcastByID(ctx, s.DB, pl.BroadcastID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // deleted with its link
		}
		if err != nil {
			return err
		}
		if b.State != models.BroadcastSending {
			return nil // paused or cancelled: Resume enqueues a new run
		}
		rs, err := store.RecipientsInBatch(ctx, s.DB, b.ID, b.NextBatch)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			if _, err := store.SetBroadcastState(ctx, s.DB, b.ID, []string{models.BroadcastSending}, models.BroadcastSent, "", s.Now().UTC()); err != nil {
				return err
			}
			s.Log.Info("broadcast sent", "broadcast", b.ID, "recipients", b.Total)
			return nil
		}
		if err := s.sendBatch(ctx, job, b, rs); err != nil {
			return err
		}
		select {
		case <-jobs.Stopping(ctx):
			return jobs.Snooze(0) // shutting down: the next run (here or elsewhere) goes on
		default:
		}
		if time.Now().After(until) {
			return jobs.Snooze(0)
		}
	}
}

// sendBatch sends one batch and records it, or decides what the error means.
func (s *Service) sendBatch(ctx context.Context, job jobs.Job, b *models.Broadcast, rs []models.Recipient) error {
	l, err := store.LinkForFan(ctx, s.DB, b.LinkID)
	if err != nil {
		return err
	}
	body, err := bodyHTML(b) // once per batch, not once per fan
	if err != nil {
		return err
	}
	msgs := make([]mail.Message, len(rs))
	for i, r := range rs {
		l := Letter{Broadcast: b, Link: l, To: r.Email, Platform: r.Platform, BodyHTML: body,
			Unsubscribe: token(s.Secret, "unsubscribe", b.ID, r.SubscriberID)}
		if r.PresaveID != nil {
			l.Revoke = token(s.Secret, "revoke", b.ID, *r.PresaveID)
		}
		if msgs[i], err = s.Render(ctx, l); err != nil {
			return err
		}
	}
	for {
		if err := s.Pace.Wait(ctx); err != nil {
			return err
		}
		ids, err := s.Sender.SendBatch(ctx, batchKey(b.ID, b.NextBatch), msgs)
		now := s.Now().UTC()
		var merr *mail.Error
		errors.As(err, &merr)
		switch mail.KindOf(err) {
		case mail.Unknown:
			if err != nil { // not from the driver: a bug or the context
				return err
			}
			for i := range rs {
				rs[i].State, rs[i].MessageID, rs[i].SentAt, rs[i].UpdatedAt = models.RecipientSent, ids[i], &now, now
			}
			_, err := store.RecordBatch(ctx, s.DB, b.ID, b.NextBatch, rs, now)
			return err
		case mail.RateLimited:
			wait := time.Second
			if merr.RetryAfter > 0 {
				wait = merr.RetryAfter
			}
			s.Pace.Pause(wait) // every sender waits, then this batch goes again
			continue
		case mail.Transient:
			if job.Attempt >= job.MaxAttempts {
				return s.pause(ctx, b, fmt.Sprintf("The mail service kept failing (%d tries): %s", job.Attempt, merr.Message))
			}
			return err // backoff; the same key makes the retry safe
		case mail.Permanent:
			// The provider refused these messages: they fail, the rest goes on.
			for i := range rs {
				rs[i].State, rs[i].Error, rs[i].UpdatedAt = models.RecipientFailed, merr.Message, now
			}
			if _, err := store.RecordBatch(ctx, s.DB, b.ID, b.NextBatch, rs, now); err != nil {
				return err
			}
			return s.checkFailures(ctx, b)
		default: // Auth, Conflict: nothing will send until someone acts
			return s.pause(ctx, b, "The mail service refused to send: "+merr.Message)
		}
	}
}

// checkFailures pauses a broadcast whose refusals pass the threshold.
func (s *Service) checkFailures(ctx context.Context, b *models.Broadcast) error {
	c, err := store.RecipientCounts(ctx, s.DB, b.ID)
	if err != nil {
		return err
	}
	failed, done := c[models.RecipientFailed], b.Total-c[models.RecipientQueued]
	if failed >= minFailures && float64(failed) > pauseShare*float64(done) {
		return s.pause(ctx, b, fmt.Sprintf("%d of %d emails so far were refused by the mail service; check the sender address and the list, then resume.", failed, done))
	}
	return nil
}

func (s *Service) pause(ctx context.Context, b *models.Broadcast, reason string) error {
	if _, err := store.SetBroadcastState(ctx, s.DB, b.ID, []string{models.BroadcastSending}, models.BroadcastPaused, reason, s.Now().UTC()); err != nil {
		return err
	}
	s.Log.Warn("broadcast paused", "broadcast", b.ID, "reason", reason)
	return nil
}
