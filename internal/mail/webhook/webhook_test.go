package webhook_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/mail/resendtest"
	"github.com/dropday/dropday/internal/mail/webhook"
)

const secret = resendtest.DefaultWebhookSecret

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// signed builds headers the way Svix does, with resendtest's signer (a
// separate implementation from the one under test).
func signed(t *testing.T, id string, ts time.Time, body string, sigs ...string) http.Header {
	t.Helper()
	if sigs == nil {
		sig, err := resendtest.Sign(secret, id, ts, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		sigs = []string{sig}
	}
	h := http.Header{}
	h.Set("svix-id", id)
	h.Set("svix-timestamp", strconv.FormatInt(ts.Unix(), 10))
	sig := ""
	for i, s := range sigs {
		if i > 0 {
			sig += " "
		}
		sig += s
	}
	h.Set("svix-signature", sig)
	return h
}

func TestVerify(t *testing.T) {
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"type":"email.delivered","created_at":"2026-11-22T12:00:00.000Z","data":{"email_id":"e1"}}`
	good, _ := resendtest.Sign(secret, "msg_1", now, []byte(body))
	other, _ := resendtest.Sign(resendtest.NewWebhookSecret(), "msg_1", now, []byte(body))
	cases := []struct {
		name   string
		header http.Header
		body   string
		want   error
	}{
		{"good", signed(t, "msg_1", now, body), body, nil},
		{"4m59s old", signed(t, "msg_1", now.Add(-webhook.Tolerance+time.Second), body), body, nil},
		{"4m59s ahead", signed(t, "msg_1", now.Add(webhook.Tolerance-time.Second), body), body, nil},
		{"several signatures, the good one last", signed(t, "msg_1", now, body, other, "v1a,c29tZXRoaW5n", "v1,!!notbase64", good), body, nil},
		{"several signatures, the good one first", signed(t, "msg_1", now, body, good, other), body, nil},
		{"wrong secret", signed(t, "msg_1", now, body, other), body, webhook.ErrSignature},
		{"good signature under another scheme", signed(t, "msg_1", now, body, "v2,"+good[3:]), body, webhook.ErrSignature},
		{"body changed", signed(t, "msg_1", now, body), body + " ", webhook.ErrSignature},
		{"id changed", func() http.Header { h := signed(t, "msg_1", now, body); h.Set("svix-id", "msg_2"); return h }(), body, webhook.ErrSignature},
		{"5m01s old", signed(t, "msg_1", now.Add(-webhook.Tolerance-time.Second), body), body, webhook.ErrTimestamp},
		{"5m01s ahead", signed(t, "msg_1", now.Add(webhook.Tolerance+time.Second), body), body, webhook.ErrTimestamp},
		{"timestamp not a number", func() http.Header { h := signed(t, "msg_1", now, body); h.Set("svix-timestamp", "soon"); return h }(), body, webhook.ErrTimestamp},
		{"no signature", func() http.Header { h := signed(t, "msg_1", now, body); h.Del("svix-signature"); return h }(), body, webhook.ErrMissingHeaders},
		{"no id", func() http.Header { h := signed(t, "msg_1", now, body); h.Del("svix-id"); return h }(), body, webhook.ErrMissingHeaders},
		{"no headers", http.Header{}, body, webhook.ErrMissingHeaders},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := v.Verify(c.header, []byte(c.body), now)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if err == nil && id != "msg_1" {
				t.Fatalf("id %q", id)
			}
			if err != nil && id != "" {
				t.Fatalf("an id with an error: %q", id)
			}
		})
	}
}

func TestNewVerifier(t *testing.T) {
	if _, err := webhook.NewVerifier(secret[len("whsec_"):]); err != nil {
		t.Fatalf("bare base64 secret: %v", err)
	}
	for _, bad := range []string{"", "whsec_", "whsec_not base64!"} {
		if _, err := webhook.NewVerifier(bad); err == nil {
			t.Errorf("NewVerifier(%q) accepted", bad)
		}
	}
}

func TestParse(t *testing.T) {
	bounced := `{"type":"email.bounced","created_at":"2026-11-22T12:00:01.500Z","data":{
		"email_id":"e1","broadcast_id":"b1","created_at":"2026-11-22 11:59:00.123+00","from":"A <a@example.test>",
		"to":["fan@example.test"],"subject":"Out now","tags":{"recipient":"r9"},
		"bounce":{"type":"Permanent","subType":"Suppressed","message":"gone"}}}`
	ev, err := webhook.Parse([]byte(bounced))
	if err != nil {
		t.Fatal(err)
	}
	d := ev.Data
	if ev.Type != webhook.TypeBounced || !ev.CreatedAt.Equal(time.Date(2026, 11, 22, 12, 0, 1, 5e8, time.UTC)) ||
		d.EmailID != "e1" || d.BroadcastID != "b1" || d.To[0] != "fan@example.test" || d.Tags["recipient"] != "r9" ||
		!d.CreatedAt.Equal(time.Date(2026, 11, 22, 11, 59, 0, 123e6, time.UTC)) || !d.Bounce.Hard() || d.Bounce.SubType != "Suppressed" {
		t.Fatalf("parsed %+v %+v", ev, d.Bounce)
	}

	// Tags as the request's list, and a time in a form we do not know.
	clicked := `{"type":"email.clicked","created_at":"yesterday","data":{"email_id":"e2","tags":[{"name":"recipient","value":"r1"}],
		"click":{"link":"https://dropday.test/x","ipAddress":"192.0.2.9","userAgent":"UA","timestamp":"2026-11-22T12:00:00Z"}}}`
	ev, err = webhook.Parse([]byte(clicked))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Data.Tags["recipient"] != "r1" || !ev.CreatedAt.IsZero() || ev.Data.Click.Link != "https://dropday.test/x" ||
		ev.Data.Click.IPAddress != "192.0.2.9" || !ev.Data.Click.Timestamp.Equal(now) || ev.Data.Bounce.Hard() {
		t.Fatalf("parsed %+v %+v", ev, ev.Data.Click)
	}

	for _, bad := range []string{`not json`, `{"data":{}}`, `{"type":"email.sent","data":{"tags":"x"}}`} {
		if _, err := webhook.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}
