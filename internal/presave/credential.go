// Package presave is the fan's direct pre-save: consent through the platform's
// OAuth, the sealed credential and the consent record, and one-click revoke.
package presave

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/vault"
)

// credentialAAD binds a sealed credential to its row: copied to another
// pre-save, it does not decrypt.
func credentialAAD(presaveID int64) []byte {
	return []byte("presave:" + strconv.FormatInt(presaveID, 10) + ":refresh_token")
}

// SealCredential encrypts a pre-save's refresh token for its row (AAD binds it
// to the id): the consent flow, rotation and bulk seeding use it.
func SealCredential(k *vault.Keyring, presaveID int64, token string) ([]byte, int, error) {
	s, err := k.Seal([]byte(token), credentialAAD(presaveID))
	if err != nil {
		return nil, 0, fmt.Errorf("presave: seal credential: %w", err)
	}
	b, err := s.MarshalBinary()
	if err != nil {
		return nil, 0, fmt.Errorf("presave: seal credential: %w", err)
	}
	return b, s.KeyVersion, nil
}

// OpenCredential decrypts a stored credential, in memory, for the worker.
func OpenCredential(k *vault.Keyring, presaveID int64, blob []byte) (string, error) {
	var s vault.Sealed
	if err := s.UnmarshalBinary(blob); err != nil {
		return "", fmt.Errorf("presave %d: %w", presaveID, err)
	}
	pt, err := k.Open(s, credentialAAD(presaveID))
	if err != nil {
		return "", fmt.Errorf("presave %d: %w", presaveID, err)
	}
	return string(pt), nil
}

// Rotate re-wraps every stored credential's data key under the keyring's
// primary key, in small batches, while the server keeps running: each row is
// swapped only if it still holds what was read, so a concurrent revoke wins.
// It returns how many rows it re-wrapped.
func Rotate(ctx context.Context, db bun.IDB, k *vault.Keyring, log *slog.Logger) (int, error) {
	const batch = 500
	done := 0
	var after int64
	for {
		rows, err := store.CredentialsNotUnder(ctx, db, k.Primary(), after, batch)
		if err != nil {
			return done, err
		}
		if len(rows) == 0 {
			return done, nil
		}
		for _, r := range rows {
			after = r.ID
			var s vault.Sealed
			if err := s.UnmarshalBinary(r.Credential); err != nil {
				return done, fmt.Errorf("presave %d: %w", r.ID, err)
			}
			ns, changed, err := k.Rewrap(s, credentialAAD(r.ID))
			if err != nil {
				return done, fmt.Errorf("presave %d: %w", r.ID, err)
			}
			if !changed {
				continue
			}
			b, err := ns.MarshalBinary()
			if err != nil {
				return done, fmt.Errorf("presave %d: %w", r.ID, err)
			}
			ok, err := store.ReplaceCredential(ctx, db, r.ID, r.Credential, b, ns.KeyVersion)
			if err != nil {
				return done, err
			}
			if ok {
				done++
			}
		}
		log.Info("re-wrapping credentials", "done", done, "last_id", after)
	}
}

// StoreRotated replaces a pre-save's credential with a rotated refresh token,
// only if the row still holds the one that was used (a revoke meanwhile wins).
func StoreRotated(ctx context.Context, db bun.IDB, k *vault.Keyring, presaveID int64, old []byte, token string) error {
	blob, version, err := SealCredential(k, presaveID, token)
	if err != nil {
		return err
	}
	if _, err := store.ReplaceCredential(ctx, db, presaveID, old, blob, version); err != nil {
		return err
	}
	return nil
}
