package keycheck_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/keycheck"
	"github.com/dropday/dropday/internal/keys"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/internal/vault"
)

func keyring(t *testing.T, spec ...string) *vault.Keyring {
	t.Helper()
	parts := make([]string, len(spec))
	for i, s := range spec { // "version:fill byte"
		v, fill, _ := strings.Cut(s, ":")
		parts[i] = v + ":" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat(fill, 32)))
	}
	k, err := vault.Parse(strings.Join(parts, ","))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func secret(t *testing.T, fill string) keys.Secret {
	t.Helper()
	s, err := keys.New([]byte(strings.Repeat(fill, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The first start records the checks; the same secrets pass; another
// secret key or master key is refused by name; a rotation (new primary,
// old key still listed) is followed, after which the old key alone is refused.
func TestVerify(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		a, k1 := secret(t, "a"), keyring(t, "1:x")
		for i := range 2 {
			if err := keycheck.Verify(ctx, db, a, k1); err != nil {
				t.Fatalf("start %d: %v", i+1, err)
			}
		}
		if err := keycheck.Verify(ctx, db, secret(t, "b"), k1); err == nil || !strings.Contains(err.Error(), "DROPDAY_SECRET_KEY") {
			t.Errorf("another secret key: %v", err)
		}
		if err := keycheck.Verify(ctx, db, a, keyring(t, "1:y")); err == nil || !strings.Contains(err.Error(), "DROPDAY_MASTER_KEYS") {
			t.Errorf("another master key: %v", err)
		}
		if err := keycheck.Verify(ctx, db, a, keyring(t, "2:z", "1:x")); err != nil {
			t.Fatalf("rotation: %v", err)
		}
		if err := keycheck.Verify(ctx, db, a, keyring(t, "2:z")); err != nil {
			t.Errorf("after the rotation, the new key alone: %v", err)
		}
		if err := keycheck.Verify(ctx, db, a, k1); err == nil || !strings.Contains(err.Error(), "version 2") {
			t.Errorf("after the rotation, an instance with only the old key: %v", err)
		}
	})
}
