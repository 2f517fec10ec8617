// Package signup is the fan's email signup on a landing page: check the
// input, then record the subscriber and the consent in one transaction.
package signup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/fans"
	"github.com/dropday/dropday/internal/groupcommit"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
)

// ConsentVersion names the consent sentence below. Change both together: the
// version stored with each signup must identify the exact words the fan saw.
const ConsentVersion = "email-signup-v1"

// ConsentText is the sentence shown next to the submit button, for a release title.
func ConsentText(title string) string {
	return "We'll email you once when " + title + " is out, and about nothing else. Unsubscribe any time."
}

// DefaultPlatform is the preference recorded when the fan picked none.
const DefaultPlatform = "other"

// maxUserAgent keeps a hostile User-Agent header from bloating consent rows.
const maxUserAgent = 400

// Input is one signup as the form and the request sent it.
type Input struct {
	Email    string
	Platform string
	// Honeypot is a field people never see; bots fill it.
	Honeypot  string
	IP        string
	UserAgent string
	// Erasure recognises addresses erased from the workspace (required).
	Erasure fans.Key
	// Reconsent is the fan's tick on "yes, add me again", shown only for an
	// erased address: without it such an address is not added back.
	Reconsent bool
}

// ErrErased: the address was erased from this workspace before, and the fan
// has not ticked the box that signs them up again (the form shows it).
var ErrErased = errors.New("signup: this address was erased from the list; confirm to sign up again")

// ErrClosed: the link was archived (or put back to draft) since the caller
// read it, perhaps on another instance; nothing is stored. It wraps
// store.ErrNotFound, so a caller that does not tell it apart answers 404;
// the landing page's form says signups have closed (410).
var ErrClosed = fmt.Errorf("signup: the link takes no signups any more: %w", store.ErrNotFound)

// Result is what the confirmation shows.
type Result struct {
	Email    string
	Platform models.Platform
	// Stored is false when the honeypot caught a bot: it sees the same
	// confirmation, but nothing was written.
	Stored bool
}

// TxRunner is the part of *bun.DB that Signup needs.
type TxRunner interface {
	RunInTx(ctx context.Context, opts *sql.TxOptions, f func(ctx context.Context, tx bun.Tx) error) error
}

// Open tells whether a link accepts signups: only live and released links do.
func Open(l *models.Link) bool {
	return l.State == models.LinkLive || l.State == models.LinkReleased
}

// Check normalises and validates the fan's input. The platform must be one
// of models.Platforms; an empty choice means "other".
func Check(in Input) (email string, p models.Platform, errs validate.Errors) {
	email, msg := validate.Email(in.Email)
	if msg != "" {
		errs.Add("email", msg)
	}
	key := strings.TrimSpace(in.Platform)
	if key == "" {
		key = DefaultPlatform
	}
	p, ok := models.PlatformByKey(key)
	if !ok {
		errs.Add("platform", "Choose where you listen from the list.")
	}
	return email, p, errs
}

// Signup records a fan's email signup through link l at now. Invalid input
// returns validate.Errors and writes nothing; a filled honeypot returns a
// normal-looking Result and writes nothing. The subscriber and the consent
// record are written in one transaction, so a failure leaves neither.
func Signup(ctx context.Context, db TxRunner, l *models.Link, in Input, now time.Time) (Result, error) {
	r, res, err := prepare(l, in, now)
	if err != nil || r == nil {
		return res, err
	}
	return finish(res, db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return write(ctx, tx, r)
	}))
}

// prepare does what needs no database: an open link, valid input, the
// honeypot (a nil row with a Result: answer it, store nothing).
func prepare(l *models.Link, in Input, now time.Time) (*row, Result, error) {
	if !Open(l) {
		return nil, Result{}, fmt.Errorf("signup: link %d is %s: %w", l.ID, l.State, store.ErrNotFound)
	}
	email, p, errs := Check(in)
	if errs.Has() {
		return nil, Result{}, errs
	}
	res := Result{Email: email, Platform: p}
	if strings.TrimSpace(in.Honeypot) != "" {
		return nil, res, nil
	}
	return &row{link: l, in: in, email: email, platform: p, now: now.UTC()}, res, nil
}

// finish turns the write's outcome into Signup's answer.
func finish(res Result, err error) (Result, error) {
	if errors.Is(err, ErrErased) {
		return res, ErrErased
	}
	if err != nil {
		return Result{}, fmt.Errorf("signup: %w", err)
	}
	res.Stored = true
	return res, nil
}

// row is one checked signup on its way to the database.
type row struct {
	link     *models.Link
	in       Input
	email    string
	platform models.Platform
	now      time.Time
}

// write stores one signup in tx: the subscriber and the consent record, or
// nothing with ErrErased.
func write(ctx context.Context, tx bun.IDB, r *row) error {
	l, in, now := r.link, r.in, r.now
	open, err := store.OpenLinkIDs(ctx, tx, []int64{l.ID})
	if err != nil {
		return err
	}
	if !open[l.ID] {
		return ErrClosed
	}
	erased, err := in.Erasure.Erased(ctx, tx, l.WorkspaceID, r.email)
	if err != nil {
		return err
	}
	if erased {
		if !in.Reconsent {
			return ErrErased // before any write, so a batch may go on
		}
		// Fresh, explicit consent: the address is on the list again.
		if err := store.ForgetErased(ctx, tx, l.WorkspaceID, in.Erasure.Hash(r.email)); err != nil {
			return err
		}
	}
	textID, err := store.ConsentTextID(ctx, tx, ConsentVersion, ConsentText(l.Title), now)
	if err != nil {
		return err
	}
	sub := &models.Subscriber{WorkspaceID: l.WorkspaceID, Email: r.email, Platform: r.platform.Key,
		Status: models.SubscriberActive, CreatedAt: now, UpdatedAt: now}
	if err := store.UpsertSubscriber(ctx, tx, sub); err != nil {
		return err
	}
	return store.UpsertSignup(ctx, tx, &models.Signup{
		WorkspaceID: l.WorkspaceID, LinkID: l.ID, SubscriberID: sub.ID, Platform: r.platform.Key,
		IP: in.IP, UserAgent: truncate(in.UserAgent, maxUserAgent),
		ConsentVersion: ConsentVersion, ConsentTextID: &textID, ConsentedAt: now, CreatedAt: now,
	})
}

// Batcher is Signup with group commit: the signups of concurrent requests
// share one transaction (one commit, one fsync), so SQLite, which takes one
// writer at a time, stores thousands a second instead of one per commit.
// Each caller is answered only after the commit that holds its row, with its
// own result: a row that fails does not lose the others (the batch is rolled
// back and its rows are written again, each in its own transaction).
type Batcher struct {
	db    TxRunner
	group groupcommit.Group[*row]
}

// NewBatcher groups signups into db's transactions.
func NewBatcher(db TxRunner) *Batcher {
	b := &Batcher{db: db}
	b.group.Max = batchMax
	b.group.Write = b.write
	return b
}

// batchMax keeps one transaction short: the writer holds SQLite's lock for it.
const batchMax = 256

// Signup is the package's Signup, grouped with concurrent ones.
func (b *Batcher) Signup(ctx context.Context, l *models.Link, in Input, now time.Time) (Result, error) {
	r, res, err := prepare(l, in, now)
	if err != nil || r == nil {
		return res, err
	}
	return finish(res, b.group.Do(ctx, r))
}

func (b *Batcher) write(ctx context.Context, batch []*row) ([]error, error) {
	var errs []error
	err := b.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		errs, err = writeBatch(ctx, tx, batch)
		return err
	})
	if err == nil || len(batch) == 1 {
		if err != nil {
			errs = []error{err}
		}
		return errs, nil
	}
	// One row broke the batch: write each on its own, so only that one fails.
	errs = make([]error, len(batch))
	for i, r := range batch {
		errs[i] = b.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return write(ctx, tx, r)
		})
	}
	return errs, nil
}

// writeBatch stores a batch in tx with a few statements for all its rows
// (the erased check, the subscribers, the consent records) rather than
// three per row: what makes signups fast on SQLite, whose one writer does
// everything. The result is what writing the rows one after the other
// would leave: for an address (or a link and address) that comes twice, the
// later row wins. A row's own refusal (ErrErased) is its error; any other
// error fails the batch.
func writeBatch(ctx context.Context, tx bun.IDB, batch []*row) ([]error, error) {
	errs := make([]error, len(batch))
	// Links still open (the caller's copy may be a cached page's).
	var ids []int64
	for _, r := range batch {
		if !slices.Contains(ids, r.link.ID) {
			ids = append(ids, r.link.ID)
		}
	}
	open, err := store.OpenLinkIDs(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	// Erased addresses, per workspace.
	hashes := map[int64][]string{}
	for i, r := range batch {
		if !open[r.link.ID] {
			errs[i] = ErrClosed
			continue
		}
		hashes[r.link.WorkspaceID] = append(hashes[r.link.WorkspaceID], r.in.Erasure.Hash(r.email))
	}
	erased := map[int64]map[string]bool{}
	for ws, hs := range hashes {
		m, err := store.ErasedAmong(ctx, tx, ws, hs)
		if err != nil {
			return nil, err
		}
		erased[ws] = m
	}
	texts := map[string]int64{}
	type subKey struct {
		ws    int64
		email string
	}
	subs := map[subKey]*models.Subscriber{}
	var subList []*models.Subscriber
	var keep []int // rows to store, in order
	for i, r := range batch {
		if errs[i] != nil {
			continue
		}
		ws := r.link.WorkspaceID
		if h := r.in.Erasure.Hash(r.email); erased[ws][h] {
			if !r.in.Reconsent {
				errs[i] = ErrErased
				continue
			}
			// Fresh, explicit consent: the address is on the list again.
			if err := store.ForgetErased(ctx, tx, ws, h); err != nil {
				return nil, err
			}
			erased[ws][h] = false
		}
		text := ConsentText(r.link.Title)
		if _, ok := texts[text]; !ok {
			id, err := store.ConsentTextID(ctx, tx, ConsentVersion, text, r.now)
			if err != nil {
				return nil, err
			}
			texts[text] = id
		}
		k := subKey{ws, r.email}
		s := subs[k]
		if s == nil {
			s = &models.Subscriber{WorkspaceID: ws, Email: r.email, CreatedAt: r.now}
			subs[k] = s
			subList = append(subList, s)
		}
		s.Platform, s.Status, s.UpdatedAt = r.platform.Key, models.SubscriberActive, r.now // the later row wins
		keep = append(keep, i)
	}
	if err := store.UpsertSubscribers(ctx, tx, subList); err != nil {
		return nil, err
	}
	type signupKey struct{ link, sub int64 }
	signups := map[signupKey]*models.Signup{}
	var signupList []*models.Signup
	for _, i := range keep {
		r := batch[i]
		sub := subs[subKey{r.link.WorkspaceID, r.email}]
		textID := texts[ConsentText(r.link.Title)]
		sg := &models.Signup{
			WorkspaceID: r.link.WorkspaceID, LinkID: r.link.ID, SubscriberID: sub.ID, Platform: r.platform.Key,
			IP: r.in.IP, UserAgent: truncate(r.in.UserAgent, maxUserAgent),
			ConsentVersion: ConsentVersion, ConsentTextID: &textID, ConsentedAt: r.now, CreatedAt: r.now,
		}
		k := signupKey{r.link.ID, sub.ID}
		if prev, ok := signups[k]; ok {
			*prev = *sg // the later row wins
			continue
		}
		signups[k] = sg
		signupList = append(signupList, sg)
	}
	if err := store.UpsertSignups(ctx, tx, signupList); err != nil {
		return nil, err
	}
	return errs, nil
}

// truncate cuts s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Back up to the start of the character that straddles the cut.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
