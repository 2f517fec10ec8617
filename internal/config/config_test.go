package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.BaseURL.String() != "http://127.0.0.1:8080" || c.DataDir != "./data" ||
		c.DatabaseURL != "sqlite://./data/dropday.db" || len(c.TrustedProxies) != 0 || c.Secure() {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	c, err := Load(env(map[string]string{"DROPDAY_ADDR": "0.0.0.0:9000"}), []string{"-addr", "127.0.0.1:7000"})
	if err != nil || c.Addr != "127.0.0.1:7000" {
		t.Fatalf("addr = %v, %v", c, err)
	}
}

func TestEveryBadValueIsReported(t *testing.T) {
	_, err := Load(env(map[string]string{
		"DROPDAY_ADDR":            "8080",
		"DROPDAY_BASE_URL":        "example.com",
		"DROPDAY_DATABASE_URL":    "mysql://x",
		"DROPDAY_TRUSTED_PROXIES": "10.0.0.0/8, not-a-cidr",
		"DROPDAY_LOG_FORMAT":      "xml",
		"DROPDAY_SIGNUP_RATE":     "-1",
		"DROPDAY_SESSION_TTL":     "forever",
	}), nil)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"DROPDAY_ADDR", "DROPDAY_BASE_URL", "DROPDAY_DATABASE_URL", "not-a-cidr", "DROPDAY_LOG_FORMAT", "DROPDAY_SIGNUP_RATE", "DROPDAY_SESSION_TTL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestTrustedProxiesAndURLs(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DROPDAY_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7, ::1",
		"DROPDAY_BASE_URL":        "https://music.example.com/",
		"DROPDAY_DATABASE_URL":    "postgres://u:p@db:5432/dropday",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.TrustedProxies) != 3 || c.TrustedProxies[1].String() != "192.168.1.7/32" {
		t.Fatalf("proxies = %v", c.TrustedProxies)
	}
	if !c.Secure() || c.URL("/x") != "https://music.example.com/x" || c.Origin() != "https://music.example.com" {
		t.Fatalf("urls: %s %s", c.URL("/x"), c.Origin())
	}
	if d, _, _ := ParseDatabaseURL(c.DatabaseURL); d != Postgres {
		t.Fatalf("dialect = %s", d)
	}
}

func TestMail(t *testing.T) {
	c, err := Load(env(nil), nil)
	if err != nil || c.Mail.Driver != "outbox" || c.Mail.ResendRate != 2 || c.Mail.ResendBaseURL != "https://api.resend.com" {
		t.Fatalf("mail defaults = %+v, %v", c.Mail, err)
	}
	_, err = Load(env(map[string]string{
		"DROPDAY_MAIL_DRIVER":           "resend",
		"DROPDAY_MAIL_FROM":             "not an address",
		"DROPDAY_RESEND_WEBHOOK_SECRET": "s3cret",
		"DROPDAY_RESEND_RATE":           "0",
	}), nil)
	for _, want := range []string{"DROPDAY_RESEND_API_KEY: is required", "DROPDAY_MAIL_FROM", "DROPDAY_RESEND_WEBHOOK_SECRET", "DROPDAY_RESEND_RATE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	if _, err := Load(env(map[string]string{"DROPDAY_MAIL_DRIVER": "smtp"}), nil); err == nil || !strings.Contains(err.Error(), "must be outbox or resend") {
		t.Errorf("unknown driver: %v", err)
	}
	c, err = Load(env(map[string]string{"DROPDAY_MAIL_DRIVER": "resend", "DROPDAY_RESEND_API_KEY": "re_123",
		"DROPDAY_MAIL_FROM": "Mara Lune <news@example.com>", "DROPDAY_RESEND_RATE": "10"}), nil)
	if err != nil || c.Mail.ResendRate != 10 || c.Mail.From != "Mara Lune <news@example.com>" {
		t.Fatalf("resend config = %+v, %v", c.Mail, err)
	}
}
