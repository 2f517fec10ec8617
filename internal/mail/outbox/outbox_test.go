package outbox_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/mail/outbox"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
)

func msg(to string) mail.Message {
	return mail.Message{From: "Mara Lune <hello@example.com>", To: []string{to}, Subject: "Night Drive is out",
		HTML: "<p>Listen</p>", Text: "Listen", Headers: map[string]string{"List-Unsubscribe": "<https://x.test/u/1>"}}
}

func TestOutbox(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
		s := &outbox.Sender{DB: db, Now: func() time.Time { return now }}

		id, err := s.Send(ctx, msg("fan@example.com"))
		if err != nil || id == "" {
			t.Fatalf("send: %q %v", id, err)
		}
		got, err := store.OutboxMessage(ctx, db, id)
		if err != nil || got.Recipient != "fan@example.com" || got.Text != "Listen" ||
			got.Headers["List-Unsubscribe"] != "<https://x.test/u/1>" || !got.CreatedAt.Equal(now) {
			t.Fatalf("stored: %+v %v", got, err)
		}

		batch := make([]mail.Message, 100)
		for i := range batch {
			batch[i] = msg(fmt.Sprintf("fan%d@example.com", i))
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
		if _, n, _ := store.ListOutbox(ctx, db, store.OutboxFilter{}); n != 101 {
			t.Errorf("outbox holds %d messages, want 101", n)
		}
		// The key with another request is a conflict, and stores nothing.
		batch[3].Subject = "Changed"
		if _, err := s.SendBatch(ctx, "broadcast-1-batch-0", batch); mail.KindOf(err) != mail.Conflict {
			t.Errorf("changed batch under the same key: %v", err)
		}
		if _, err := s.SendBatch(ctx, "k", append(batch, msg("one-too-many@example.com"))); mail.KindOf(err) != mail.Permanent {
			t.Errorf("101 messages: %v", err)
		}
		if _, n, _ := store.ListOutbox(ctx, db, store.OutboxFilter{Recipient: "fan3@example.com"}); n != 1 {
			t.Errorf("fan3 has %d messages, want 1", n)
		}
	})
}
