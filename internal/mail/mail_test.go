package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func valid() Message {
	return Message{From: "Artist <news@example.test>", To: []string{"fan@example.test"}, Subject: "Out now", Text: "hi"}
}

func TestValidate(t *testing.T) {
	many := make([]string, MaxRecipients+1)
	for i := range many {
		many[i] = fmt.Sprintf("fan%d@example.test", i)
	}
	cases := []struct {
		name   string
		change func(*Message)
		ok     bool
	}{
		{"valid text", func(*Message) {}, true},
		{"valid html only", func(m *Message) { m.Text, m.HTML = "", "<p>hi</p>" }, true},
		{"50 recipients", func(m *Message) { m.To = many[:MaxRecipients] }, true},
		{"256-byte key", func(m *Message) { m.IdempotencyKey = strings.Repeat("k", MaxIdempotencyKey) }, true},
		{"no from", func(m *Message) { m.From = " " }, false},
		{"no to", func(m *Message) { m.To = nil }, false},
		{"empty to", func(m *Message) { m.To = []string{""} }, false},
		{"51 recipients", func(m *Message) { m.To = many }, false},
		{"no subject", func(m *Message) { m.Subject = "" }, false},
		{"no body", func(m *Message) { m.Text = "" }, false},
		{"257-byte key", func(m *Message) { m.IdempotencyKey = strings.Repeat("k", MaxIdempotencyKey+1) }, false},
		{"header injection in value", func(m *Message) { m.Headers = map[string]string{"X-A": "a\r\nBcc: x@example.test"} }, false},
		{"colon in header name", func(m *Message) { m.Headers = map[string]string{"X-A: b": "c"} }, false},
		{"unnamed tag", func(m *Message) { m.Tags = []Tag{{Value: "v"}} }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := valid()
			c.change(&m)
			err := m.Validate()
			if c.ok != (err == nil) {
				t.Fatalf("ok=%v, err=%v", c.ok, err)
			}
			if err != nil && KindOf(err) != Permanent {
				t.Fatalf("kind %v, want permanent", KindOf(err))
			}
		})
	}
}

func TestValidateBatch(t *testing.T) {
	batch := func(n int) []Message {
		out := make([]Message, n)
		for i := range out {
			out[i] = valid()
		}
		return out
	}
	if err := ValidateBatch("k", batch(MaxBatch)); err != nil {
		t.Fatalf("100 valid messages: %v", err)
	}
	bad := batch(3)
	bad[2].Subject = ""
	withKey := batch(2)
	withKey[1].IdempotencyKey = "own"
	for name, err := range map[string]error{
		"empty":          ValidateBatch("k", nil),
		"101":            ValidateBatch("k", batch(MaxBatch+1)),
		"long key":       ValidateBatch(strings.Repeat("k", MaxIdempotencyKey+1), batch(1)),
		"invalid member": ValidateBatch("k", bad),
		"member key":     ValidateBatch("k", withKey),
	} {
		if KindOf(err) != Permanent {
			t.Errorf("%s: %v, want a permanent *Error", name, err)
		}
	}
	if err := ValidateBatch("k", bad); !strings.Contains(err.Error(), "message 2") {
		t.Errorf("error does not say which message: %v", err)
	}
}

func TestErrorChain(t *testing.T) {
	base := &Error{Kind: RateLimited, Status: 429, Name: "rate_limit_exceeded", Message: "slow down", RetryAfter: time.Second, Err: context.DeadlineExceeded}
	wrapped := fmt.Errorf("broadcast: batch 3: %w", base)
	if KindOf(wrapped) != RateLimited {
		t.Fatalf("KindOf through a wrap: %v", KindOf(wrapped))
	}
	if !errors.Is(wrapped, context.DeadlineExceeded) {
		t.Fatal("Unwrap does not reach the cause")
	}
	want := "mail: rate limited 429 rate_limit_exceeded: slow down (retry after 1s): context deadline exceeded"
	if got := base.Error(); got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if KindOf(errors.New("plain")) != Unknown || KindOf(nil) != Unknown {
		t.Fatal("a plain error has a Kind")
	}
}
