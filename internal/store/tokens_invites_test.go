package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/models"
)

func TestInvitesSingleUseAndExpiry(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		u, w := seedWorkspace(t, db, "o@example.com")
		in := &models.Invite{WorkspaceID: w.ID, Email: "n@example.com", Role: models.RoleMember, TokenHash: "th",
			InvitedBy: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
		if err := store.CreateInvite(ctx, db, in); err != nil {
			t.Fatal(err)
		}
		if _, err := store.InviteByToken(ctx, db, "th", t0.Add(25*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired invite: %v", err)
		}
		got, err := store.InviteByToken(ctx, db, "th", t0)
		if err != nil || got.ID != in.ID {
			t.Fatalf("InviteByToken = %+v, %v", got, err)
		}
		if err := store.AcceptInvite(ctx, db, in.ID, t0); err != nil {
			t.Fatal(err)
		}
		if err := store.AcceptInvite(ctx, db, in.ID, t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second accept: %v", err)
		}
		if _, err := store.InviteByToken(ctx, db, "th", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("used invite still found: %v", err)
		}
		_, other := seedWorkspace(t, db, "p@example.com")
		if err := store.DeleteInvite(ctx, db, other.ID, in.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete other workspace's invite: %v", err)
		}
	})
}

func TestAPITokens(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		_, w := seedWorkspace(t, db, "o@example.com")
		_, other := seedWorkspace(t, db, "p@example.com")
		tok := &models.APIToken{WorkspaceID: w.ID, Name: "site", Hint: "abcd", TokenHash: "hash1", CreatedAt: t0}
		if err := store.CreateAPIToken(ctx, db, tok); err != nil {
			t.Fatal(err)
		}
		got, err := store.APITokenByHash(ctx, db, "hash1")
		if err != nil || got.WorkspaceID != w.ID || got.LastUsedAt != nil {
			t.Fatalf("APITokenByHash = %+v, %v", got, err)
		}
		if err := store.TouchAPIToken(ctx, db, tok.ID, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		ts, err := store.APITokens(ctx, db, w.ID)
		if err != nil || len(ts) != 1 || ts[0].LastUsedAt == nil || !ts[0].LastUsedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("APITokens = %+v, %v", ts, err)
		}
		if err := store.DeleteAPIToken(ctx, db, other.ID, tok.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete other workspace's token: %v", err)
		}
		if err := store.DeleteAPIToken(ctx, db, w.ID, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := store.APITokenByHash(ctx, db, "hash1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted token still found: %v", err)
		}
	})
}
