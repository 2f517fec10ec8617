// Package mail holds what every mail driver shares: the message, the Sender
// interface and a typed error whose Kind tells the sending engine whether to
// retry, wait, pause or give up. Drivers live in subpackages (resend, and the
// outbox); nothing here talks to the network.
package mail

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Limits shared by every driver. They are Resend's, and the outbox keeps to
// them too so a broadcast that works in a fresh install works on Resend.
const (
	// MaxBatch is the most messages one SendBatch may carry.
	MaxBatch = 100
	// MaxRecipients is the most addresses in one message's To.
	MaxRecipients = 50
	// MaxIdempotencyKey is the longest idempotency key, in bytes.
	MaxIdempotencyKey = 256
)

// Tag is a name/value pair the provider echoes back in webhooks, so an event
// can be traced to a broadcast or recipient without a lookup by address.
type Tag struct {
	Name  string
	Value string
}

// TagWorkspace names the tag that says on whose behalf an email goes out
// (the workspace id): the outbox files the message under that workspace, and
// webhooks can be traced back to it. Account email (password resets) has none.
const TagWorkspace = "workspace"

// WorkspaceTag is the TagWorkspace tag for a workspace.
func WorkspaceTag(id int64) Tag { return Tag{Name: TagWorkspace, Value: strconv.FormatInt(id, 10)} }

// WorkspaceOf returns the workspace a message carries in its TagWorkspace
// tag, or nil when it has none (or the value is not an id).
func (m Message) WorkspaceOf() *int64 {
	for _, t := range m.Tags {
		if t.Name != TagWorkspace {
			continue
		}
		if id, err := strconv.ParseInt(t.Value, 10, 64); err == nil && id > 0 {
			return &id
		}
	}
	return nil
}

// Message is one email.
type Message struct {
	From    string // "Name <addr>" or "addr"
	To      []string
	ReplyTo string
	Subject string
	HTML    string
	Text    string
	// Headers are extra header fields (List-Unsubscribe and the like).
	Headers map[string]string
	Tags    []Tag
	// IdempotencyKey makes Send safe to retry: a second Send with the same
	// key and message within 24 h sends nothing and answers the first id.
	// SendBatch takes one key for the whole batch, so there it must be empty.
	IdempotencyKey string
}

// Sender is what every mail driver implements.
type Sender interface {
	// Send sends one message and returns the provider's id for it.
	Send(ctx context.Context, msg Message) (id string, err error)
	// SendBatch sends up to MaxBatch messages in one request; ids are in the
	// order of msgs. A non-empty idempotencyKey makes a retry of the same
	// batch send nothing twice.
	SendBatch(ctx context.Context, idempotencyKey string, msgs []Message) (ids []string, err error)
}

// Validate checks what can be checked without asking the provider: required
// fields, limits, and header fields that could smuggle in more headers.
// Address syntax is left to the provider, whose rules are the ones that count.
func (m Message) Validate() error {
	switch {
	case strings.TrimSpace(m.From) == "":
		return invalid("missing from")
	case len(m.To) == 0:
		return invalid("missing to")
	case len(m.To) > MaxRecipients:
		return invalid(fmt.Sprintf("%d recipients, the limit is %d", len(m.To), MaxRecipients))
	case strings.TrimSpace(m.Subject) == "":
		return invalid("missing subject")
	case m.HTML == "" && m.Text == "":
		return invalid("missing html and text")
	case len(m.IdempotencyKey) > MaxIdempotencyKey:
		return invalid(fmt.Sprintf("idempotency key longer than %d bytes", MaxIdempotencyKey))
	}
	for _, to := range m.To {
		if strings.TrimSpace(to) == "" {
			return invalid("empty recipient")
		}
	}
	for k, v := range m.Headers {
		if k == "" || strings.ContainsAny(k, "\r\n:") || strings.ContainsAny(v, "\r\n") {
			return invalid(fmt.Sprintf("header %q: name or value with a line break or colon", k))
		}
	}
	for _, t := range m.Tags {
		if t.Name == "" {
			return invalid("tag without a name")
		}
	}
	return nil
}

// ValidateBatch checks a batch before it is sent: 1..MaxBatch messages, each
// valid and without its own idempotency key (the batch's key covers them).
func ValidateBatch(idempotencyKey string, msgs []Message) error {
	switch {
	case len(msgs) == 0:
		return invalid("empty batch")
	case len(msgs) > MaxBatch:
		return invalid(fmt.Sprintf("%d messages in a batch, the limit is %d", len(msgs), MaxBatch))
	case len(idempotencyKey) > MaxIdempotencyKey:
		return invalid(fmt.Sprintf("idempotency key longer than %d bytes", MaxIdempotencyKey))
	}
	for i, m := range msgs {
		if m.IdempotencyKey != "" {
			return invalid(fmt.Sprintf("message %d: its own idempotency key in a batch", i))
		}
		if err := m.Validate(); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	return nil
}

func invalid(msg string) *Error {
	return &Error{Kind: Permanent, Name: "invalid_message", Message: msg}
}
