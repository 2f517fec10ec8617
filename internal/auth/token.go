// Package auth holds the credential primitives: passwords, random tokens and their hashes.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// NewToken returns a 256-bit random token, URL-safe, with an optional prefix
// ("dd_" for API tokens) so a leaked one is recognisable in logs and scanners.
func NewToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error()) // the OS is broken; nothing safe to do
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is how every bearer-like token is stored: high-entropy tokens need
// no slow hash, only one that a database dump cannot reverse.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Password rules, checked before hashing so the message is clear.
const (
	MinPasswordLen = 10
	maxPasswordLen = 72 // bcrypt reads no further
)

// ErrWeakPassword and friends are shown to the user as they are.
var (
	ErrPasswordShort = fmt.Errorf("use at least %d characters", MinPasswordLen)
	ErrPasswordLong  = fmt.Errorf("use at most %d bytes", maxPasswordLen)
	ErrBadPassword   = errors.New("wrong email or password")
)

// CheckPasswordRules reports why a new password is not acceptable.
func CheckPasswordRules(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return ErrPasswordShort
	}
	if len(pw) > maxPasswordLen {
		return ErrPasswordLong
	}
	return nil
}

// Hasher hashes and checks admin passwords with bcrypt.
type Hasher struct {
	cost  int
	dummy []byte
}

// NewHasher uses cost (12 in production; tests lower it to stay fast).
func NewHasher(cost int) *Hasher {
	// dummy keeps a login for an unknown email as slow as one for a real account.
	dummy, _ := bcrypt.GenerateFromPassword([]byte("dropday-timing-equaliser"), cost)
	return &Hasher{cost: cost, dummy: dummy}
}

// Hash checks the password rules, then hashes.
func (h *Hasher) Hash(pw string) (string, error) {
	if err := CheckPasswordRules(pw); err != nil {
		return "", err
	}
	out, err := bcrypt.GenerateFromPassword([]byte(pw), h.cost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(out), nil
}

// Check compares; hash "" (unknown user) still costs a bcrypt run.
func (h *Hasher) Check(hash, pw string) error {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(h.dummy, []byte(pw))
		return ErrBadPassword
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)); err != nil {
		return ErrBadPassword
	}
	return nil
}
