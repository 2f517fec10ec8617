package presave

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/internal/vault"
	"github.com/dropday/dropday/models"
)

func key(b byte) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), 32)))
}

func TestRotateKeepsRowsReadableAndLeavesNoneUnderOldKey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		old, err := vault.Parse("1:" + key('a'))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
		u := &models.User{Email: "o@example.com", PasswordHash: "x", CreatedAt: now}
		w := &models.Workspace{Name: "W", CreatedAt: now}
		if err := store.CreateUser(ctx, db, u); err != nil {
			t.Fatal(err)
		}
		if err := store.CreateWorkspace(ctx, db, w); err != nil {
			t.Fatal(err)
		}
		l := &models.Link{WorkspaceID: w.ID, Slug: "s", Title: "T", Artist: "A", ReleaseAt: now, TimeZone: "UTC", State: "live", CreatedAt: now, UpdatedAt: now}
		if err := store.CreateLink(ctx, db, l); err != nil {
			t.Fatal(err)
		}
		ids := make([]int64, 3)
		for i := range ids {
			p := &models.Presave{WorkspaceID: w.ID, LinkID: l.ID, Platform: "spotify", PlatformUserID: string(rune('a' + i)),
				ConsentVersion: "v1", ConsentedAt: now, State: models.PresavePending, RevokeTokenHash: string(rune('a' + i)), CreatedAt: now, UpdatedAt: now}
			if err := store.UpsertPresave(ctx, db, p); err != nil {
				t.Fatal(err)
			}
			blob, v, err := SealCredential(old, p.ID, "refresh-"+p.PlatformUserID)
			if err != nil {
				t.Fatal(err)
			}
			if err := store.SetPresaveCredential(ctx, db, p.ID, blob, v); err != nil {
				t.Fatal(err)
			}
			ids[i] = p.ID
		}
		both, err := vault.Parse("2:" + key('b') + ",1:" + key('a'))
		if err != nil {
			t.Fatal(err)
		}
		n, err := Rotate(ctx, db, both, testdb.Logger())
		if err != nil || n != 3 {
			t.Fatalf("Rotate = %d, %v; want 3", n, err)
		}
		if n, err := Rotate(ctx, db, both, testdb.Logger()); err != nil || n != 0 {
			t.Fatalf("second Rotate = %d, %v; want 0", n, err)
		}
		onlyNew, _ := vault.Parse("2:" + key('b'))
		for i, id := range ids {
			p, err := store.PresaveByID(ctx, db, id)
			if err != nil {
				t.Fatal(err)
			}
			if *p.CredentialKeyVersion != 2 {
				t.Fatalf("row %d still under key %d", id, *p.CredentialKeyVersion)
			}
			got, err := OpenCredential(onlyNew, id, p.Credential)
			if err != nil || got != "refresh-"+string(rune('a'+i)) {
				t.Fatalf("open row %d = %q, %v", id, got, err)
			}
			if _, err := OpenCredential(old, id, p.Credential); !errors.Is(err, vault.ErrUnknownKey) {
				t.Fatalf("old key still opens row %d: %v", id, err)
			}
		}
		// A credential copied to another row does not decrypt.
		a, _ := store.PresaveByID(ctx, db, ids[0])
		if _, err := OpenCredential(onlyNew, ids[1], a.Credential); !errors.Is(err, vault.ErrDecrypt) {
			t.Fatalf("swapped credential opened: %v", err)
		}
	})
}
