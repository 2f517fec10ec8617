// Package broadcast sends a link's release-day email to its subscribers:
// recipients fixed when sending starts, checkpointed batches of up to 100
// through the mail driver with an idempotency key per batch (a crash after
// the provider accepted a batch sends nothing twice), one shared pace that
// honours 429s, and a pause with the reason when errors pile up. listmonk's
// campaign manager is the model.
package broadcast

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/keys"
	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/mail/driver"
	"github.com/dropday/dropday/internal/pace"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// KindSend is the job that sends a broadcast, batch after batch.
const KindSend = "broadcast.send"

// Pacer is the shared pace of calls to the mail provider.
type Pacer interface {
	Wait(ctx context.Context) error
	Pause(d time.Duration)
}

// Notifier wakes the workers after an enqueue.
type Notifier interface{ Notify() }

// Service is the broadcast engine and the operations the admin panel uses.
type Service struct {
	DB     *bun.DB
	Sender mail.Sender
	Pace   Pacer
	// Secret keys the recipients' unsubscribe and revoke tokens.
	Secret  []byte
	BaseURL string
	From    string
	Now     func() time.Time
	Log     *slog.Logger
	// Notify wakes the workers when a broadcast starts (nil: they find it at their next poll).
	Notify Notifier
	// Budget bounds one job run, well inside the job's lease; the job then
	// yields and continues where it stopped (default 1 min). A shutdown ends
	// the run after the batch in flight (jobs.Stopping).
	Budget time.Duration
}

// BatchSize is the most recipients in one provider call.
const BatchSize = mail.MaxBatch

// Limits on what an artist writes.
const (
	MaxSubject = 200
	MaxBody    = 50_000
)

// Draft is what the artist edits.
type Draft struct {
	Subject, Body, Format string
	// SendAt nil means at the link's release time.
	SendAt *time.Time
}

// Errors the panel turns into messages.
var (
	ErrStarted  = errors.New("broadcast: it has started; its text can no longer change")
	ErrNotReady = errors.New("broadcast: write a subject and a message first")
)

// Validate returns a message per bad field (empty when fine).
func (d Draft) Validate() map[string]string {
	errs := map[string]string{}
	switch n := utf8.RuneCountInString(strings.TrimSpace(d.Subject)); {
	case n == 0:
		errs["subject"] = "Write a subject."
	case n > MaxSubject:
		errs["subject"] = fmt.Sprintf("Keep the subject under %d characters.", MaxSubject)
	case strings.ContainsAny(d.Subject, "\r\n"):
		errs["subject"] = "The subject must be one line."
	}
	switch n := utf8.RuneCountInString(strings.TrimSpace(d.Body)); {
	case n == 0:
		errs["body"] = "Write the message."
	case n > MaxBody:
		errs["body"] = fmt.Sprintf("Keep the message under %d characters.", MaxBody)
	}
	if d.Format != models.FormatMarkdown && d.Format != models.FormatText {
		errs["format"] = "Pick Markdown or plain text."
	}
	return errs
}

// Save stores the draft and its schedule: state draft, or scheduled when
// schedule is true. It refuses once sending started.
func (s *Service) Save(ctx context.Context, l *models.Link, userID int64, d Draft, schedule bool) (*models.Broadcast, error) {
	now := s.Now().UTC()
	state := models.BroadcastDraft
	if schedule {
		state = models.BroadcastScheduled
	}
	var by *int64
	if userID > 0 { // 0: written through the API, by no one in particular
		by = &userID
	}
	b := &models.Broadcast{WorkspaceID: l.WorkspaceID, LinkID: l.ID, Subject: strings.TrimSpace(d.Subject),
		Body: d.Body, BodyFormat: d.Format, State: state, SendAt: d.SendAt, CreatedBy: by,
		CreatedAt: now, UpdatedAt: now}
	if err := store.SaveBroadcastDraft(ctx, s.DB, b); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrStarted
		}
		return nil, err
	}
	return store.BroadcastForLink(ctx, s.DB, l.WorkspaceID, l.ID)
}

// Start begins sending now: the recipients are fixed (in one transaction
// with the state change, so two presses or two instances start it once) and
// the send job is enqueued with them.
func (s *Service) Start(ctx context.Context, b *models.Broadcast) error {
	if strings.TrimSpace(b.Subject) == "" || strings.TrimSpace(b.Body) == "" {
		return ErrNotReady
	}
	now := s.Now().UTC()
	started := false
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ok, err := store.SetBroadcastState(ctx, tx, b.ID, []string{models.BroadcastDraft, models.BroadcastScheduled},
			models.BroadcastSending, "", now)
		if err != nil || !ok {
			return err
		}
		total, err := s.fixRecipients(ctx, tx, b, now)
		if err != nil {
			return err
		}
		if err := store.MarkBroadcastStarted(ctx, tx, b.ID, total, now); err != nil {
			return err
		}
		if _, _, err := jobs.Enqueue(ctx, tx, now, KindSend, sendPayload{BroadcastID: b.ID},
			jobs.Opts{MaxAttempts: maxAttempts}); err != nil {
			return err
		}
		started = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("broadcast %d: start: %w", b.ID, err)
	}
	if !started {
		return ErrStarted
	}
	s.Log.Info("broadcast started", "broadcast", b.ID, "link", b.LinkID)
	if s.Notify != nil {
		s.Notify.Notify()
	}
	return nil
}

// fixRecipients writes the broadcast's recipients, numbered into batches.
func (s *Service) fixRecipients(ctx context.Context, tx bun.IDB, b *models.Broadcast, now time.Time) (int, error) {
	total := 0
	var after int64
	for {
		page, err := store.BroadcastAudience(ctx, tx, b.LinkID, after, 500)
		if err != nil {
			return 0, err
		}
		if len(page) == 0 {
			return total, nil
		}
		rs := make([]models.Recipient, len(page))
		for i, a := range page {
			rs[i] = models.Recipient{BroadcastID: b.ID, SubscriberID: a.SubscriberID, Email: a.Email,
				Platform: a.Platform, PresaveID: a.PresaveID, Batch: total / BatchSize, State: models.RecipientQueued,
				UnsubscribeTokenHash: auth.HashToken(token(s.Secret, "unsubscribe", b.ID, a.SubscriberID)),
				UpdatedAt:            now}
			if a.PresaveID != nil {
				rs[i].RevokeTokenHash = auth.HashToken(token(s.Secret, "revoke", b.ID, *a.PresaveID))
			}
			total++
			after = a.SubscriberID
		}
		if err := store.InsertRecipients(ctx, tx, rs); err != nil {
			return 0, err
		}
	}
}

// Tick starts every scheduled broadcast whose time has come (the scheduler
// calls it on the elected instance).
func (s *Service) Tick(ctx context.Context) error {
	due, err := store.DueBroadcasts(ctx, s.DB, s.Now(), 50)
	if err != nil {
		return err
	}
	var errs []error
	for i := range due {
		if err := s.Start(ctx, &due[i]); err != nil && !errors.Is(err, ErrStarted) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Pause stops a sending broadcast after the batch in flight; Resume goes on
// exactly where it stopped.
func (s *Service) Pause(ctx context.Context, b *models.Broadcast, reason string) (bool, error) {
	return store.SetBroadcastState(ctx, s.DB, b.ID, []string{models.BroadcastSending}, models.BroadcastPaused, reason, s.Now().UTC())
}

// Resume continues a paused broadcast.
func (s *Service) Resume(ctx context.Context, b *models.Broadcast) (bool, error) {
	now := s.Now().UTC()
	resumed := false
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ok, err := store.SetBroadcastState(ctx, tx, b.ID, []string{models.BroadcastPaused}, models.BroadcastSending, "", now)
		if err != nil || !ok {
			return err
		}
		resumed = true
		_, _, err = jobs.Enqueue(ctx, tx, now, KindSend, sendPayload{BroadcastID: b.ID}, jobs.Opts{MaxAttempts: maxAttempts})
		return err
	})
	if err == nil && resumed && s.Notify != nil {
		s.Notify.Notify()
	}
	return resumed, err
}

// Cancel stops a broadcast for good (what was sent stays sent).
func (s *Service) Cancel(ctx context.Context, b *models.Broadcast) (bool, error) {
	return store.SetBroadcastState(ctx, s.DB, b.ID,
		[]string{models.BroadcastDraft, models.BroadcastScheduled, models.BroadcastSending, models.BroadcastPaused},
		models.BroadcastCancelled, "", s.Now().UTC())
}

// SendTest sends the email, as a subscriber would get it, to the artist.
// Its links carry no working tokens.
func (s *Service) SendTest(ctx context.Context, b *models.Broadcast, l *models.Link, to string) error {
	msg, err := s.Render(ctx, Letter{Broadcast: b, Link: l, To: to, Platform: "spotify",
		Unsubscribe: "test", Revoke: "test"})
	if err != nil {
		return err
	}
	msg.Subject = "[Test] " + msg.Subject
	if err := s.Pace.Wait(ctx); err != nil {
		return err
	}
	if _, err := s.Sender.Send(ctx, msg); err != nil {
		return fmt.Errorf("broadcast %d: test email: %w", b.ID, err)
	}
	return nil
}

// Progress is what the panel's progress bar shows.
type Progress struct {
	Total  int
	Counts map[string]int
}

// Done is how many recipients reached any state past queued.
func (p Progress) Done() int {
	return p.Total - p.Counts[models.RecipientQueued]
}

// Progress counts a broadcast's recipients by state.
func (s *Service) Progress(ctx context.Context, b *models.Broadcast) (Progress, error) {
	c, err := store.RecipientCounts(ctx, s.DB, b.ID)
	if err != nil {
		return Progress{}, err
	}
	return Progress{Total: b.Total, Counts: c}, nil
}

type sendPayload struct {
	BroadcastID int64 `json:"broadcast_id"`
}

// maxAttempts: transient provider errors back off (attempt⁴ s) for about a
// day before the broadcast pauses with the reason instead of failing anyone.
const maxAttempts = 12

func batchKey(broadcastID int64, batch int) string {
	return "dropday-broadcast-" + strconv.FormatInt(broadcastID, 10) + "-batch-" + strconv.Itoa(batch)
}

// New builds the engine from the configuration: the configured mail driver,
// paced at DROPDAY_RESEND_RATE (the outbox needs no pace).
func New(cfg *config.Config, db *bun.DB, secret keys.Secret, now func() time.Time, log *slog.Logger) (*Service, error) {
	snd, err := driver.New(cfg.Mail, db, now)
	if err != nil {
		return nil, err
	}
	rate := 0.0
	if cfg.Mail.Driver == "resend" {
		rate = cfg.Mail.ResendRate
	}
	// A run must end (and yield) well inside the job's lease: the runner cuts
	// a handler off at 9/10 of it, so a run longer than the lease never gets
	// past its first timeout and the broadcast stalls on retries.
	budget := time.Minute
	if cfg.JobLease > 0 {
		budget = min(budget, cfg.JobLease/3)
	}
	return &Service{DB: db, Sender: snd, Pace: pace.NewLimiter(rate, now), Secret: secret.Derive("broadcast-tokens"),
		BaseURL: cfg.BaseURL.String(), From: cfg.Mail.From, Now: now, Log: log, Budget: budget}, nil
}
