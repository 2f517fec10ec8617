// Package keys provides the server secret: the operator's DROPDAY_SECRET_KEY,
// or one generated once into the data directory.
package keys

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Secret is the root server secret. Purpose-specific keys are derived from it,
// so one value can be rotated or shared between instances.
type Secret struct{ key []byte }

// New wraps raw key material (at least 32 bytes).
func New(raw []byte) (Secret, error) {
	if len(raw) < 32 {
		return Secret{}, errors.New("keys: the secret key must be at least 32 bytes")
	}
	return Secret{key: append([]byte(nil), raw...)}, nil
}

// Load decodes the operator's key (hex or base64), or reads dataDir/secret.key,
// creating it with 0600 permissions when it does not exist yet.
func Load(log *slog.Logger, given, dataDir string) (Secret, error) {
	if given != "" {
		raw, err := decode(given)
		if err != nil {
			return Secret{}, fmt.Errorf("keys: DROPDAY_SECRET_KEY: %w", err)
		}
		return New(raw)
	}
	path := filepath.Join(dataDir, "secret.key")
	b, err := os.ReadFile(path)
	if err == nil {
		raw, err := decode(strings.TrimSpace(string(b)))
		if err != nil {
			return Secret{}, fmt.Errorf("keys: %s: %w", path, err)
		}
		return New(raw)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Secret{}, fmt.Errorf("keys: read %s: %w", path, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Secret{}, fmt.Errorf("keys: generate: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return Secret{}, fmt.Errorf("keys: create %s: %w", dataDir, err)
	}
	// O_EXCL: if two processes race on a fresh data dir, one wins and the other reads its key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return Load(log, "", dataDir)
	}
	if err != nil {
		return Secret{}, fmt.Errorf("keys: create %s: %w", path, err)
	}
	if _, err := f.WriteString(hex.EncodeToString(raw) + "\n"); err != nil {
		f.Close()
		return Secret{}, fmt.Errorf("keys: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return Secret{}, fmt.Errorf("keys: write %s: %w", path, err)
	}
	log.Info("generated a new secret key; back it up with the database, or set DROPDAY_SECRET_KEY", "path", path)
	return New(raw)
}

func decode(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not hex or base64 (make one with: openssl rand -hex 32)")
}

// Derive returns a 32-byte key for one purpose ("session", "analytics", …),
// so a leak of one derived key reveals nothing about the others.
func (s Secret) Derive(purpose string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("dropday/" + purpose))
	return m.Sum(nil)
}
