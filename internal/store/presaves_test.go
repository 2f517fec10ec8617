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

func TestOAuthStateSingleUseAndExpiry(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		_, w := seedWorkspace(t, db, "o@example.com")
		l := newLink(w.ID, "drop")
		if err := store.CreateLink(ctx, db, l); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"s1", "s2"} {
			if err := store.CreateOAuthState(ctx, db, &models.OAuthState{StateHash: h, LinkID: l.ID, Platform: "spotify",
				Verifier: "v", EmailOptIn: true, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		s, err := store.TakeOAuthState(ctx, db, "s1", t0.Add(time.Minute))
		if err != nil || s.Verifier != "v" || !s.EmailOptIn || s.LinkID != l.ID {
			t.Fatalf("take = %+v, %v", s, err)
		}
		if _, err := store.TakeOAuthState(ctx, db, "s1", t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("replayed state: %v", err)
		}
		if _, err := store.TakeOAuthState(ctx, db, "s2", t0.Add(11*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired state: %v", err)
		}
		if _, err := store.TakeOAuthState(ctx, db, "s2", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an expired state must be gone after the failed take: %v", err)
		}
	})
}

func TestPresaveUpsertRevokeAndRewrap(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		_, w := seedWorkspace(t, db, "o@example.com")
		l := newLink(w.ID, "drop")
		if err := store.CreateLink(ctx, db, l); err != nil {
			t.Fatal(err)
		}
		mk := func(hash string, at time.Time) *models.Presave {
			return &models.Presave{WorkspaceID: w.ID, LinkID: l.ID, Platform: "spotify", PlatformUserID: "fan1",
				DisplayName: "Fan", ConsentVersion: "v1", ConsentedAt: at, Scope: "user-library-modify",
				State: models.PresavePending, RevokeTokenHash: hash, CreatedAt: at, UpdatedAt: at}
		}
		p := mk("r1", t0)
		if err := store.UpsertPresave(ctx, db, p); err != nil {
			t.Fatal(err)
		}
		if err := store.SetPresaveCredential(ctx, db, p.ID, []byte("sealed-1"), 1); err != nil {
			t.Fatal(err)
		}
		again := mk("r2", t0.Add(time.Hour))
		if err := store.UpsertPresave(ctx, db, again); err != nil {
			t.Fatal(err)
		}
		if again.ID != p.ID || !again.CreatedAt.Equal(t0) {
			t.Fatalf("second pre-save made a new row: %d vs %d", again.ID, p.ID)
		}
		if n, _ := db.NewSelect().Model((*models.Presave)(nil)).Count(ctx); n != 1 {
			t.Fatalf("rows = %d", n)
		}
		if _, err := store.PresaveByRevokeToken(ctx, db, "r1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("old revoke token still works: %v", err)
		}

		creds, err := store.CredentialsNotUnder(ctx, db, 2, 0, 10)
		if err != nil || len(creds) != 1 || creds[0].KeyVersion != 1 {
			t.Fatalf("CredentialsNotUnder = %+v, %v", creds, err)
		}
		if ok, err := store.ReplaceCredential(ctx, db, p.ID, []byte("stale"), []byte("sealed-2"), 2); ok || err != nil {
			t.Fatalf("replace over a changed credential = %v, %v", ok, err)
		}
		if ok, err := store.ReplaceCredential(ctx, db, p.ID, []byte("sealed-1"), []byte("sealed-2"), 2); !ok || err != nil {
			t.Fatalf("replace = %v, %v", ok, err)
		}
		if creds, _ := store.CredentialsNotUnder(ctx, db, 2, 0, 10); len(creds) != 0 {
			t.Fatalf("still to rewrap: %+v", creds)
		}

		got, err := store.PresaveByRevokeToken(ctx, db, "r2")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := store.RevokePresave(ctx, db, got.ID, t0.Add(2*time.Hour)); !ok || err != nil {
			t.Fatalf("revoke = %v, %v", ok, err)
		}
		if ok, err := store.RevokePresave(ctx, db, got.ID, t0.Add(3*time.Hour)); ok || err != nil {
			t.Fatalf("second revoke = %v, %v; want false", ok, err)
		}
		got, _ = store.PresaveByID(ctx, db, got.ID)
		if got.State != models.PresaveRevoked || got.Credential != nil || got.CredentialKeyVersion != nil || got.RevokedAt == nil {
			t.Fatalf("after revoke: %+v", got)
		}
	})
}
