package vault

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// KeysFile is the file in the data directory that holds generated master keys
// when DROPDAY_MASTER_KEYS is not set.
const KeysFile = "master.keys"

// Parse reads a keyring in the DROPDAY_MASTER_KEYS format:
// "2:<base64>,1:<base64>", each key exactly 32 bytes in standard or URL
// base64, padded or not. The first entry is the primary. Errors name the
// entry's position and the problem, never its content.
func Parse(s string) (*Keyring, error) {
	k, err := parse(s)
	if err != nil {
		return nil, fmt.Errorf("vault: master keys: %w", err)
	}
	return k, nil
}

func parse(s string) (*Keyring, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("no keys given")
	}
	k := &Keyring{keks: map[int]cipher.AEAD{}}
	for i, entry := range strings.Split(s, ",") {
		pos := i + 1
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("entry %d is empty", pos)
		}
		vs, ks, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("entry %d: missing ':' between version and key", pos)
		}
		v, err := parseVersion(strings.TrimSpace(vs))
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", pos, err)
		}
		if _, dup := k.keks[v]; dup {
			return nil, fmt.Errorf("entry %d: version %d is given twice", pos, v)
		}
		raw, err := decodeKey(strings.TrimSpace(ks))
		if err != nil {
			return nil, fmt.Errorf("entry %d (version %d): %w", pos, v, err)
		}
		kek, err := newGCM(raw)
		clear(raw) // the cipher keeps its own key schedule
		if err != nil {
			return nil, fmt.Errorf("entry %d (version %d): %w", pos, v, err)
		}
		k.keks[v] = kek
		k.versions = append(k.versions, v)
	}
	k.primary = k.versions[0]
	return k, nil
}

// parseVersion accepts decimal digits only (no sign), 1 to 2^31-1, so the
// version fits the blob's 4 bytes and an int everywhere.
func parseVersion(s string) (int, error) {
	const msg = "the version must be a positive integer"
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, errors.New(msg)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 || v > math.MaxInt32 {
		return 0, errors.New(msg)
	}
	return int(v), nil
}

// decodeKey's errors never wrap the decoder's, which could quote input.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("the key is empty")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.Strict().DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != keySize {
			n := len(b)
			clear(b)
			return nil, fmt.Errorf("the key decodes to %d bytes, want %d (make one with: openssl rand -base64 32)", n, keySize)
		}
		return b, nil
	}
	return nil, errors.New("the key is not valid base64 (make one with: openssl rand -base64 32)")
}

// Load returns the keyring from given (DROPDAY_MASTER_KEYS) when set;
// otherwise from dataDir/master.keys, generating it once with a random
// version-1 key. Keys generated next to the database end up in the same
// backups, so that case logs a warning at every start.
func Load(log *slog.Logger, given, dataDir string) (*Keyring, error) {
	if strings.TrimSpace(given) != "" {
		k, err := parse(given)
		if err != nil {
			return nil, fmt.Errorf("vault: DROPDAY_MASTER_KEYS: %w", err)
		}
		return k, nil
	}
	path := filepath.Join(dataDir, KeysFile)
	k, err := readKeysFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		var created bool
		k, created, err = createKeysFile(path, dataDir)
		if err == nil && created {
			log.Warn("generated master keys for fan credentials in the data directory; "+
				"in production set DROPDAY_MASTER_KEYS and keep the keys out of database backups",
				"path", path)
			return k, nil
		}
	}
	if err != nil {
		return nil, err
	}
	log.Warn("master keys for fan credentials are read from the data directory; "+
		"in production set DROPDAY_MASTER_KEYS and keep the keys out of database backups",
		"path", path)
	return k, nil
}

// readKeysFile parses path. An empty file is most likely being written by a
// process that has just created it, so it is given a moment to finish (the
// content is one small write, which readers do not see half done).
func readKeysFile(path string) (*Keyring, error) {
	var b []byte
	var err error
	for range 50 {
		b, err = os.ReadFile(path)
		if err != nil || len(b) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("vault: read %s: %w", path, err)
	}
	defer clear(b)
	k, err := parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("vault: %s: %w", path, err)
	}
	return k, nil
}

// createKeysFile writes a new keyring file. It reports created=false with the
// winner's keyring when another process created the file first.
func createKeysFile(path, dataDir string) (k *Keyring, created bool, err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, false, fmt.Errorf("vault: create %s: %w", dataDir, err)
	}
	// O_EXCL: when two processes race on a fresh data dir, one wins and the
	// other reads the winner's key instead of writing its own.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		k, err := readKeysFile(path)
		if errors.Is(err, fs.ErrNotExist) { // the winner failed and cleaned up
			err = fmt.Errorf("vault: %s: another process failed to create it: %w", path, err)
		}
		return k, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("vault: create %s: %w", path, err)
	}
	raw := make([]byte, keySize)
	defer clear(raw)
	if _, err := rand.Read(raw); err != nil {
		f.Close()
		os.Remove(path)
		return nil, false, fmt.Errorf("vault: generate master key: %w", err)
	}
	line := []byte("1:" + base64.StdEncoding.EncodeToString(raw) + "\n")
	defer clear(line)
	_, err = f.Write(line)
	if err == nil {
		// Losing this file loses every stored token: make it durable.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path) // a half-written file would block every later start
		return nil, false, fmt.Errorf("vault: write %s: %w", path, err)
	}
	k, err = parse(string(line))
	return k, true, err
}
