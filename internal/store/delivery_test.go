package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/models"
)

func seedPresaves(t *testing.T, db bun.IDB, wid, linkID int64, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range ids {
		at := t0.Add(time.Duration(i) * time.Minute)
		p := &models.Presave{WorkspaceID: wid, LinkID: linkID, Platform: "spotify", PlatformUserID: string(rune('a' + i)),
			DisplayName: []string{"Alex Moon", "Sam", "Robin"}[i%3], Email: []string{"alex@example.com", "", "robin@x.org"}[i%3],
			ConsentVersion: "v1", ConsentedAt: at, State: models.PresavePending, RevokeTokenHash: string(rune('A' + i)),
			Credential: []byte("sealed"), CreatedAt: at, UpdatedAt: at}
		if err := store.UpsertPresave(context.Background(), db, p); err != nil {
			t.Fatal(err)
		}
		if err := store.SetPresaveCredential(context.Background(), db, p.ID, []byte("sealed"), 1); err != nil {
			t.Fatal(err)
		}
		ids[i] = p.ID
	}
	return ids
}

func TestPresavePanelQueriesAndFinish(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		_, w := seedWorkspace(t, db, "o@example.com")
		_, other := seedWorkspace(t, db, "p@example.com")
		l := newLink(w.ID, "drop")
		if err := store.CreateLink(ctx, db, l); err != nil {
			t.Fatal(err)
		}
		ids := seedPresaves(t, db, w.ID, l.ID, 6)

		if ok, err := store.FinishPresave(ctx, db, ids[0], models.PresaveDelivered, "", t0.Add(time.Hour)); !ok || err != nil {
			t.Fatalf("finish delivered = %v, %v", ok, err)
		}
		if ok, err := store.FinishPresave(ctx, db, ids[0], models.PresaveFailed, "late", t0.Add(time.Hour)); ok || err != nil {
			t.Fatalf("finishing a final pre-save again = %v, %v; want false", ok, err)
		}
		if ok, err := store.FinishPresave(ctx, db, ids[1], models.PresaveFailed, "Authorization expired", t0.Add(time.Hour)); !ok || err != nil {
			t.Fatal(err)
		}
		if _, err := store.RevokePresave(ctx, db, ids[2], t0); err != nil {
			t.Fatal(err)
		}
		p, _ := store.PresaveByID(ctx, db, ids[0])
		if p.Credential != nil || p.DeliveredAt == nil || p.State != models.PresaveDelivered {
			t.Fatalf("delivered row keeps its credential or misses its time: %+v", p)
		}
		if err := store.NotePresaveError(ctx, db, ids[3], "Spotify 503", t0); err != nil {
			t.Fatal(err)
		}

		c, err := store.PresaveCounts(ctx, db, w.ID, l.ID)
		if err != nil || c[models.PresavePending] != 3 || c[models.PresaveDelivered] != 1 || c[models.PresaveFailed] != 1 || c[models.PresaveRevoked] != 1 {
			t.Fatalf("counts = %v, %v", c, err)
		}
		if c, _ := store.PresaveCounts(ctx, db, other.ID, l.ID); c[models.PresavePending] != 0 {
			t.Fatalf("another workspace sees the counts: %v", c)
		}
		ps, total, err := store.LinkPresaves(ctx, db, w.ID, l.ID, store.PresaveFilter{State: models.PresavePending})
		if err != nil || total != 3 || ps[0].Credential != nil {
			t.Fatalf("pending list = %d, %v (credential loaded: %v)", total, err, len(ps) > 0 && ps[0].Credential != nil)
		}
		if _, total, _ := store.LinkPresaves(ctx, db, w.ID, l.ID, store.PresaveFilter{Search: "ALEX"}); total != 2 {
			t.Fatalf("search by name = %d, want 2", total)
		}
		if _, total, _ := store.LinkPresaves(ctx, db, w.ID, l.ID, store.PresaveFilter{Search: "x.org"}); total != 2 {
			t.Fatalf("search by email = %d, want 2", total)
		}
		if _, total, _ := store.LinkPresaves(ctx, db, w.ID, l.ID, store.PresaveFilter{Search: "%"}); total != 0 {
			t.Fatalf("a literal %% matched %d rows", total)
		}
		if n, err := store.CountConsentedBefore(ctx, db, w.ID, l.ID, "spotify", t0.Add(4*time.Minute)); err != nil || n != 1 {
			t.Fatalf("expiring = %d, %v; want 1 (pending, consented at t0+3m)", n, err)
		}
		got, err := store.PendingPresaves(ctx, db, l.ID, 0, 2)
		if err != nil || len(got) != 2 || got[0].ID != ids[3] || !got[0].ConsentedAt.Equal(t0.Add(3*time.Minute)) {
			t.Fatalf("pending = %v, %v", got, err)
		}
		rest, _ := store.PendingPresaves(ctx, db, l.ID, got[1].ID, 10)
		if len(rest) != 1 || rest[0].ID != ids[5] {
			t.Fatalf("next page = %v", rest)
		}
	})
}

func TestLinksDueAndRelease(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		_, w := seedWorkspace(t, db, "o@example.com")
		due := newLink(w.ID, "due")
		due.ReleaseAt = t0.Add(-time.Minute)
		later := newLink(w.ID, "later")
		draft := newLink(w.ID, "draft")
		draft.ReleaseAt, draft.State = t0.Add(-time.Hour), models.LinkDraft
		for _, l := range []*models.Link{due, later, draft} {
			if err := store.CreateLink(ctx, db, l); err != nil {
				t.Fatal(err)
			}
		}
		ls, err := store.LinksDue(ctx, db, t0, 10)
		if err != nil || len(ls) != 1 || ls[0].ID != due.ID {
			t.Fatalf("due = %+v, %v", ls, err)
		}
		if ok, err := store.MarkReleased(ctx, db, due.ID, t0); !ok || err != nil {
			t.Fatal(err)
		}
		if ok, _ := store.MarkReleased(ctx, db, due.ID, t0); ok {
			t.Fatal("released twice")
		}
		if ls, _ := store.LinksDue(ctx, db, t0, 10); len(ls) != 0 {
			t.Fatalf("still due: %+v", ls)
		}
	})
}
