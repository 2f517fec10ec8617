// Package webhook verifies and parses Resend's webhooks, which Svix signs:
// svix-id, svix-timestamp and svix-signature ("v1,<base64>" entries separated
// by spaces; more than one while a secret is being rotated). The signed
// content is "id.timestamp.body" under HMAC-SHA256, keyed by the whsec_
// secret base64-decoded.
//
// Hand-written on crypto/hmac rather than github.com/svix/svix-webhooks: that
// module is the whole Svix API client, and verification is a few lines we
// want to drive with our own clock. resendtest signs with its own code, so
// the two check each other.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Tolerance is how far svix-timestamp may be from now, either way: older
// deliveries are refused so a captured request cannot be replayed later.
const Tolerance = 5 * time.Minute

// Errors from Verify; the handler answers 401 to all of them, the names are
// for logs and tests.
var (
	ErrMissingHeaders = errors.New("webhook: missing svix-id, svix-timestamp or svix-signature")
	ErrTimestamp      = errors.New("webhook: timestamp outside the tolerance")
	ErrSignature      = errors.New("webhook: no matching signature")
)

// Verifier checks signatures made with one secret.
type Verifier struct {
	key []byte
}

// NewVerifier takes the endpoint's signing secret ("whsec_<base64>"; the
// bare base64 is accepted too).
func NewVerifier(secret string) (*Verifier, error) {
	raw := strings.TrimPrefix(strings.TrimSpace(secret), "whsec_")
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("webhook: secret is not whsec_ and base64: %w", err)
	}
	if len(key) == 0 {
		return nil, errors.New("webhook: empty secret")
	}
	return &Verifier{key: key}, nil
}

// Verify checks a delivery's headers and raw body against now, and returns
// its svix-id: the same id comes again when Svix retries, so the caller
// drops ids it has already recorded.
func (v *Verifier) Verify(h http.Header, body []byte, now time.Time) (id string, err error) {
	id = h.Get("svix-id")
	ts := h.Get("svix-timestamp")
	sigs := h.Get("svix-signature")
	if id == "" || ts == "" || sigs == "" {
		return "", ErrMissingHeaders
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: %q is not unix seconds", ErrTimestamp, ts)
	}
	if d := now.Sub(time.Unix(secs, 0)); d > Tolerance || d < -Tolerance {
		return "", fmt.Errorf("%w: %s off", ErrTimestamp, d.Round(time.Second))
	}
	mac := hmac.New(sha256.New, v.key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	want := mac.Sum(nil)
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue // other schemes (v1a: asymmetric) are not ours to check
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		// hmac.Equal compares in constant time.
		if hmac.Equal(got, want) {
			return id, nil
		}
	}
	return "", ErrSignature
}
