package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Event types dropday acts on. Others (delivery_delayed, failed, contact.*,
// domain.*) parse fine; the handler ignores what it does not know.
const (
	TypeSent       = "email.sent"
	TypeDelivered  = "email.delivered"
	TypeOpened     = "email.opened"
	TypeClicked    = "email.clicked"
	TypeBounced    = "email.bounced"
	TypeComplained = "email.complained"
)

// Bounce types Resend reports.
const (
	BouncePermanent = "Permanent" // hard: suppress the address
	BounceTransient = "Transient" // soft: the mailbox was full, try later
)

// Event is one webhook body.
type Event struct {
	Type      string
	CreatedAt time.Time // zero if Resend's format was not one we read
	Data      Data
}

// Data is an email event's data.
type Data struct {
	EmailID     string
	BroadcastID string
	CreatedAt   time.Time
	From        string
	To          []string
	Subject     string
	// Tags are the tags the email was sent with.
	Tags   map[string]string
	Bounce *Bounce // email.bounced only
	Click  *Click  // email.clicked only
}

// Bounce says why an email bounced.
type Bounce struct {
	Type    string // BouncePermanent or BounceTransient
	SubType string
	Message string
}

// Hard reports whether the address should be suppressed.
func (b *Bounce) Hard() bool { return b != nil && b.Type == BouncePermanent }

// Click is the link a recipient followed.
type Click struct {
	Link      string
	IPAddress string
	UserAgent string
	Timestamp time.Time
}

type wireEvent struct {
	Type      string   `json:"type"`
	CreatedAt string   `json:"created_at"`
	Data      wireData `json:"data"`
}

type wireData struct {
	EmailID     string          `json:"email_id"`
	BroadcastID string          `json:"broadcast_id"`
	CreatedAt   string          `json:"created_at"`
	From        string          `json:"from"`
	To          []string        `json:"to"`
	Subject     string          `json:"subject"`
	Tags        json.RawMessage `json:"tags"`
	Bounce      *struct {
		Type    string `json:"type"`
		SubType string `json:"subType"`
		Message string `json:"message"`
	} `json:"bounce"`
	Click *struct {
		Link      string `json:"link"`
		IPAddress string `json:"ipAddress"`
		UserAgent string `json:"userAgent"`
		Timestamp string `json:"timestamp"`
	} `json:"click"`
}

// Parse reads a verified body. It is lenient where Resend's documentation
// and SDKs disagree: tags may be an object or a [{name,value}] list, and a
// time in an unexpected format is left zero rather than failing the event
// (a 4xx would only make Svix retry the same body for days).
func Parse(body []byte) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(body, &w); err != nil {
		return Event{}, fmt.Errorf("webhook: parse: %w", err)
	}
	if w.Type == "" {
		return Event{}, fmt.Errorf("webhook: parse: no type")
	}
	tags, err := parseTags(w.Data.Tags)
	if err != nil {
		return Event{}, fmt.Errorf("webhook: parse tags: %w", err)
	}
	ev := Event{
		Type:      w.Type,
		CreatedAt: parseTime(w.CreatedAt),
		Data: Data{
			EmailID:     w.Data.EmailID,
			BroadcastID: w.Data.BroadcastID,
			CreatedAt:   parseTime(w.Data.CreatedAt),
			From:        w.Data.From,
			To:          w.Data.To,
			Subject:     w.Data.Subject,
			Tags:        tags,
		},
	}
	if b := w.Data.Bounce; b != nil {
		ev.Data.Bounce = &Bounce{Type: b.Type, SubType: b.SubType, Message: b.Message}
	}
	if c := w.Data.Click; c != nil {
		ev.Data.Click = &Click{Link: c.Link, IPAddress: c.IPAddress, UserAgent: c.UserAgent, Timestamp: parseTime(c.Timestamp)}
	}
	return ev, nil
}

func parseTags(raw json.RawMessage) (map[string]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] == '[' {
		var list []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		out := make(map[string]string, len(list))
		for _, t := range list {
			out[t.Name] = t.Value
		}
		return out, nil
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func parseTime(s string) time.Time {
	// ISO 8601 as in the webhook docs; PostgreSQL's text form as in some of
	// Resend's API answers.
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999-07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
