package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/models"
)

// The audience count agrees with the audience itself (active, not
// suppressed, signed up through this link), and the Broadcasts list shows
// one workspace's broadcasts with their links, nobody else's.
func TestBroadcastAudienceCountAndList(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		_, w := seedWorkspace(t, db, "a@example.com")
		_, other := seedWorkspace(t, db, "b@example.com")
		l, l2, foreign := newLink(w.ID, "one"), newLink(w.ID, "two"), newLink(other.ID, "three")
		for _, x := range []*models.Link{l, l2, foreign} {
			if err := store.CreateLink(ctx, db, x); err != nil {
				t.Fatal(err)
			}
		}
		add := func(wid, linkID int64, email, status string) {
			s := &models.Subscriber{WorkspaceID: wid, Email: email, Platform: "spotify", Status: status, CreatedAt: t0, UpdatedAt: t0}
			if err := store.UpsertSubscriber(ctx, db, s); err != nil {
				t.Fatal(err)
			}
			if err := store.UpsertSignup(ctx, db, &models.Signup{WorkspaceID: wid, LinkID: linkID, SubscriberID: s.ID,
				Platform: "spotify", ConsentVersion: "v1", ConsentedAt: t0, CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 7 {
			add(w.ID, l.ID, fmt.Sprintf("fan%d@example.com", i), models.SubscriberActive)
		}
		add(w.ID, l.ID, "gone@example.com", models.SubscriberUnsubscribed)
		add(w.ID, l.ID, "bounced@example.com", models.SubscriberActive)
		add(w.ID, l2.ID, "elsewhere@example.com", models.SubscriberActive)
		if _, err := db.NewInsert().Model(&models.Suppression{Email: "bounced@example.com", Reason: models.SuppressedBounce, CreatedAt: t0}).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		n, err := store.CountBroadcastAudience(ctx, db, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		page, err := store.BroadcastAudience(ctx, db, l.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n != 7 || len(page) != 7 {
			t.Fatalf("audience count %d, audience %d; want 7", n, len(page))
		}

		// The list: two of ours, not the other workspace's.
		save := func(x *models.Link, subject string) *models.Broadcast {
			b := &models.Broadcast{WorkspaceID: x.WorkspaceID, LinkID: x.ID, Subject: subject, Body: "b",
				BodyFormat: models.FormatText, State: models.BroadcastDraft, CreatedAt: t0, UpdatedAt: t0}
			if err := store.SaveBroadcastDraft(ctx, db, b); err != nil {
				t.Fatal(err)
			}
			return b
		}
		b1 := save(l, "first")
		save(l2, "second")
		save(foreign, "theirs")
		rows, total, err := store.ListBroadcasts(ctx, db, w.ID, 50, 0)
		if err != nil {
			t.Fatal(err)
		}
		if total != 2 || len(rows) != 2 {
			t.Fatalf("listed %d (total %d), want 2", len(rows), total)
		}
		for _, r := range rows {
			if r.WorkspaceID != w.ID || r.LinkTitle != "T" || r.LinkTimeZone != "Europe/Berlin" || !r.LinkReleaseAt.Equal(l.ReleaseAt) {
				t.Fatalf("row %+v", r)
			}
		}
		if err := store.InsertRecipients(ctx, db, []models.Recipient{
			{BroadcastID: b1.ID, SubscriberID: page[0].SubscriberID, Email: page[0].Email, UnsubscribeTokenHash: "u0", State: models.RecipientClicked, UpdatedAt: t0},
			{BroadcastID: b1.ID, SubscriberID: page[1].SubscriberID, Email: page[1].Email, UnsubscribeTokenHash: "u1", State: models.RecipientClicked, UpdatedAt: t0},
			{BroadcastID: b1.ID, SubscriberID: page[2].SubscriberID, Email: page[2].Email, UnsubscribeTokenHash: "u2", State: models.RecipientFailed, UpdatedAt: t0},
		}); err != nil {
			t.Fatal(err)
		}
		counts, err := store.RecipientCountsByBroadcast(ctx, db, []int64{b1.ID, rows[0].ID, rows[1].ID})
		if err != nil {
			t.Fatal(err)
		}
		if got := counts[b1.ID]; got[models.RecipientClicked] != 2 || got[models.RecipientFailed] != 1 || len(counts) != 1 {
			t.Fatalf("counts = %v", counts)
		}
	})
}
