// Package keycheck makes sure every instance on a database uses the same
// secrets. An instance started with another DROPDAY_MASTER_KEYS could not
// decrypt the fans' credentials and would fail their pre-saves for good; one
// with another DROPDAY_SECRET_KEY would break every unsubscribe link already
// mailed. Both are easy to get wrong when each instance generates its own
// into its DATA_DIR, so the first start records a check value in the
// database and every later start compares.
package keycheck

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/keys"
	"github.com/dropday/dropday/internal/vault"
)

// Settings keys holding the checks.
const (
	SecretKey = "secret_key_check"
	VaultKey  = "master_key_check"
)

// probeAAD binds the vault probe to its purpose.
var probeAAD = []byte("dropday/key-check")

// Verify records the checks on first use and refuses secrets that differ
// from the recorded ones. The vault probe follows a rotation: once it opens
// under a keyring whose primary is newer, it is sealed again under that.
func Verify(ctx context.Context, db *bun.DB, secret keys.Secret, k *vault.Keyring) error {
	sum := sha256.Sum256(secret.Derive("key-check"))
	fp := hex.EncodeToString(sum[:16])
	got, err := recordOnce(ctx, db, SecretKey, fp)
	if err != nil {
		return err
	}
	if got != fp {
		return fmt.Errorf("DROPDAY_SECRET_KEY is not the key this database was used with (another instance, or an earlier start, had a different one): "+
			"give every instance the same DROPDAY_SECRET_KEY. If you replaced it on purpose, run once: DELETE FROM settings WHERE key = '%s'", SecretKey)
	}

	sealed, err := k.Seal([]byte("dropday"), probeAAD)
	if err != nil {
		return fmt.Errorf("keycheck: %w", err)
	}
	mine, err := encode(sealed)
	if err != nil {
		return err
	}
	stored, err := recordOnce(ctx, db, VaultKey, mine)
	if err != nil || stored == mine {
		return err
	}
	var probe vault.Sealed
	b, err := base64.StdEncoding.DecodeString(stored)
	if err == nil {
		err = probe.UnmarshalBinary(b)
	}
	if err != nil {
		return fmt.Errorf("keycheck: the stored %s is damaged: %w", VaultKey, err)
	}
	if _, err := k.Open(probe, probeAAD); err != nil {
		why := "a different key under the same version"
		if errors.Is(err, vault.ErrUnknownKey) {
			why = fmt.Sprintf("no key of version %d, which the other instances use", probe.KeyVersion)
		}
		return fmt.Errorf("DROPDAY_MASTER_KEYS does not match the keys this database's credentials are sealed with (this instance has %s): "+
			"give every instance the same DROPDAY_MASTER_KEYS, or it would fail every pre-save it delivers", why)
	}
	if probe.KeyVersion != k.Primary() {
		// A rotation: from now on the new primary is the one to have.
		if _, err := db.NewUpdate().Table("settings").Set("value = ?", mine).
			Where("key = ? AND value = ?", VaultKey, stored).Exec(ctx); err != nil {
			return fmt.Errorf("keycheck: %w", err)
		}
	}
	return nil
}

func encode(s vault.Sealed) (string, error) {
	b, err := s.MarshalBinary()
	if err != nil {
		return "", fmt.Errorf("keycheck: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// recordOnce stores value under key unless a value is there, and returns
// whichever value is stored: instances starting together agree on one.
func recordOnce(ctx context.Context, db *bun.DB, key, value string) (string, error) {
	if _, err := db.NewRaw("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, value).Exec(ctx); err != nil {
		return "", fmt.Errorf("keycheck: record %s: %w", key, err)
	}
	var got string
	if err := db.NewRaw("SELECT value FROM settings WHERE key = ?", key).Scan(ctx, &got); err != nil {
		return "", fmt.Errorf("keycheck: read %s: %w", key, err)
	}
	return got, nil
}
