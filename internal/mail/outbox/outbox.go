// Package outbox is the embedded mail driver: messages are stored in the
// database and shown in the admin panel's Outbox, rendered as the recipient
// would see them, so a fresh install sends "email" without any account. It
// keeps Resend's limits and idempotency rules, so what works here works there.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// Sender stores messages instead of sending them.
type Sender struct {
	DB  *bun.DB
	Now func() time.Time
}

var _ mail.Sender = (*Sender)(nil)

// Send stores one message. With an idempotency key, a second Send of the
// same message answers the first id and stores nothing.
func (s *Sender) Send(ctx context.Context, msg mail.Message) (string, error) {
	if err := msg.Validate(); err != nil {
		return "", err
	}
	ids, err := s.store(ctx, msg.IdempotencyKey, []mail.Message{msg})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// SendBatch stores up to mail.MaxBatch messages in one transaction.
func (s *Sender) SendBatch(ctx context.Context, key string, msgs []mail.Message) ([]string, error) {
	if err := mail.ValidateBatch(key, msgs); err != nil {
		return nil, err
	}
	return s.store(ctx, key, msgs)
}

func (s *Sender) store(ctx context.Context, key string, msgs []mail.Message) ([]string, error) {
	now := s.Now().UTC()
	rows := make([]models.OutboxMessage, len(msgs))
	for i, m := range msgs {
		rows[i] = models.OutboxMessage{MessageID: newID(), IdempotencyKey: key, Sender: m.From,
			Recipient: strings.Join(m.To, ", "), Subject: m.Subject, HTML: m.HTML, Text: m.Text,
			Headers: m.Headers, WorkspaceID: m.WorkspaceOf(), CreatedAt: now}
		if rows[i].Headers == nil {
			rows[i].Headers = map[string]string{}
		}
	}
	var ids []string
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if key != "" {
			prev, err := store.OutboxByKey(ctx, tx, key)
			if err != nil {
				return err
			}
			if len(prev) > 0 {
				// A retry of a request that was stored: the same answer, or a
				// conflict when the key now names a different request.
				if !same(prev, rows) {
					return &mail.Error{Kind: mail.Conflict, Status: 409, Name: "invalid_idempotent_request",
						Message: "this idempotency key was used for a different request"}
				}
				for _, p := range prev {
					ids = append(ids, p.MessageID)
				}
				return nil
			}
		}
		if err := store.InsertOutbox(ctx, tx, rows); err != nil {
			return err
		}
		for _, r := range rows {
			ids = append(ids, r.MessageID)
		}
		return nil
	})
	if err != nil {
		if mail.KindOf(err) != mail.Unknown {
			return nil, err
		}
		// The database is this driver's provider: a failed write may succeed later.
		return nil, &mail.Error{Kind: mail.Transient, Message: "outbox: " + err.Error(), Err: err}
	}
	return ids, nil
}

// same reports whether a stored request is the one being retried.
func same(prev, next []models.OutboxMessage) bool {
	if len(prev) != len(next) {
		return false
	}
	for i := range prev {
		p, n := prev[i], next[i]
		if p.Sender != n.Sender || p.Recipient != n.Recipient || p.Subject != n.Subject ||
			p.HTML != n.HTML || p.Text != n.Text || fmt.Sprint(p.Headers) != fmt.Sprint(n.Headers) ||
			workspace(p.WorkspaceID) != workspace(n.WorkspaceID) {
			return false
		}
	}
	return true
}

func workspace(id *int64) int64 {
	if id == nil {
		return 0
	}
	return *id
}

// newID looks like a provider's message id, so links and logs read the same.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "outbox_" + hex.EncodeToString(b)
}
