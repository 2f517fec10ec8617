package resendtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook event types the stand-in emits.
const (
	EventSent       = "email.sent"
	EventDelivered  = "email.delivered"
	EventOpened     = "email.opened"
	EventClicked    = "email.clicked"
	EventBounced    = "email.bounced"
	EventComplained = "email.complained"
)

// Event is a webhook to emit about an accepted email.
type Event struct {
	Type    string // Event* constants (any string is sent as given)
	EmailID string // an id the stand-in answered
	// Bounce details for email.bounced (default: Permanent, General).
	Bounce *Bounce
	// Click details for email.clicked (default: https://example.test/).
	Click *Click
}

// Bounce is data.bounce.
type Bounce struct {
	Type    string // "Permanent" (hard) or "Transient" (soft)
	SubType string // "General", "Suppressed", "MailboxFull", ...
	Message string
}

// Click is data.click.
type Click struct {
	Link      string
	IPAddress string
	UserAgent string
}

// Delivery is one webhook POST the stand-in made.
type Delivery struct {
	ID     string // svix-id
	Type   string
	URL    string
	Status int // the receiver's answer; 0 if the POST failed
}

// EmitOption changes how one delivery is signed, for negative tests.
type EmitOption func(*emitConfig)

type emitConfig struct {
	secret    string
	id        string
	timestamp time.Time
	extra     []string
}

// WithSecret signs with another secret (a wrong one, or the new one of a rotation).
func WithSecret(secret string) EmitOption { return func(c *emitConfig) { c.secret = secret } }

// WithTimestamp sets svix-timestamp (a stale one, say) and signs over it.
func WithTimestamp(t time.Time) EmitOption { return func(c *emitConfig) { c.timestamp = t } }

// WithID reuses an svix-id, as Svix does when it retries a delivery.
func WithID(id string) EmitOption { return func(c *emitConfig) { c.id = id } }

// WithExtraSignatures puts these "v1,<base64>" entries before the real
// signature in svix-signature, as during a secret rotation.
func WithExtraSignatures(sigs ...string) EmitOption {
	return func(c *emitConfig) { c.extra = append(c.extra, sigs...) }
}

// Emit posts a signed event about an accepted email to url and returns what
// it sent; err is set if the email is unknown or the POST failed (a non-2xx
// answer is not an error: see Delivery.Status).
func (s *Server) Emit(ctx context.Context, url string, ev Event, opts ...EmitOption) (Delivery, error) {
	s.mu.Lock()
	now := s.now()
	i, ok := s.byID[ev.EmailID]
	var em Email
	if ok {
		em = s.emails[i]
	}
	s.mu.Unlock()
	if !ok {
		return Delivery{}, fmt.Errorf("resendtest: emit %s: no email %q", ev.Type, ev.EmailID)
	}
	cfg := emitConfig{secret: s.opts.WebhookSecret, id: "msg_" + randomToken(), timestamp: now}
	for _, o := range opts {
		o(&cfg)
	}
	body, err := json.Marshal(payload(ev, em, now))
	if err != nil {
		return Delivery{}, fmt.Errorf("resendtest: emit: %w", err)
	}
	sig, err := Sign(cfg.secret, cfg.id, cfg.timestamp, body)
	if err != nil {
		return Delivery{}, err
	}
	sigs := strings.Join(append(append([]string(nil), cfg.extra...), sig), " ")

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Delivery{}, fmt.Errorf("resendtest: emit: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("svix-id", cfg.id)
	req.Header.Set("svix-timestamp", strconv.FormatInt(cfg.timestamp.Unix(), 10))
	req.Header.Set("svix-signature", sigs)
	d := Delivery{ID: cfg.id, Type: ev.Type, URL: url}
	resp, err := s.webhook.Do(req)
	if err == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		d.Status = resp.StatusCode
	}
	s.mu.Lock()
	s.emitted = append(s.emitted, d)
	s.mu.Unlock()
	if err != nil {
		return d, fmt.Errorf("resendtest: emit %s: %w", ev.Type, err)
	}
	return d, nil
}

// Emitted lists every delivery Emit made, in order.
func (s *Server) Emitted() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.emitted...)
}

// Sign is Svix's v1 signature of a delivery: "v1," and the base64 of
// HMAC-SHA256 over "id.timestamp.body", keyed by the secret without its
// whsec_ prefix, base64-decoded.
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("resendtest: sign: secret: %w", err)
	}
	content := id + "." + strconv.FormatInt(timestamp.Unix(), 10) + "." + string(body)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(content))
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// NewWebhookSecret makes a random whsec_ secret (for a wrong-secret test).
func NewWebhookSecret() string {
	var b [24]byte
	rand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

func randomToken() string {
	var b [18]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// payload builds the body Resend sends: {type, created_at, data}. Tags are
// an object of name → value, as the SDK's webhook payload types have them
// (the request's [{name,value}] list is not what comes back).
func payload(ev Event, em Email, now time.Time) any {
	data := map[string]any{
		"email_id":   em.ID,
		"created_at": stamp(em.At),
		"from":       em.From,
		"to":         em.To,
		"subject":    em.Subject,
	}
	if len(em.Tags) > 0 {
		tags := make(map[string]string, len(em.Tags))
		for _, t := range em.Tags {
			tags[t.Name] = t.Value
		}
		data["tags"] = tags
	}
	switch ev.Type {
	case EventBounced:
		b := Bounce{Type: "Permanent", SubType: "General", Message: "The recipient's email provider sent a hard bounce message."}
		if ev.Bounce != nil {
			b = *ev.Bounce
		}
		data["bounce"] = map[string]string{"type": b.Type, "subType": b.SubType, "message": b.Message}
	case EventClicked:
		c := Click{Link: "https://example.test/", IPAddress: "192.0.2.1", UserAgent: "Mozilla/5.0"}
		if ev.Click != nil {
			c = *ev.Click
		}
		data["click"] = map[string]string{"link": c.Link, "ipAddress": c.IPAddress, "userAgent": c.UserAgent, "timestamp": stamp(now)}
	}
	return map[string]any{"type": ev.Type, "created_at": stamp(now), "data": data}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
