package vault

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Fixed test keys, recognisable in any output that leaks them.
var (
	key1 = bytes.Repeat([]byte{0x11}, 32)
	key2 = bytes.Repeat([]byte{0x22}, 32)
	b64a = base64.StdEncoding.EncodeToString(key1)
	b64b = base64.StdEncoding.EncodeToString(key2)
)

const token = "AQD-secret-refresh-token-1234567890"

func mustParse(t *testing.T, s string) *Keyring {
	t.Helper()
	k, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return k
}

func rowAAD(id int) []byte { return fmt.Appendf(nil, "presave:%d:refresh_token", id) }

// noSecrets fails when msg contains the token or any test key, raw or encoded.
func noSecrets(t *testing.T, msg string) {
	t.Helper()
	for _, secret := range []string{token, b64a, b64b, b64a[:20], b64b[:20], string(key1), string(key2)} {
		if strings.Contains(msg, secret) {
			t.Errorf("message leaks secret material: %q", msg)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	k := mustParse(t, "1:"+b64a)
	for name, pt := range map[string][]byte{
		"token": []byte(token),
		"empty": {},
		"large": bytes.Repeat([]byte("0123456789abcdef"), 1<<16), // 1 MiB
	} {
		t.Run(name, func(t *testing.T) {
			s, err := k.Seal(pt, rowAAD(1))
			if err != nil {
				t.Fatal(err)
			}
			if s.KeyVersion != 1 {
				t.Errorf("KeyVersion = %d, want 1", s.KeyVersion)
			}
			if len(pt) > 0 && bytes.Contains(s.Ciphertext, pt) {
				t.Error("ciphertext contains the plaintext")
			}
			blob, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if want := 93 + len(pt); len(blob) != want {
				t.Errorf("blob is %d bytes, want %d", len(blob), want)
			}
			var back Sealed
			if err := back.UnmarshalBinary(blob); err != nil {
				t.Fatal(err)
			}
			got, err := k.Open(back, rowAAD(1))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, pt) {
				t.Error("round trip changed the plaintext")
			}
		})
	}
}

func TestSealIsRandomised(t *testing.T) {
	k := mustParse(t, "1:"+b64a)
	a, _ := k.Seal([]byte(token), rowAAD(1))
	b, _ := k.Seal([]byte(token), rowAAD(1))
	if bytes.Equal(a.Ciphertext, b.Ciphertext) || bytes.Equal(a.WrappedKey, b.WrappedKey) {
		t.Error("two seals of the same token are identical")
	}
}

func TestEveryBitFlipFails(t *testing.T) {
	k := mustParse(t, "1:"+b64a)
	s, err := k.Seal([]byte(token), rowAAD(7))
	if err != nil {
		t.Fatal(err)
	}
	blob, _ := s.MarshalBinary()
	for i := range blob {
		for bit := range 8 {
			bad := bytes.Clone(blob)
			bad[i] ^= 1 << bit
			var s Sealed
			err := s.UnmarshalBinary(bad)
			if err == nil {
				var pt []byte
				pt, err = k.Open(s, rowAAD(7))
				if err == nil {
					t.Fatalf("byte %d bit %d flipped: opened %q", i, bit, pt)
				}
			}
			if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("byte %d bit %d flipped: unexpected error %v", i, bit, err)
			}
			noSecrets(t, err.Error())
		}
	}
}

func TestTruncatedFails(t *testing.T) {
	k := mustParse(t, "1:"+b64a)
	s, _ := k.Seal([]byte(token), rowAAD(1))
	blob, _ := s.MarshalBinary()
	for n := range len(blob) {
		var s Sealed
		err := s.UnmarshalBinary(blob[:n])
		if err == nil {
			_, err = k.Open(s, rowAAD(1))
		}
		if !errors.Is(err, ErrDecrypt) {
			t.Fatalf("blob cut to %d bytes: err = %v, want ErrDecrypt", n, err)
		}
	}
	// A hand-built Sealed with short parts fails cleanly too.
	for _, bad := range []Sealed{
		{KeyVersion: 1, WrappedKey: s.WrappedKey[:10], Ciphertext: s.Ciphertext},
		{KeyVersion: 1, WrappedKey: s.WrappedKey, Ciphertext: s.Ciphertext[:5]},
		{KeyVersion: 1},
	} {
		if _, err := k.Open(bad, rowAAD(1)); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Open(short parts) = %v, want ErrDecrypt", err)
		}
		if _, err := bad.MarshalBinary(); err == nil {
			t.Error("MarshalBinary accepted an incomplete value")
		}
	}
}

func TestMovedToAnotherRowFails(t *testing.T) {
	k := mustParse(t, "1:"+b64a)
	a, _ := k.Seal([]byte(token), rowAAD(1))
	b, _ := k.Seal([]byte("other-token"), rowAAD(2))

	// The whole value copied to row 2.
	if _, err := k.Open(a, rowAAD(2)); !errors.Is(err, ErrDecrypt) {
		t.Errorf("whole Sealed on another row: err = %v, want ErrDecrypt", err)
	}
	// Row 1's ciphertext with row 2's wrapped key, and the reverse.
	if _, err := k.Open(Sealed{KeyVersion: 1, WrappedKey: b.WrappedKey, Ciphertext: a.Ciphertext}, rowAAD(2)); !errors.Is(err, ErrDecrypt) {
		t.Errorf("ciphertext moved to another row: err = %v, want ErrDecrypt", err)
	}
	if _, err := k.Open(Sealed{KeyVersion: 1, WrappedKey: a.WrappedKey, Ciphertext: b.Ciphertext}, rowAAD(2)); !errors.Is(err, ErrDecrypt) {
		t.Errorf("wrapped key moved to another row: err = %v, want ErrDecrypt", err)
	}
	// Nor can it be rewrapped onto another row.
	k2 := mustParse(t, "2:"+b64b+",1:"+b64a)
	if _, _, err := k2.Rewrap(a, rowAAD(2)); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Rewrap with another row's aad: err = %v, want ErrDecrypt", err)
	}
}

func TestRelabelledVersionFails(t *testing.T) {
	// Both KEKs equal: only the version in the wrap's associated data can
	// tell them apart, so relabelling must still fail.
	k := mustParse(t, "2:"+b64a+",1:"+b64a)
	s, _ := k.Seal([]byte(token), rowAAD(1))
	s.KeyVersion = 1
	if _, err := k.Open(s, rowAAD(1)); !errors.Is(err, ErrDecrypt) {
		t.Errorf("relabelled version: err = %v, want ErrDecrypt", err)
	}
}

func TestRotation(t *testing.T) {
	old := mustParse(t, "1:"+b64a)
	s1, err := old.Seal([]byte(token), rowAAD(3))
	if err != nil {
		t.Fatal(err)
	}

	both := mustParse(t, "2:"+b64b+",1:"+b64a)
	if both.Primary() != 2 || !slices.Equal(both.Versions(), []int{2, 1}) {
		t.Fatalf("Primary() = %d, Versions() = %v", both.Primary(), both.Versions())
	}
	if got, err := both.Open(s1, rowAAD(3)); err != nil || string(got) != token {
		t.Fatalf("new keyring cannot open an old row: %v", err)
	}

	s2, moved, err := both.Rewrap(s1, rowAAD(3))
	if err != nil || !moved {
		t.Fatalf("Rewrap = %v, %v; want true, nil", moved, err)
	}
	if s2.KeyVersion != 2 {
		t.Errorf("rewrapped KeyVersion = %d, want 2", s2.KeyVersion)
	}
	if !bytes.Equal(s2.Ciphertext, s1.Ciphertext) {
		t.Error("Rewrap changed the ciphertext")
	}
	if bytes.Equal(s2.WrappedKey, s1.WrappedKey) {
		t.Error("Rewrap did not change the wrapped key")
	}

	only2 := mustParse(t, "2:"+b64b)
	if got, err := only2.Open(s2, rowAAD(3)); err != nil || string(got) != token {
		t.Fatalf("key-2-only keyring cannot open the rewrapped row: %v", err)
	}
	_, err = only2.Open(s1, rowAAD(3))
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("key-2-only keyring on an old row: err = %v, want ErrUnknownKey", err)
	}
	noSecrets(t, err.Error())
	if _, _, err := only2.Rewrap(s1, rowAAD(3)); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Rewrap without the old key: err = %v, want ErrUnknownKey", err)
	}

	s3, moved, err := both.Rewrap(s2, rowAAD(3))
	if err != nil || moved {
		t.Fatalf("second Rewrap = %v, %v; want false, nil", moved, err)
	}
	if s3.KeyVersion != 2 || !bytes.Equal(s3.WrappedKey, s2.WrappedKey) {
		t.Error("second Rewrap changed the value")
	}
}

func TestParseGood(t *testing.T) {
	urlKey := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11)[:32] // encodes with + and / (std) or - and _ (URL)
	for name, in := range map[string]string{
		"std padded":   "1:" + base64.StdEncoding.EncodeToString(urlKey),
		"std raw":      "1:" + base64.RawStdEncoding.EncodeToString(urlKey),
		"url padded":   "1:" + base64.URLEncoding.EncodeToString(urlKey),
		"url raw":      "1:" + base64.RawURLEncoding.EncodeToString(urlKey),
		"spaces":       "  1 : " + base64.StdEncoding.EncodeToString(urlKey) + " \n",
		"file newline": "1:" + base64.StdEncoding.EncodeToString(urlKey) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			k, err := Parse(in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", in, err)
			}
			if k.Primary() != 1 {
				t.Errorf("Primary() = %d", k.Primary())
			}
		})
	}
	// Every alphabet decodes to the same key: a value sealed with one opens with another.
	s, _ := mustParse(t, "1:"+base64.StdEncoding.EncodeToString(urlKey)).Seal([]byte(token), rowAAD(1))
	if _, err := mustParse(t, "1:"+base64.RawURLEncoding.EncodeToString(urlKey)).Open(s, rowAAD(1)); err != nil {
		t.Errorf("URL alphabet decoded to a different key: %v", err)
	}

	k := mustParse(t, "3:"+b64b+", 10:"+b64a+",1:"+b64a)
	if k.Primary() != 3 || !slices.Equal(k.Versions(), []int{3, 10, 1}) {
		t.Errorf("Primary() = %d, Versions() = %v", k.Primary(), k.Versions())
	}
	k.Versions()[0] = 99
	if k.Versions()[0] != 3 {
		t.Error("Versions() exposes the keyring's own slice")
	}
}

func TestParseBad(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(key1[:31])
	long := base64.StdEncoding.EncodeToString(append(bytes.Clone(key2), 0x22))
	for _, tc := range []struct{ in, want string }{
		{"", "no keys"},
		{"   ", "no keys"},
		{"1:" + short, "entry 1 (version 1): the key decodes to 31 bytes, want 32"},
		{"2:" + b64b + ",1:" + long, "entry 2 (version 1): the key decodes to 33 bytes, want 32"},
		{"1:" + b64a + ",1:" + b64b, "entry 2: version 1 is given twice"},
		{"0:" + b64a, "entry 1: the version must be a positive integer"},
		{"2:" + b64b + ",-1:" + b64a, "entry 2: the version must be a positive integer"},
		{"+1:" + b64a, "entry 1: the version must be a positive integer"},
		{"x:" + b64a, "entry 1: the version must be a positive integer"},
		{"99999999999:" + b64a, "entry 1: the version must be a positive integer"},
		{":" + b64a, "entry 1: the version must be a positive integer"},
		{b64a, "entry 1: missing ':'"},
		{"2:" + b64b + "," + b64a, "entry 2: missing ':'"},
		{"2:" + b64b + ",,1:" + b64a, "entry 2 is empty"},
		{"1:" + b64a + ",", "entry 2 is empty"},
		{"1:", "entry 1 (version 1): the key is empty"},
		{"1:" + b64a[:20] + "!!" + b64a[22:], "entry 1 (version 1): the key is not valid base64"},
		{"1:" + b64a + "=", "entry 1 (version 1): the key is not valid base64"},
		{"1:" + b64a[:40] + "+_" + b64a[42:], "entry 1 (version 1): the key is not valid base64"}, // mixed alphabets
	} {
		_, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", tc.in)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %q, want it to contain %q", tc.in, err, tc.want)
		}
		noSecrets(t, err.Error())
	}
}

// logBuffer returns a logger writing text to buf.
func logBuffer(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, nil))
}

func TestLoadGeneratesOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var logs bytes.Buffer
	k1, err := Load(logBuffer(&logs), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeysFile)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s mode = %v, want 0600", KeysFile, info.Mode().Perm())
	}
	if k1.Primary() != 1 || !slices.Equal(k1.Versions(), []int{1}) {
		t.Errorf("generated keyring: Primary() = %d, Versions() = %v", k1.Primary(), k1.Versions())
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "DROPDAY_MASTER_KEYS") {
		t.Errorf("no warning logged: %q", logs.String())
	}
	file, _ := os.ReadFile(path)
	_, key, _ := strings.Cut(strings.TrimSpace(string(file)), ":")
	if key == "" || strings.Contains(logs.String(), key) || strings.Contains(logs.String(), key[:16]) {
		t.Errorf("log contains key material: %q", logs.String())
	}

	// Second start: the same key, read back (and warned about again).
	logs.Reset()
	k2, err := Load(logBuffer(&logs), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := k1.Seal([]byte(token), rowAAD(1))
	if got, err := k2.Open(s, rowAAD(1)); err != nil || string(got) != token {
		t.Errorf("second Load has a different key: %v", err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), key[:16]) {
		t.Errorf("second Load log: %q", logs.String())
	}
	noSecrets(t, logs.String())
}

func TestLoadGivenTakesPrecedence(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(logBuffer(new(bytes.Buffer)), "", dir); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	k, err := Load(logBuffer(&logs), "7:"+b64b+",1:"+b64a, dir)
	if err != nil {
		t.Fatal(err)
	}
	if k.Primary() != 7 {
		t.Errorf("Primary() = %d, want 7 (from given)", k.Primary())
	}
	s, _ := k.Seal([]byte(token), rowAAD(1))
	if _, err := mustParse(t, "7:"+b64b).Open(s, rowAAD(1)); err != nil {
		t.Errorf("given key not used: %v", err)
	}
	if logs.Len() != 0 {
		t.Errorf("unexpected log with DROPDAY_MASTER_KEYS set: %q", logs.String())
	}

	// A bad given value is an error even when the file is fine.
	_, err = Load(logBuffer(&logs), "1:"+b64a[:30], dir)
	if err == nil || !strings.Contains(err.Error(), "DROPDAY_MASTER_KEYS: entry 1") {
		t.Errorf("bad DROPDAY_MASTER_KEYS: err = %v", err)
	}
	noSecrets(t, fmt.Sprint(err))
}

func TestLoadBadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, KeysFile)
	if err := os.WriteFile(path, []byte("1:"+b64a+",1:"+b64b+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(logBuffer(new(bytes.Buffer)), "", dir)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "entry 2: version 1 is given twice") {
		t.Errorf("err = %v", err)
	}
	noSecrets(t, fmt.Sprint(err))

	// An empty file (not one being written: it stays empty) is an error too.
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(logBuffer(new(bytes.Buffer)), "", dir); err == nil || !strings.Contains(err.Error(), "no keys") {
		t.Errorf("empty file: err = %v", err)
	}
}

func TestLoadRace(t *testing.T) {
	dir := t.TempDir()
	const n = 32
	rings := make([]*Keyring, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { rings[i], errs[i] = Load(logBuffer(new(bytes.Buffer)), "", dir) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Load %d: %v", i, err)
		}
	}
	s, _ := rings[0].Seal([]byte(token), rowAAD(1))
	for i, k := range rings[1:] {
		if _, err := k.Open(s, rowAAD(1)); err != nil {
			t.Errorf("racing Load %d got a different key: %v", i+1, err)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	k := mustParse(t, "2:"+b64b+",1:"+b64a)
	old := mustParse(t, "1:"+b64a)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			aad := rowAAD(i)
			s, err := old.Seal([]byte(token), aad)
			if err != nil {
				t.Error(err)
				return
			}
			s, _, err = k.Rewrap(s, aad)
			if err != nil {
				t.Error(err)
				return
			}
			if got, err := k.Open(s, aad); err != nil || string(got) != token {
				t.Errorf("row %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}

func TestErrorsCarryNoSecrets(t *testing.T) {
	k := mustParse(t, "1:"+b64a)
	s, _ := k.Seal([]byte(token), rowAAD(1))
	_, err := k.Open(s, rowAAD(2))
	noSecrets(t, err.Error())
	_, err = mustParse(t, "2:"+b64b).Open(s, rowAAD(1))
	noSecrets(t, err.Error())
	var bad Sealed
	err = bad.UnmarshalBinary([]byte(token))
	noSecrets(t, err.Error())
	_, err = Parse("1:" + b64a + "," + b64b)
	noSecrets(t, err.Error())
	_, err = Parse("1:" + b64a + "x")
	noSecrets(t, err.Error())
}
