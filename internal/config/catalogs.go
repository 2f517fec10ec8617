package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
)

var (
	appleIDRE   = regexp.MustCompile(`^[A-Z0-9]{10}$`)
	countryRE   = regexp.MustCompile(`^[A-Z]{2}$`)
	storefrontR = regexp.MustCompile(`^[a-z]{2}$`)
)

// loadCatalogs reads the Apple Music, Deezer and TIDAL look-up settings.
func loadCatalogs(c *Config, getenv func(string) string, def func(string) string, bad func(name, format string, a ...any)) {
	httpURL := func(name string) string {
		v := strings.TrimRight(def(name), "/")
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name, "%q is not an http(s) URL", v)
		}
		return v
	}

	c.Apple = Apple{
		TeamID:     strings.TrimSpace(getenv("DROPDAY_APPLE_TEAM_ID")),
		KeyID:      strings.TrimSpace(getenv("DROPDAY_APPLE_KEY_ID")),
		APIURL:     httpURL("DROPDAY_APPLE_API_URL"),
		Storefront: strings.ToLower(def("DROPDAY_APPLE_STOREFRONT")),
		// A URL, not a local path: the fan's browser loads it (its origin joins the CSP).
		MusicKitURL: httpURL("DROPDAY_APPLE_MUSICKIT_URL"),
	}
	if r, err := strconv.ParseFloat(def("DROPDAY_APPLE_RATE"), 64); err != nil || r <= 0 {
		bad("DROPDAY_APPLE_RATE", "%q must be a number of calls per second above 0", def("DROPDAY_APPLE_RATE"))
	} else {
		c.Apple.Rate = r
	}
	keyVal := strings.TrimSpace(getenv("DROPDAY_APPLE_PRIVATE_KEY"))
	if c.Apple.TeamID != "" || c.Apple.KeyID != "" || keyVal != "" {
		// All three or none: a half-configured Apple Music would fail at
		// every look-up instead of once here.
		if !appleIDRE.MatchString(c.Apple.TeamID) {
			bad("DROPDAY_APPLE_TEAM_ID", "must be your 10-character team id (letters and digits), shown in Apple Developer › Membership")
		}
		if !appleIDRE.MatchString(c.Apple.KeyID) {
			bad("DROPDAY_APPLE_KEY_ID", "must be the 10-character id of your MusicKit key (letters and digits)")
		}
		if keyVal == "" {
			bad("DROPDAY_APPLE_PRIVATE_KEY", "is required with DROPDAY_APPLE_TEAM_ID and DROPDAY_APPLE_KEY_ID: the .p8 file's contents or its path")
		} else if k, err := ParseAppleKey(keyVal); err != nil {
			bad("DROPDAY_APPLE_PRIVATE_KEY", "%v", err)
		} else {
			c.Apple.PrivateKey = k
		}
	}
	if !storefrontR.MatchString(c.Apple.Storefront) {
		bad("DROPDAY_APPLE_STOREFRONT", "%q must be a two-letter storefront like us or de", c.Apple.Storefront)
	}

	c.Deezer = Deezer{APIURL: httpURL("DROPDAY_DEEZER_API_URL")}
	if on, err := strconv.ParseBool(def("DROPDAY_DEEZER_CATALOG")); err != nil {
		bad("DROPDAY_DEEZER_CATALOG", "%q must be true or false", def("DROPDAY_DEEZER_CATALOG"))
	} else {
		c.Deezer.Catalog = on
	}
	c.Deezer.AppID = strings.TrimSpace(getenv("DROPDAY_DEEZER_APP_ID"))
	c.Deezer.AppSecret = strings.TrimSpace(getenv("DROPDAY_DEEZER_APP_SECRET"))
	c.Deezer.ConnectURL = httpURL("DROPDAY_DEEZER_CONNECT_URL")
	if c.Deezer.AppID != "" && c.Deezer.AppSecret == "" {
		bad("DROPDAY_DEEZER_APP_SECRET", "is required when DROPDAY_DEEZER_APP_ID is set")
	}
	if c.Deezer.AppID == "" && c.Deezer.AppSecret != "" {
		bad("DROPDAY_DEEZER_APP_ID", "is required when DROPDAY_DEEZER_APP_SECRET is set")
	}
	if r, err := strconv.ParseFloat(def("DROPDAY_DEEZER_RATE"), 64); err != nil || r <= 0 {
		bad("DROPDAY_DEEZER_RATE", "%q must be a number of calls per second above 0", def("DROPDAY_DEEZER_RATE"))
	} else {
		c.Deezer.Rate = r
	}

	c.Tidal = Tidal{
		ClientID:     strings.TrimSpace(getenv("DROPDAY_TIDAL_CLIENT_ID")),
		ClientSecret: strings.TrimSpace(getenv("DROPDAY_TIDAL_CLIENT_SECRET")),
		AuthURL:      httpURL("DROPDAY_TIDAL_AUTH_URL"),
		APIURL:       httpURL("DROPDAY_TIDAL_API_URL"),
		LoginURL:     httpURL("DROPDAY_TIDAL_LOGIN_URL"),
		Country:      strings.ToUpper(def("DROPDAY_TIDAL_COUNTRY")),
	}
	if r, err := strconv.ParseFloat(def("DROPDAY_TIDAL_RATE"), 64); err != nil || r <= 0 {
		bad("DROPDAY_TIDAL_RATE", "%q must be a number of calls per second above 0", def("DROPDAY_TIDAL_RATE"))
	} else {
		c.Tidal.Rate = r
	}
	if c.Tidal.ClientID != "" && c.Tidal.ClientSecret == "" {
		bad("DROPDAY_TIDAL_CLIENT_SECRET", "is required when DROPDAY_TIDAL_CLIENT_ID is set")
	}
	if c.Tidal.ClientID == "" && c.Tidal.ClientSecret != "" {
		bad("DROPDAY_TIDAL_CLIENT_ID", "is required when DROPDAY_TIDAL_CLIENT_SECRET is set")
	}
	if !countryRE.MatchString(c.Tidal.Country) {
		bad("DROPDAY_TIDAL_COUNTRY", "%q must be a two-letter country code like US or DE", c.Tidal.Country)
	}
}

// ParseAppleKey reads a MusicKit key: the .p8 file's PEM text (literal "\n"
// sequences, as some .env files write it, count as line breaks) or the path
// to the file. The errors never quote the key.
func ParseAppleKey(v string) (*ecdsa.PrivateKey, error) {
	text := v
	if !strings.Contains(v, "-----BEGIN") {
		b, err := os.ReadFile(v)
		if err != nil {
			// The value is not quoted: it may be a key pasted without its PEM lines.
			return nil, errors.New("is neither the .p8 file's PEM contents (no -----BEGIN PRIVATE KEY----- line) nor the path of a readable file")
		}
		text = string(b)
	}
	if !strings.Contains(text, "\n") {
		text = strings.ReplaceAll(text, `\n`, "\n")
	}
	block, _ := pem.Decode([]byte(strings.TrimSpace(text)))
	if block == nil {
		return nil, errors.New("holds no PEM block; paste the whole .p8 file including its -----BEGIN PRIVATE KEY----- and -----END PRIVATE KEY----- lines")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if k, err2 := x509.ParseECPrivateKey(block.Bytes); err2 == nil {
			key = k
		} else {
			return nil, errors.New("is not a PKCS#8 private key as Apple's .p8 files are (the PEM block does not parse)")
		}
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("is not a P-256 (ES256) key; download a MusicKit key from Apple Developer › Keys")
	}
	return ec, nil
}
