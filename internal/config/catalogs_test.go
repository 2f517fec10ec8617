package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func p8(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestCatalogDefaults(t *testing.T) {
	c, err := Load(env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Apple.Enabled() || c.Apple.APIURL != "https://api.music.apple.com" || c.Apple.Storefront != "us" {
		t.Errorf("apple = %+v", c.Apple)
	}
	if !c.Deezer.Catalog || c.Deezer.APIURL != "https://api.deezer.com" {
		t.Errorf("deezer = %+v", c.Deezer)
	}
	if c.Tidal.Enabled() || c.Tidal.AuthURL != "https://auth.tidal.com" || c.Tidal.APIURL != "https://openapi.tidal.com" || c.Tidal.Country != "US" {
		t.Errorf("tidal = %+v", c.Tidal)
	}
}

func TestCatalogSettings(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pemText := p8(t, key)
	path := filepath.Join(t.TempDir(), "AuthKey_ABCDE12345.p8")
	if err := os.WriteFile(path, []byte(pemText), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, keyVal := range map[string]string{
		"PEM":             pemText,
		"path":            path,
		"escaped newline": strings.ReplaceAll(strings.TrimSpace(pemText), "\n", `\n`),
	} {
		c, err := Load(env(map[string]string{
			"DROPDAY_APPLE_TEAM_ID": "TEAM123456", "DROPDAY_APPLE_KEY_ID": "ABCDE12345", "DROPDAY_APPLE_PRIVATE_KEY": keyVal,
			"DROPDAY_APPLE_API_URL": "http://127.0.0.1:9/", "DROPDAY_APPLE_STOREFRONT": "DE",
			"DROPDAY_DEEZER_CATALOG": "false", "DROPDAY_DEEZER_API_URL": "http://127.0.0.1:8/",
			"DROPDAY_TIDAL_CLIENT_ID": "tid", "DROPDAY_TIDAL_CLIENT_SECRET": "tsec", "DROPDAY_TIDAL_AUTH_URL": "http://127.0.0.1:7",
			"DROPDAY_TIDAL_API_URL": "http://127.0.0.1:6", "DROPDAY_TIDAL_COUNTRY": "de",
		}), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !c.Apple.Enabled() || !c.Apple.PrivateKey.Equal(key) || c.Apple.TeamID != "TEAM123456" || c.Apple.KeyID != "ABCDE12345" ||
			c.Apple.APIURL != "http://127.0.0.1:9" || c.Apple.Storefront != "de" {
			t.Errorf("%s: apple = %+v", name, c.Apple)
		}
		if c.Deezer.Catalog || c.Deezer.APIURL != "http://127.0.0.1:8" {
			t.Errorf("deezer = %+v", c.Deezer)
		}
		if !c.Tidal.Enabled() || c.Tidal.ClientSecret != "tsec" || c.Tidal.AuthURL != "http://127.0.0.1:7" || c.Tidal.APIURL != "http://127.0.0.1:6" || c.Tidal.Country != "DE" {
			t.Errorf("tidal = %+v", c.Tidal)
		}
	}
}

func TestBadAppleKeyIsAClearError(t *testing.T) {
	good, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	goodPEM := p8(t, good)
	body := strings.Join(strings.Split(strings.TrimSpace(goodPEM), "\n")[1:4], "")
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	cases := map[string]struct{ val, want string }{
		"body without PEM lines": {body, "neither the .p8 file's PEM contents"},
		"missing file":           {"/nonexistent/AuthKey.p8", "readable file"},
		"garbled":                {"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----", "PEM"},
		"P-384":                  {p8(t, p384), "P-256"},
		"RSA":                    {p8(t, rsaKey), "P-256"},
		"truncated":              {goodPEM[:len(goodPEM)/2] + "\n-----END PRIVATE KEY-----\n", "DROPDAY_APPLE_PRIVATE_KEY"},
	}
	for name, tc := range cases {
		_, err := Load(env(map[string]string{"DROPDAY_APPLE_TEAM_ID": "TEAM123456", "DROPDAY_APPLE_KEY_ID": "ABCDE12345", "DROPDAY_APPLE_PRIVATE_KEY": tc.val}), nil)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), "DROPDAY_APPLE_PRIVATE_KEY") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error does not name the variable or say %q:\n%v", name, tc.want, err)
		}
		if len(body) > 20 && strings.Contains(err.Error(), body[10:50]) {
			t.Errorf("%s: the error quotes the key:\n%v", name, err)
		}
	}
}

func TestBadCatalogValues(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, err := Load(env(map[string]string{
		"DROPDAY_APPLE_TEAM_ID":       "short",
		"DROPDAY_APPLE_PRIVATE_KEY":   p8(t, key),
		"DROPDAY_APPLE_API_URL":       "ftp://x",
		"DROPDAY_APPLE_STOREFRONT":    "usa",
		"DROPDAY_DEEZER_CATALOG":      "sometimes",
		"DROPDAY_DEEZER_API_URL":      "api.deezer.com",
		"DROPDAY_TIDAL_CLIENT_ID":     "tid",
		"DROPDAY_TIDAL_AUTH_URL":      "nope",
		"DROPDAY_TIDAL_API_URL":       "http://",
		"DROPDAY_TIDAL_COUNTRY":       "Germany",
		"DROPDAY_TIDAL_CLIENT_SECRET": "",
	}), nil)
	if err == nil {
		t.Fatal("bad catalog config accepted")
	}
	for _, want := range []string{"DROPDAY_APPLE_TEAM_ID", "DROPDAY_APPLE_KEY_ID", "DROPDAY_APPLE_API_URL", "DROPDAY_APPLE_STOREFRONT",
		"DROPDAY_DEEZER_CATALOG", "DROPDAY_DEEZER_API_URL", "DROPDAY_TIDAL_CLIENT_SECRET", "DROPDAY_TIDAL_AUTH_URL",
		"DROPDAY_TIDAL_API_URL", "DROPDAY_TIDAL_COUNTRY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	// A key id and team id without the key.
	_, err = Load(env(map[string]string{"DROPDAY_APPLE_TEAM_ID": "TEAM123456", "DROPDAY_APPLE_KEY_ID": "ABCDE12345"}), nil)
	if err == nil || !strings.Contains(err.Error(), "DROPDAY_APPLE_PRIVATE_KEY: is required") {
		t.Fatalf("missing key: %v", err)
	}
	// A secret without an id.
	_, err = Load(env(map[string]string{"DROPDAY_TIDAL_CLIENT_SECRET": "x"}), nil)
	if err == nil || !strings.Contains(err.Error(), "DROPDAY_TIDAL_CLIENT_ID") {
		t.Fatalf("secret without id: %v", err)
	}
}
