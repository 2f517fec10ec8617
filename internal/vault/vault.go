// Package vault encrypts fans' platform credentials (OAuth refresh tokens,
// Apple Music user tokens) at rest with envelope encryption.
//
// Each Seal draws a fresh 256-bit data key and encrypts the token with
// AES-256-GCM; the associated data is the caller's row identity, so a
// ciphertext copied to another row does not decrypt. The data key is then
// wrapped (AES-256-GCM again) by the primary key-encryption key (KEK), with
// associated data naming the KEK version and the same row identity. Only the
// wrapped data key is stored. The KEKs live outside the database
// (DROPDAY_MASTER_KEYS, or master.keys in the data directory when unset), so
// a database dump alone reveals no tokens.
//
// Rotation: put a new KEK first in DROPDAY_MASTER_KEYS and keep the old ones
// after it. New rows are wrapped under the new key at once, old rows still
// open, and Rewrap moves each old row to the new key without decrypting the
// token, while the server runs. When no row is left under an old version,
// that key can be removed.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

var (
	// ErrDecrypt: wrong row (aad), wrong key, corrupted or truncated data.
	// Deliberately vague: it says nothing about the token or the keys.
	ErrDecrypt = errors.New("vault: cannot decrypt (wrong row, wrong key or corrupted data)")
	// ErrUnknownKey: the row was wrapped under a KEK version this keyring does
	// not hold (removed too early, or DROPDAY_MASTER_KEYS is missing an entry).
	ErrUnknownKey = errors.New("vault: the row's key-encryption key version is not configured")
)

const (
	keySize     = 32 // AES-256
	nonceSize   = 12 // GCM standard nonce
	tagSize     = 16 // GCM tag
	wrappedSize = nonceSize + keySize + tagSize

	formatV1  = 1
	headerLen = 1 + 4 // format byte, KEK version
)

// Domain prefixes for the associated data, so the two GCM layers (and any
// later format) can never be confused with one another.
const (
	dataDomain = "dropday/vault/v1/data\x00"
	wrapDomain = "dropday/vault/v1/wrap\x00"
)

// Keyring holds the key-encryption keys. Make one with Parse or Load; it is
// immutable afterwards and safe for concurrent use.
type Keyring struct {
	primary  int
	versions []int // configured order, primary first
	keks     map[int]cipher.AEAD
}

// Primary is the version new data keys are wrapped under.
func (k *Keyring) Primary() int { return k.primary }

// Versions lists every configured version in configured order (primary first).
func (k *Keyring) Versions() []int { return append([]int(nil), k.versions...) }

// Sealed is one encrypted credential. Store it with MarshalBinary in a single
// column; KeyVersion can be kept in its own column too, to find the rows not
// yet under the primary key.
type Sealed struct {
	KeyVersion int    // version of the KEK that wrapped the data key
	WrappedKey []byte // nonce ‖ encrypted data key ‖ tag (60 bytes)
	Ciphertext []byte // nonce ‖ encrypted token ‖ tag (≥ 28 bytes)
}

// Seal encrypts plaintext under a fresh data key bound to aad, wrapped by the
// primary KEK. aad must name the row and column stably, e.g.
// "presave:<id>:refresh_token": Open and Rewrap need the same bytes, so it
// must not include anything that changes over the row's life.
func (k *Keyring) Seal(plaintext, aad []byte) (Sealed, error) {
	dk := make([]byte, keySize)
	defer clear(dk) // best effort: the AES key schedule itself cannot be wiped
	if _, err := rand.Read(dk); err != nil {
		return Sealed{}, fmt.Errorf("vault: random data key: %w", err)
	}
	data, err := newGCM(dk)
	if err != nil {
		return Sealed{}, err
	}
	ct, err := sealRandom(data, plaintext, dataAAD(aad))
	if err != nil {
		return Sealed{}, err
	}
	wk, err := k.wrap(dk, aad)
	if err != nil {
		return Sealed{}, err
	}
	return Sealed{KeyVersion: k.primary, WrappedKey: wk, Ciphertext: ct}, nil
}

// Open decrypts s for the row identified by aad. It fails with ErrUnknownKey
// when s's KEK version is not configured, and with ErrDecrypt otherwise.
// Callers should clear the returned plaintext once the platform call is made.
func (k *Keyring) Open(s Sealed, aad []byte) ([]byte, error) {
	dk, err := k.unwrap(s, aad)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	if len(s.Ciphertext) < nonceSize+tagSize {
		return nil, ErrDecrypt
	}
	data, err := newGCM(dk)
	if err != nil {
		return nil, err
	}
	pt, err := data.Open(nil, s.Ciphertext[:nonceSize], s.Ciphertext[nonceSize:], dataAAD(aad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// Rewrap re-wraps s's data key under the primary KEK, leaving the ciphertext
// as it is: rotation never handles the token itself. It reports false (and
// returns s unchanged) when s is already under the primary.
func (k *Keyring) Rewrap(s Sealed, aad []byte) (Sealed, bool, error) {
	if s.KeyVersion == k.primary {
		return s, false, nil
	}
	dk, err := k.unwrap(s, aad)
	if err != nil {
		return Sealed{}, false, err
	}
	defer clear(dk)
	wk, err := k.wrap(dk, aad)
	if err != nil {
		return Sealed{}, false, err
	}
	return Sealed{KeyVersion: k.primary, WrappedKey: wk, Ciphertext: append([]byte(nil), s.Ciphertext...)}, true, nil
}

// wrap encrypts the data key under the primary KEK. A random 96-bit nonce is
// fine here: one KEK wraps far fewer than 2^32 keys.
func (k *Keyring) wrap(dk, aad []byte) ([]byte, error) {
	return sealRandom(k.keks[k.primary], dk, wrapAAD(k.primary, aad))
}

func (k *Keyring) unwrap(s Sealed, aad []byte) ([]byte, error) {
	kek, ok := k.keks[s.KeyVersion]
	if !ok {
		return nil, fmt.Errorf("%w (version %d)", ErrUnknownKey, s.KeyVersion)
	}
	if len(s.WrappedKey) != wrappedSize {
		return nil, ErrDecrypt
	}
	dk, err := kek.Open(nil, s.WrappedKey[:nonceSize], s.WrappedKey[nonceSize:], wrapAAD(s.KeyVersion, aad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return dk, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return cipher.NewGCM(block)
}

// sealRandom returns nonce ‖ ciphertext ‖ tag with a fresh random nonce.
func sealRandom(a cipher.AEAD, plaintext, ad []byte) ([]byte, error) {
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("vault: random nonce: %w", err)
	}
	return a.Seal(out, out, plaintext, ad), nil
}

func dataAAD(aad []byte) []byte {
	return append([]byte(dataDomain), aad...)
}

// wrapAAD binds a wrapped key to its KEK version and to its row, so it can be
// neither relabelled with another version nor moved to another row.
func wrapAAD(version int, aad []byte) []byte {
	b := append([]byte(wrapDomain), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b[len(wrapDomain):], uint32(version))
	return append(b, aad...)
}

// MarshalBinary encodes s as one blob for a single database column.
//
// Layout, format 1 (93 bytes plus the token's length):
//
//	offset  size  field
//	0       1     format byte, 1 (a later layout gets a new byte)
//	1       4     KEK version, big-endian uint32
//	5       60    wrapped data key: 12-byte nonce ‖ 32-byte encrypted key ‖ 16-byte tag
//	65      rest  ciphertext: 12-byte nonce ‖ encrypted token ‖ 16-byte tag
func (s Sealed) MarshalBinary() ([]byte, error) {
	if s.KeyVersion < 1 || s.KeyVersion > math.MaxInt32 {
		return nil, errors.New("vault: sealed value has an invalid key version")
	}
	if len(s.WrappedKey) != wrappedSize || len(s.Ciphertext) < nonceSize+tagSize {
		return nil, errors.New("vault: sealed value is incomplete")
	}
	b := make([]byte, headerLen, headerLen+len(s.WrappedKey)+len(s.Ciphertext))
	b[0] = formatV1
	binary.BigEndian.PutUint32(b[1:], uint32(s.KeyVersion))
	b = append(b, s.WrappedKey...)
	return append(b, s.Ciphertext...), nil
}

// UnmarshalBinary decodes a blob written by MarshalBinary. It copies b, so the
// caller (a database driver) may reuse its buffer. Malformed input gives an
// error wrapping ErrDecrypt.
func (s *Sealed) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != formatV1 {
		return fmt.Errorf("%w: unknown blob format", ErrDecrypt)
	}
	if len(b) < headerLen+wrappedSize+nonceSize+tagSize {
		return fmt.Errorf("%w: blob too short", ErrDecrypt)
	}
	v := binary.BigEndian.Uint32(b[1:headerLen])
	if v < 1 || v > math.MaxInt32 {
		return fmt.Errorf("%w: invalid key version in blob", ErrDecrypt)
	}
	rest := b[headerLen:]
	*s = Sealed{
		KeyVersion: int(v),
		WrappedKey: append([]byte(nil), rest[:wrappedSize]...),
		Ciphertext: append([]byte(nil), rest[wrappedSize:]...),
	}
	return nil
}
