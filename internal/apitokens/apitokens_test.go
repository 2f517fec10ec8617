package apitokens_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/apitokens"
	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/models"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func workspace(t *testing.T, db bun.IDB) int64 {
	t.Helper()
	w := &models.Workspace{Name: "Label", CreatedAt: t0}
	if err := store.CreateWorkspace(context.Background(), db, w); err != nil {
		t.Fatal(err)
	}
	return w.ID
}

func TestCreateAndAuthenticate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		wid := workspace(t, db)
		token, row, msg, err := apitokens.Create(ctx, db, wid, "  website  ", nil, t0)
		if err != nil || msg != "" {
			t.Fatalf("Create: %v %q", err, msg)
		}
		// Recognisable prefix, then 256 random bits in URL-safe base64.
		if !strings.HasPrefix(token, apitokens.Prefix) || len(token) != len(apitokens.Prefix)+43 ||
			strings.ContainsAny(token[len(apitokens.Prefix):], "+/= ") {
			t.Fatalf("token %q has the wrong shape", token)
		}
		// Stored: the SHA-256 hash and a 4-character hint, never the token.
		if row.TokenHash != auth.HashToken(token) || len(row.TokenHash) != 64 || strings.Contains(row.TokenHash, token) {
			t.Fatalf("token_hash = %q", row.TokenHash)
		}
		if row.Hint != token[len(token)-4:] || row.Name != "website" || row.WorkspaceID != wid || !row.CreatedAt.Equal(t0) {
			t.Fatalf("row = %+v", row)
		}
		got, err := apitokens.Authenticate(ctx, db, token)
		if err != nil || got.ID != row.ID || got.WorkspaceID != wid {
			t.Fatalf("Authenticate(good) = %+v, %v", got, err)
		}
		// Two tokens are never the same.
		other, _, _, err := apitokens.Create(ctx, db, wid, "cli", nil, t0)
		if err != nil || other == token {
			t.Fatalf("second token %q, %v", other, err)
		}
	})
}

func TestAuthenticateRejects(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		wid := workspace(t, db)
		token, row, _, err := apitokens.Create(ctx, db, wid, "website", nil, t0)
		if err != nil {
			t.Fatal(err)
		}
		body := strings.TrimPrefix(token, apitokens.Prefix)
		for name, presented := range map[string]string{
			"empty":             "",
			"no prefix":         body,
			"other prefix":      "xx_" + body,
			"upper-case prefix": "DD_" + body,
			"the stored hash":   row.TokenHash,
			"prefixed hash":     apitokens.Prefix + row.TokenHash,
			"one char changed":  token[:len(token)-1] + string(rune(token[len(token)-1])^1),
			"with whitespace":   " " + token,
		} {
			if got, err := apitokens.Authenticate(ctx, db, presented); !errors.Is(err, store.ErrNotFound) || got != nil {
				t.Errorf("%s: Authenticate = %+v, %v; want ErrNotFound", name, got, err)
			}
		}
		// A deleted token is refused.
		if err := store.DeleteAPIToken(ctx, db, wid, row.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := apitokens.Authenticate(ctx, db, token); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted token: err = %v, want ErrNotFound", err)
		}
	})
}

func TestCreateRefusesBadNames(t *testing.T) {
	db, _ := testdb.SQLite(t)
	wid := workspace(t, db)
	for _, name := range []string{"", "   ", strings.Repeat("é", 101)} {
		token, row, msg, err := apitokens.Create(context.Background(), db, wid, name, nil, t0)
		if err != nil || msg == "" || token != "" || row != nil {
			t.Errorf("Create(%q) = %q, %+v, %q, %v; want a message and nothing issued", name, token, row, msg, err)
		}
	}
	if n, _ := db.NewSelect().Table("api_tokens").Count(context.Background()); n != 0 {
		t.Fatalf("refused names stored %d tokens", n)
	}
}
