package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/mail/outbox"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/models"
)

func msg(to string) mail.Message {
	return mail.Message{From: "Mara Lune <hello@example.com>", To: []string{to}, Subject: "Night Drive is out",
		HTML: "<p>Listen</p>", Text: "Listen", Headers: map[string]string{"List-Unsubscribe": "<https://x.test/u/1>"}}
}

// workspaceMsg is msg sent on a workspace's behalf.
func workspaceMsg(to string, wid int64) mail.Message {
	m := msg(to)
	m.Tags = []mail.Tag{{Name: "broadcast", Value: "1"}, mail.WorkspaceTag(wid)}
	return m
}

func TestOutbox(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
		s := &outbox.Sender{DB: db, Now: func() time.Time { return now }}
		ws := [2]*models.Workspace{{Name: "Mara Lune", CreatedAt: now}, {Name: "Other", CreatedAt: now}}
		for _, w := range ws {
			if err := store.CreateWorkspace(ctx, db, w); err != nil {
				t.Fatal(err)
			}
		}

		id, err := s.Send(ctx, workspaceMsg("fan@example.com", ws[0].ID))
		if err != nil || id == "" {
			t.Fatalf("send: %q %v", id, err)
		}
		got, err := store.OutboxMessage(ctx, db, id)
		if err != nil || got.Recipient != "fan@example.com" || got.Text != "Listen" ||
			got.Headers["List-Unsubscribe"] != "<https://x.test/u/1>" || !got.CreatedAt.Equal(now) ||
			got.WorkspaceID == nil || *got.WorkspaceID != ws[0].ID {
			t.Fatalf("stored: %+v %v", got, err)
		}
		// Account email (no workspace tag) is stored without a workspace, and no workspace lists it.
		acct, err := s.Send(ctx, msg("admin@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := store.OutboxMessage(ctx, db, acct); err != nil || got.WorkspaceID != nil {
			t.Fatalf("account email: %+v %v", got, err)
		}
		// A foreign workspace sees neither the list nor the message.
		if ms, n, err := store.ListOutbox(ctx, db, ws[1].ID, store.OutboxFilter{}); err != nil || n != 0 || len(ms) != 0 {
			t.Fatalf("other workspace lists %d, %v", n, err)
		}
		if _, err := store.WorkspaceOutboxMessage(ctx, db, ws[1].ID, got.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("foreign message: %v", err)
		}
		if m, err := store.WorkspaceOutboxMessage(ctx, db, ws[0].ID, got.ID); err != nil || m.MessageID != id {
			t.Fatalf("own message: %+v %v", m, err)
		}

		batch := make([]mail.Message, 100)
		for i := range batch {
			batch[i] = workspaceMsg(fmt.Sprintf("fan%d@example.com", i), ws[0].ID)
		}
		ids, err := s.SendBatch(ctx, "broadcast-1-batch-0", batch)
		if err != nil || len(ids) != 100 {
			t.Fatalf("batch: %d ids, %v", len(ids), err)
		}
		// The same batch again (a crash before it was recorded): same ids, nothing stored twice.
		again, err := s.SendBatch(ctx, "broadcast-1-batch-0", batch)
		if err != nil || !slices.Equal(ids, again) {
			t.Fatalf("replay: %v (same ids: %v)", err, slices.Equal(ids, again))
		}
		if ms, n, _ := store.ListOutbox(ctx, db, ws[0].ID, store.OutboxFilter{}); n != 101 || len(ms) != 50 || ms[0].ID < ms[49].ID {
			t.Errorf("outbox holds %d messages (page of %d), want 101, newest first", n, len(ms))
		}
		// Another workspace under the same key is another request: a conflict.
		moved := slices.Clone(batch)
		moved[0] = workspaceMsg("fan0@example.com", ws[1].ID)
		if _, err := s.SendBatch(ctx, "broadcast-1-batch-0", moved); mail.KindOf(err) != mail.Conflict {
			t.Errorf("same batch for another workspace: %v", err)
		}
		// The key with another request is a conflict, and stores nothing.
		batch[3].Subject = "Changed"
		if _, err := s.SendBatch(ctx, "broadcast-1-batch-0", batch); mail.KindOf(err) != mail.Conflict {
			t.Errorf("changed batch under the same key: %v", err)
		}
		if _, err := s.SendBatch(ctx, "k", append(batch, msg("one-too-many@example.com"))); mail.KindOf(err) != mail.Permanent {
			t.Errorf("101 messages: %v", err)
		}
		if _, n, _ := store.ListOutbox(ctx, db, ws[0].ID, store.OutboxFilter{Recipient: "Fan3@Example.com"}); n != 1 {
			t.Errorf("fan3 has %d messages, want 1", n)
		}
	})
}
