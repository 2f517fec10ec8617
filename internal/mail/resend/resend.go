// Package resend is the mail driver for Resend, over the official SDK.
//
// Module: github.com/resend/resend-go/v2 at v2.28.0, the last v2. The stack
// fixes v2, and v2.28.0 has all this driver needs: Emails.SendWithOptions and
// Batch.SendWithOptions, both taking an IdempotencyKey (sent as the
// Idempotency-Key header), an exported Client.BaseURL to point at the
// stand-in, and NewCustomClient for our own http.Client. v3 changed Contacts,
// not Emails, so moving to it later is an import path change.
//
// The SDK reduces every error but 429 to a string ("[ERROR]: message"): the
// HTTP status and Resend's error name are lost, and they are what decides
// between retrying, pausing and giving up. So the driver's transport keeps
// each answer's status, headers and error body in a slot carried by the
// request's context, and the driver maps that to *mail.Error.
package resend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dropday/dropday/internal/mail"
	resendsdk "github.com/resend/resend-go/v2"
)

// Defaults for Config fields left empty.
const (
	DefaultBaseURL = "https://api.resend.com/"
	// DefaultTimeout bounds one request. A batch of 100 normally answers in
	// well under a second; past this the outcome is unknown and the caller
	// retries with the same idempotency key.
	DefaultTimeout = 30 * time.Second
)

// Config configures a Sender.
type Config struct {
	APIKey string
	// BaseURL is Resend's API root, or a stand-in's (default DefaultBaseURL).
	// The SDK's own default comes from RESEND_BASE_URL read at package init;
	// this always overrides it, so the environment cannot redirect mail.
	BaseURL string
	// Timeout bounds each request (default DefaultTimeout).
	Timeout time.Duration
	// Transport carries the requests (default http.DefaultTransport).
	Transport http.RoundTripper
}

// Sender sends mail through Resend. It is safe for concurrent use.
type Sender struct {
	sdk *resendsdk.Client
}

var _ mail.Sender = (*Sender)(nil)

// New checks cfg and builds a Sender.
func New(cfg Config) (*Sender, error) {
	key := strings.TrimSpace(cfg.APIKey)
	if key == "" {
		return nil, errors.New("resend: no API key")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	// The SDK's paths are relative ("emails"), so a base with a path prefix
	// (a stand-in mounted under /_stand-in/resend) needs its trailing slash.
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("resend: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	next := cfg.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc := &http.Client{Timeout: timeout, Transport: capturingTransport{next: next}}
	sdk := resendsdk.NewCustomClient(hc, key)
	sdk.BaseURL = u
	return &Sender{sdk: sdk}, nil
}

// Send sends one message, with msg.IdempotencyKey when it has one.
func (s *Sender) Send(ctx context.Context, msg mail.Message) (string, error) {
	if err := msg.Validate(); err != nil {
		return "", fmt.Errorf("resend: send: %w", err)
	}
	ctx, c := withCapture(ctx)
	resp, err := s.sdk.Emails.SendWithOptions(ctx, toRequest(msg), &resendsdk.SendEmailOptions{IdempotencyKey: msg.IdempotencyKey})
	if err != nil {
		return "", fmt.Errorf("resend: send: %w", classify(c, err))
	}
	if resp.Id == "" {
		return "", fmt.Errorf("resend: send: %w", unexpected("an answer without an id"))
	}
	return resp.Id, nil
}

// SendBatch sends up to mail.MaxBatch messages in one request under one
// idempotency key. Resend validates the batch strictly (its default): one
// invalid message rejects them all, so ids always match msgs one to one.
func (s *Sender) SendBatch(ctx context.Context, idempotencyKey string, msgs []mail.Message) ([]string, error) {
	if err := mail.ValidateBatch(idempotencyKey, msgs); err != nil {
		return nil, fmt.Errorf("resend: send batch: %w", err)
	}
	reqs := make([]*resendsdk.SendEmailRequest, len(msgs))
	for i, m := range msgs {
		reqs[i] = toRequest(m)
	}
	ctx, c := withCapture(ctx)
	resp, err := s.sdk.Batch.SendWithOptions(ctx, reqs, &resendsdk.BatchSendEmailOptions{IdempotencyKey: idempotencyKey})
	if err != nil {
		return nil, fmt.Errorf("resend: send batch: %w", classify(c, err))
	}
	if len(resp.Data) != len(msgs) || len(resp.Errors) > 0 {
		return nil, fmt.Errorf("resend: send batch: %w", unexpected(fmt.Sprintf("%d ids and %d errors for %d messages", len(resp.Data), len(resp.Errors), len(msgs))))
	}
	ids := make([]string, len(resp.Data))
	for i, d := range resp.Data {
		if d.Id == "" {
			return nil, fmt.Errorf("resend: send batch: %w", unexpected(fmt.Sprintf("no id for message %d", i)))
		}
		ids[i] = d.Id
	}
	return ids, nil
}

func toRequest(m mail.Message) *resendsdk.SendEmailRequest {
	r := &resendsdk.SendEmailRequest{
		From:    m.From,
		To:      m.To,
		ReplyTo: m.ReplyTo,
		Subject: m.Subject,
		Html:    m.HTML,
		Text:    m.Text,
		Headers: m.Headers,
	}
	for _, t := range m.Tags {
		r.Tags = append(r.Tags, resendsdk.Tag{Name: t.Name, Value: t.Value})
	}
	return r
}

// unexpected is a 2xx answer we cannot use. Permanent: retrying with the same
// key would only replay it.
func unexpected(msg string) *mail.Error {
	return &mail.Error{Kind: mail.Permanent, Name: "unexpected_response", Message: msg}
}

// ---- error mapping ----

// capture is what the transport saw of one call's answer.
type capture struct {
	status int
	header http.Header
	body   []byte // error answers only
}

type captureKey struct{}

func withCapture(ctx context.Context) (context.Context, *capture) {
	c := &capture{}
	return context.WithValue(ctx, captureKey{}, c), c
}

// maxErrorBody bounds how much of an error answer is kept.
const maxErrorBody = 64 << 10

// capturingTransport records the answer in the request's capture slot. It
// reads an error answer's body and hands the SDK a copy, so the SDK still
// sees it. RoundTrip runs in the caller's goroutine, so the slot needs no lock.
type capturingTransport struct {
	next http.RoundTripper
}

func (t capturingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	c, ok := req.Context().Value(captureKey{}).(*capture)
	if err != nil || !ok {
		return resp, err
	}
	c.status, c.header, c.body = resp.StatusCode, resp.Header.Clone(), nil
	if resp.StatusCode >= 300 {
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		if rerr != nil {
			c.status = 0 // the answer was cut off: treat as no answer
			return nil, rerr
		}
		c.body = body
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}

// classify turns a failed call into a *mail.Error.
func classify(c *capture, err error) *mail.Error {
	if c.status == 0 {
		// No answer (timeout, connection lost, context ended): Resend may or
		// may not have sent, so retry later with the same idempotency key.
		return &mail.Error{Kind: mail.Transient, Message: "no answer from Resend", Err: err}
	}
	if c.status < 300 {
		// Accepted but unreadable; a retry with the key replays the answer.
		return &mail.Error{Kind: mail.Transient, Status: c.status, Message: "unreadable answer", Err: err}
	}
	var body struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(c.body, &body) // a non-JSON error body leaves the name empty
	e := &mail.Error{Status: c.status, Name: body.Name, Message: body.Message}
	if e.Message == "" {
		e.Message = http.StatusText(c.status)
	}
	switch {
	case c.status == http.StatusTooManyRequests:
		e.Kind = mail.RateLimited
		e.RetryAfter = retryAfter(c.header)
	case c.status == http.StatusUnauthorized || c.status == http.StatusForbidden:
		e.Kind = mail.Auth
	case c.status == http.StatusConflict && e.Name == "concurrent_idempotent_requests":
		// The first request with this key is still being processed; once it
		// finishes, a retry gets its answer.
		e.Kind = mail.Transient
	case c.status == http.StatusConflict:
		e.Kind = mail.Conflict
	case c.status == http.StatusRequestTimeout || c.status >= 500:
		e.Kind = mail.Transient
	default:
		e.Kind = mail.Permanent
	}
	return e
}

// retryAfter reads retry-after (seconds), else ratelimit-reset (seconds
// until the window frees); 0 if neither says.
func retryAfter(h http.Header) time.Duration {
	for _, name := range []string{"Retry-After", "Ratelimit-Reset"} {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Get(name))); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return 0
}
