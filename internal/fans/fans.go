// Package fans is a fan's rights over their data in one workspace: find what
// dropday holds about them, export it, erase it (one code path for the fan
// and the admin), prove who they are by email, and the retention rules that
// coarsen and purge consent records on a schedule.
package fans

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/audit"
	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/keys"
	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/mail/driver"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
)

// Key keys the hash an erased address is remembered by. It is derived from
// the server secret (not the vault's master keys, which rotate), so the same
// address always gives the same hash and a database dump alone cannot test
// addresses against the list.
type Key []byte

// NewKey derives the erasure key from the server secret.
func NewKey(s keys.Secret) Key { return Key(s.Derive("fan-erasure")) }

// Hash is the keyed hash of a normalised (lower-case, trimmed) address.
func (k Key) Hash(email string) string {
	if len(k) == 0 {
		panic("fans: erasure key not set") // a wiring bug: never hash with an empty key
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(m.Sum(nil))
}

// Erased tells whether the address was erased from the workspace.
func (k Key) Erased(ctx context.Context, db bun.IDB, workspaceID int64, email string) (bool, error) {
	return store.IsErased(ctx, db, workspaceID, k.Hash(email))
}

// Service holds what the fan's and the admin's data pages need.
type Service struct {
	DB      *bun.DB
	Key     Key
	Sender  mail.Sender
	From    string
	BaseURL string
	Now     func() time.Time
	Log     *slog.Logger

	inflight sync.WaitGroup
}

// New builds the service on the configured mail driver.
func New(cfg *config.Config, db *bun.DB, secret keys.Secret, now func() time.Time, log *slog.Logger) (*Service, error) {
	snd, err := driver.New(cfg.Mail, db, now)
	if err != nil {
		return nil, err
	}
	return &Service{DB: db, Key: NewKey(secret), Sender: snd, From: cfg.Mail.From,
		BaseURL: strings.TrimRight(cfg.BaseURL.String(), "/"), Now: now, Log: log}, nil
}

// Wait returns once the background emails in flight are sent (shutdown, tests).
func (s *Service) Wait() { s.inflight.Wait() }

// Identity is who a fan is in one workspace: their addresses and platform accounts.
type Identity struct {
	WorkspaceID int64
	Emails      []string
	Accounts    []store.Account
}

// ErrNoProof: the token is unknown, expired or used (the page says so, 404).
var ErrNoProof = errors.New("fans: this link is not valid (any more)")

// Proof kinds: the first letter of a data page's proof segment.
const (
	ProofRevoke      = "r" // a pre-save's undo token
	ProofUnsubscribe = "u" // an email's unsubscribe token
	ProofSession     = "s" // a session opened by an emailed link
)

// Resolve turns a proof ("r.<token>", "u.<token>", "s.<token>") into the
// fan's identity. The token is the authority, as on the undo and
// unsubscribe pages.
func Resolve(ctx context.Context, db bun.IDB, proof string, now time.Time) (Identity, error) {
	kind, token, ok := strings.Cut(proof, ".")
	if !ok || token == "" {
		return Identity{}, ErrNoProof
	}
	h := auth.HashToken(token)
	var id Identity
	switch kind {
	case ProofRevoke:
		p, err := store.PresaveByRevokeToken(ctx, db, h)
		if err != nil {
			return Identity{}, noProof(err)
		}
		id = Identity{WorkspaceID: p.WorkspaceID, Accounts: []store.Account{{Platform: p.Platform, UserID: p.PlatformUserID}}}
		if p.Email != "" {
			id.Emails = []string{p.Email}
		}
	case ProofUnsubscribe:
		r, err := store.RecipientByUnsubscribeToken(ctx, db, h)
		if err != nil {
			return Identity{}, noProof(err)
		}
		sub, err := store.SubscriberByID(ctx, db, r.SubscriberID)
		if err != nil {
			return Identity{}, noProof(err)
		}
		id = Identity{WorkspaceID: sub.WorkspaceID, Emails: []string{sub.Email}}
	case ProofSession:
		t, err := store.FanToken(ctx, db, models.FanTokenSession, h, now)
		if err != nil {
			return Identity{}, noProof(err)
		}
		id = Identity{WorkspaceID: t.WorkspaceID, Emails: []string{t.Email}}
	default:
		return Identity{}, ErrNoProof
	}
	return id, nil
}

func noProof(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoProof
	}
	return err
}

// Search is the admin's look-up: an email address, or a platform account
// id. msg is a message for the admin when the query cannot be used.
func Search(ctx context.Context, db bun.IDB, workspaceID int64, q string) (id Identity, msg string, err error) {
	q = strings.TrimSpace(q)
	id = Identity{WorkspaceID: workspaceID}
	switch {
	case q == "":
		return id, "Enter the fan's email address or their platform account id.", nil
	case strings.Contains(q, "@"):
		e, msg := validate.Email(q)
		if msg != "" {
			return id, msg, nil
		}
		id.Emails = []string{e}
		return id, "", nil
	case len(q) > 200:
		return id, "That is too long for a platform account id.", nil
	}
	id.Accounts, err = store.AccountsByUserID(ctx, db, workspaceID, q)
	return id, "", err
}

// Data is everything dropday holds about a fan in one workspace.
type Data struct {
	Workspace   *models.Workspace
	Privacy     *models.PrivacySettings
	Identity    Identity
	Presaves    []models.Presave
	Credentials map[int64]bool
	Subscribers []models.Subscriber
	// Suppressed maps an address to its instance-wide suppression reason (bounce, complaint).
	Suppressed        map[string]string
	Signups           []models.Signup
	Recipients        []store.FanRecipient
	Outbox            []models.OutboxMessage
	PendingDeliveries int
	Links             map[int64]*models.Link
	Texts             map[int64]models.ConsentText
}

// Empty says dropday holds nothing about the fan here.
func (d *Data) Empty() bool {
	return len(d.Presaves) == 0 && len(d.Subscribers) == 0 && len(d.Signups) == 0 && len(d.Recipients) == 0 && len(d.Outbox) == 0
}

// expand follows the fan's addresses to their pre-saves and those pre-saves'
// accounts and addresses, until nothing new turns up (a pre-save with the
// "also email me" box ties an account to an address).
func expand(ctx context.Context, db bun.IDB, id Identity) (Identity, []models.Presave, error) {
	var ps []models.Presave
	for range 4 {
		var err error
		if ps, err = store.FanPresaves(ctx, db, id.WorkspaceID, id.Emails, id.Accounts); err != nil {
			return id, nil, err
		}
		grew := false
		for _, p := range ps {
			if p.Email != "" && !slices.Contains(id.Emails, p.Email) {
				id.Emails, grew = append(id.Emails, p.Email), true
			}
			a := store.Account{Platform: p.Platform, UserID: p.PlatformUserID}
			if !slices.Contains(id.Accounts, a) {
				id.Accounts, grew = append(id.Accounts, a), true
			}
		}
		if !grew {
			break
		}
	}
	return id, ps, nil
}

// Collect gathers a fan's data in the workspace of id.
func Collect(ctx context.Context, db bun.IDB, id Identity) (*Data, error) {
	id, ps, err := expand(ctx, db, id)
	if err != nil {
		return nil, err
	}
	d := &Data{Identity: id, Presaves: ps, Links: map[int64]*models.Link{}, Suppressed: map[string]string{}}
	if d.Workspace, err = store.WorkspaceByID(ctx, db, id.WorkspaceID); err != nil {
		return nil, err
	}
	if d.Privacy, err = store.PrivacyOf(ctx, db, id.WorkspaceID); err != nil {
		return nil, err
	}
	if d.Subscribers, err = store.SubscribersByEmail(ctx, db, id.WorkspaceID, id.Emails); err != nil {
		return nil, err
	}
	subIDs := subscriberIDs(d.Subscribers)
	psIDs := presaveIDs(ps)
	if d.Signups, err = store.SignupsOf(ctx, db, id.WorkspaceID, subIDs); err != nil {
		return nil, err
	}
	if d.Recipients, err = store.RecipientsOf(ctx, db, id.WorkspaceID, subIDs, psIDs); err != nil {
		return nil, err
	}
	if d.Outbox, err = store.OutboxTo(ctx, db, id.WorkspaceID, id.Emails); err != nil {
		return nil, err
	}
	if d.Credentials, err = store.HoldsCredential(ctx, db, psIDs); err != nil {
		return nil, err
	}
	if d.PendingDeliveries, err = store.PendingDeliveries(ctx, db, psIDs); err != nil {
		return nil, err
	}
	for _, e := range id.Emails {
		sp, err := store.SuppressionFor(ctx, db, e)
		if err == nil {
			d.Suppressed[e] = sp.Reason
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	var textIDs []int64
	linkIDs := map[int64]bool{}
	for _, p := range ps {
		linkIDs[p.LinkID] = true
		if p.ConsentTextID != nil {
			textIDs = append(textIDs, *p.ConsentTextID)
		}
	}
	for _, g := range d.Signups {
		linkIDs[g.LinkID] = true
		if g.ConsentTextID != nil {
			textIDs = append(textIDs, *g.ConsentTextID)
		}
	}
	for _, r := range d.Recipients {
		linkIDs[r.LinkID] = true
	}
	for lid := range linkIDs {
		l, err := store.LinkByID(ctx, db, id.WorkspaceID, lid)
		if err != nil {
			return nil, err
		}
		d.Links[lid] = l
	}
	if d.Texts, err = store.ConsentTexts(ctx, db, textIDs); err != nil {
		return nil, err
	}
	return d, nil
}

func subscriberIDs(ss []models.Subscriber) []int64 {
	out := make([]int64, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func presaveIDs(ps []models.Presave) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

// Erased is what an erasure did.
type Erased struct {
	Workspace *models.Workspace
	Emails    []string
	Counts    store.ErasedCounts
	// Slug is one of the fan's release pages, to name the privacy page by.
	Slug string
	// Target is how the audit entry names the fan.
	Target string
}

// Total counts the rows removed.
func (e Erased) Total() int64 {
	var n int64
	for _, c := range e.Counts {
		n += c
	}
	return n
}

// Erase removes every row about the fan in the workspace, in one
// transaction with its audit entry: pre-saves (credentials included),
// their delivery jobs, the subscriber, signups, broadcast recipients,
// outbox messages to the address and the fan's proof tokens. What stays is
// a keyed hash of each address (erased_emails), so no import or pre-save
// adds them back without fresh consent. It then confirms by email to each
// known address. The fan's own erasure and the admin's both come here.
func (s *Service) Erase(ctx context.Context, id Identity, actor audit.Actor) (Erased, error) {
	now := s.Now().UTC()
	var out Erased
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		d, err := Collect(ctx, tx, id)
		if err != nil {
			return err
		}
		out.Workspace, out.Emails = d.Workspace, d.Identity.Emails
		for _, l := range d.Links {
			if l.State != models.LinkDraft && (out.Slug == "" || l.Slug < out.Slug) {
				out.Slug = l.Slug
			}
		}
		out.Counts, err = store.EraseFan(ctx, tx, id.WorkspaceID, subscriberIDs(d.Subscribers), presaveIDs(d.Presaves), d.Identity.Emails)
		if err != nil {
			return err
		}
		for _, e := range d.Identity.Emails {
			if err := store.MarkErased(ctx, tx, id.WorkspaceID, s.Key.Hash(e), now); err != nil {
				return err
			}
		}
		out.Target = s.Target(d.Identity)
		return audit.Record(ctx, tx, actor, id.WorkspaceID, audit.FanErase, out.Target, countsDetail(out.Counts), now)
	})
	if err != nil {
		return Erased{}, fmt.Errorf("fans: erase: %w", err)
	}
	s.Log.Info("fan data erased", "workspace", id.WorkspaceID, "by", actor.Kind, "rows", out.Total())
	for _, e := range out.Emails {
		if err := s.sendErased(ctx, out.Workspace, out.Slug, e); err != nil {
			// The erasure stands; only the confirmation failed.
			s.Log.Warn("erasure confirmation email failed", "err", err, "workspace", id.WorkspaceID)
		}
	}
	return out, nil
}

// Export records the export in the audit log and returns the data.
func (s *Service) Export(ctx context.Context, id Identity, actor audit.Actor) (*Data, error) {
	var d *Data
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if d, err = Collect(ctx, tx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, id.WorkspaceID, audit.FanExport, s.Target(d.Identity), "", s.Now())
	})
	if err != nil {
		return nil, fmt.Errorf("fans: export: %w", err)
	}
	return d, nil
}

// Target names the fan in the audit log by a pseudonym: the keyed hash of
// their first address (or account), shortened. The log outlives an erasure,
// so it must not hold the address itself; an owner who knows the address can
// still find its entries (the Fans page shows the same reference).
func (s *Service) Target(id Identity) string {
	switch {
	case len(id.Emails) > 0:
		return "fan " + s.Key.Hash(id.Emails[0])[:12]
	case len(id.Accounts) > 0:
		return "fan " + s.Key.Hash(id.Accounts[0].Platform + ":" + id.Accounts[0].UserID)[:12]
	}
	return "fan (nobody found)"
}

func countsDetail(c store.ErasedCounts) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%d", k, c[k])
	}
	return b.String()
}
