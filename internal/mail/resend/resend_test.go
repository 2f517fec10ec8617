package resend_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/mail/resend"
	"github.com/dropday/dropday/internal/mail/resendtest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// setup starts a stand-in on a frozen clock (rate limit off unless opts
// sets one) and a driver pointed at it.
func setup(t *testing.T, opts resendtest.Options) (*resend.Sender, *resendtest.Server, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	opts.Now = c.Now
	if opts.Rate == 0 {
		opts.Rate = -1
	}
	fake := resendtest.New(opts)
	t.Cleanup(fake.Close)
	s, err := resend.New(resend.Config{APIKey: fake.APIKey(), BaseURL: fake.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s, fake, c
}

func msg(to, subject string) mail.Message {
	return mail.Message{
		From: "Artist <news@example.test>", To: []string{to}, Subject: subject,
		HTML: "<p>Out now</p>", Text: "Out now",
		Headers: map[string]string{
			"List-Unsubscribe":      "<https://dropday.test/unsubscribe/tok>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
		Tags: []mail.Tag{{Name: "broadcast", Value: "b1"}},
	}
}

func batch(n int, subject string) []mail.Message {
	out := make([]mail.Message, n)
	for i := range out {
		out[i] = msg(fmt.Sprintf("fan%d@example.test", i), subject)
	}
	return out
}

// wantErr checks err's *mail.Error.
func wantErr(t *testing.T, err error, kind mail.Kind, status int, name string) *mail.Error {
	t.Helper()
	var e *mail.Error
	if !errors.As(err, &e) {
		t.Fatalf("err %v (%T), want a *mail.Error", err, err)
	}
	if e.Kind != kind || e.Status != status || e.Name != name {
		t.Fatalf("got kind %v status %d name %q (%v), want %v %d %q", e.Kind, e.Status, e.Name, err, kind, status, name)
	}
	return e
}

func TestSend(t *testing.T) {
	s, fake, _ := setup(t, resendtest.Options{})
	m := msg("fan@example.test", "Out now")
	m.ReplyTo = "artist@example.test"
	m.IdempotencyKey = "reset/42"
	id, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	em, ok := fake.Email(id)
	if !ok {
		t.Fatalf("stand-in has no email %s", id)
	}
	if em.From != m.From || em.To[0] != "fan@example.test" || em.Subject != "Out now" || em.HTML != m.HTML ||
		em.Text != m.Text || em.ReplyTo[0] != "artist@example.test" || em.IdempotencyKey != "reset/42" ||
		em.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" || em.Tags[0] != (resendtest.Tag{Name: "broadcast", Value: "b1"}) {
		t.Fatalf("stand-in saw %+v", em)
	}
	// Retrying the same Send replays: same id, nothing sent twice.
	again, err := s.Send(context.Background(), m)
	if err != nil || again != id || fake.Sent() != 1 {
		t.Fatalf("retry: %s %v, sent %d", again, err, fake.Sent())
	}
	// Without a key there is no Idempotency-Key header and each Send sends.
	m.IdempotencyKey = ""
	if _, err := s.Send(context.Background(), m); err != nil || fake.Sent() != 2 || fake.Emails()[1].IdempotencyKey != "" {
		t.Fatalf("keyless send: %v, %+v", err, fake.Emails())
	}
}

func TestSendBatch(t *testing.T) {
	s, fake, _ := setup(t, resendtest.Options{})
	msgs := batch(mail.MaxBatch, "Out now")
	ids, err := s.SendBatch(context.Background(), "broadcast-1/batch-0", msgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != mail.MaxBatch || fake.Sent() != mail.MaxBatch || fake.Requests(resendtest.EndpointBatch, 200) != 1 {
		t.Fatalf("%d ids, %d sent", len(ids), fake.Sent())
	}
	for i, id := range ids {
		em, _ := fake.Email(id)
		if em.To[0] != msgs[i].To[0] || em.IdempotencyKey != "broadcast-1/batch-0" || !em.Batch {
			t.Fatalf("id %d belongs to %+v", i, em)
		}
	}
}

// The crash the engine guards against: the batch was sent, the answer never
// recorded. Sending the same batch with the same key sends nothing more.
func TestBatchReplay(t *testing.T) {
	s, fake, _ := setup(t, resendtest.Options{})
	ctx := context.Background()
	first, err := s.SendBatch(ctx, "b/7", batch(3, "Out now"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.SendBatch(ctx, "b/7", batch(3, "Out now"))
	if err != nil || strings.Join(again, ",") != strings.Join(first, ",") {
		t.Fatalf("replay: %v %v, want %v", again, err, first)
	}
	if fake.Sent() != 3 || fake.Replays() != 1 || fake.Duplicates() != 0 {
		t.Fatalf("sent %d, replays %d, duplicates %d", fake.Sent(), fake.Replays(), fake.Duplicates())
	}
	_, err = s.SendBatch(ctx, "b/7", batch(3, "Another subject"))
	wantErr(t, err, mail.Conflict, 409, "invalid_idempotent_request")
	if fake.Sent() != 3 {
		t.Fatal("a conflicting batch sent")
	}
}

func TestConcurrentSameKey(t *testing.T) {
	s, fake, _ := setup(t, resendtest.Options{})
	release := fake.Hold()
	defer release()
	type result struct {
		ids []string
		err error
	}
	done := make(chan result, 1)
	go func() {
		ids, err := s.SendBatch(context.Background(), "b/1", batch(2, "s"))
		done <- result{ids, err}
	}()
	waitFor(t, "the first batch to be in flight", func() bool { return fake.Held() == 1 })
	_, err := s.SendBatch(context.Background(), "b/1", batch(2, "s"))
	wantErr(t, err, mail.Transient, 409, "concurrent_idempotent_requests")
	release()
	r := <-done
	if r.err != nil || fake.Sent() != 2 {
		t.Fatalf("first batch: %v, sent %d", r.err, fake.Sent())
	}
	ids, err := s.SendBatch(context.Background(), "b/1", batch(2, "s"))
	if err != nil || strings.Join(ids, ",") != strings.Join(r.ids, ",") || fake.Sent() != 2 {
		t.Fatalf("retry after the 409: %v %v", ids, err)
	}
}

// The client gives up while Resend is still sending; the error is
// Transient, and the retry with the key gets the ids without a second send.
func TestTimeoutThenRetry(t *testing.T) {
	s, fake, _ := setup(t, resendtest.Options{})
	release := fake.Hold()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.SendBatch(ctx, "b/2", batch(2, "s"))
	e := wantErr(t, err, mail.Transient, 0, "")
	if !errors.Is(e, context.DeadlineExceeded) {
		t.Fatalf("the context's error is not in the chain: %v", err)
	}
	release()
	waitFor(t, "the held batch to be sent", func() bool { return fake.Held() == 0 && fake.Sent() == 2 })
	if _, err := s.SendBatch(context.Background(), "b/2", batch(2, "s")); err != nil {
		t.Fatal(err)
	}
	if fake.Sent() != 2 || fake.Received("fan0@example.test") != 1 || fake.Replays() != 1 {
		t.Fatalf("sent %d, replays %d", fake.Sent(), fake.Replays())
	}
}

func TestRateLimited(t *testing.T) {
	s, fake, c := setup(t, resendtest.Options{Rate: 1})
	ctx := context.Background()
	if _, err := s.Send(ctx, msg("a@example.test", "1")); err != nil {
		t.Fatal(err)
	}
	_, err := s.SendBatch(ctx, "b/3", batch(2, "2"))
	e := wantErr(t, err, mail.RateLimited, 429, "rate_limit_exceeded")
	if e.RetryAfter != time.Second {
		t.Fatalf("RetryAfter %s", e.RetryAfter)
	}
	// An injected 429 with a longer retry-after is honoured as told.
	fake.FailNext(1, resendtest.Fault{Status: 429, RetryAfter: 30})
	_, err = s.Send(ctx, msg("a@example.test", "3"))
	if e := wantErr(t, err, mail.RateLimited, 429, "rate_limit_exceeded"); e.RetryAfter != 30*time.Second {
		t.Fatalf("RetryAfter %s, want 30s", e.RetryAfter)
	}
	c.Add(time.Second)
	if _, err := s.SendBatch(ctx, "b/3", batch(2, "2")); err != nil {
		t.Fatalf("after waiting as told: %v", err)
	}
	if fake.Sent() != 3 || fake.RateLimited() != 2 {
		t.Fatalf("sent %d, 429s %d", fake.Sent(), fake.RateLimited())
	}
}

func TestErrorMapping(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		fault  *resendtest.Fault
		apiKey string
		msg    mail.Message
		kind   mail.Kind
		status int
		errNm  string
	}{
		{name: "401 restricted key", fault: &resendtest.Fault{Status: 401, Name: "restricted_api_key"}, kind: mail.Auth, status: 401, errNm: "restricted_api_key"},
		{name: "403 wrong key", apiKey: "re_wrong", kind: mail.Auth, status: 403, errNm: "invalid_api_key"},
		{name: "403 unverified domain", msg: mail.Message{From: "x@unverified.test", To: []string{"a@example.test"}, Subject: "s", Text: "t"}, kind: mail.Auth, status: 403, errNm: "validation_error"},
		{name: "422 invalid address", msg: mail.Message{From: "news@example.test", To: []string{"not an address"}, Subject: "s", Text: "t"}, kind: mail.Permanent, status: 422, errNm: "validation_error"},
		{name: "422 injected", fault: &resendtest.Fault{Status: 422, Name: "invalid_attachment"}, kind: mail.Permanent, status: 422, errNm: "invalid_attachment"},
		{name: "400", fault: &resendtest.Fault{Status: 400}, kind: mail.Permanent, status: 400, errNm: "validation_error"},
		{name: "500", fault: &resendtest.Fault{Status: 500}, kind: mail.Transient, status: 500, errNm: "internal_server_error"},
		{name: "503", fault: &resendtest.Fault{Status: 503}, kind: mail.Transient, status: 503, errNm: "application_error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, fake, _ := setup(t, resendtest.Options{VerifiedDomains: []string{"example.test"}})
			if tc.apiKey != "" {
				var err error
				if s, err = resend.New(resend.Config{APIKey: tc.apiKey, BaseURL: fake.URL}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.fault != nil {
				fake.FailNext(2, *tc.fault)
			}
			m := tc.msg
			if m.From == "" {
				m = msg("a@example.test", "s")
			}
			_, err := s.Send(ctx, m)
			e := wantErr(t, err, tc.kind, tc.status, tc.errNm)
			if e.Message == "" {
				t.Fatal("no message")
			}
			_, err = s.SendBatch(ctx, "k/"+tc.name, []mail.Message{m})
			wantErr(t, err, tc.kind, tc.status, tc.errNm)
			if fake.Sent() != 0 {
				t.Fatal("sent despite the error")
			}
		})
	}
}

func TestHang(t *testing.T) {
	c := &clock{t: time.Now()}
	fake := resendtest.New(resendtest.Options{Rate: -1, Now: c.Now})
	defer fake.Close()
	s, err := resend.New(resend.Config{APIKey: fake.APIKey(), BaseURL: fake.URL, Timeout: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fake.FailNext(1, resendtest.Fault{Hang: true})
	start := time.Now()
	_, err = s.SendBatch(context.Background(), "k", batch(1, "s"))
	e := wantErr(t, err, mail.Transient, 0, "")
	if e.Err == nil || time.Since(start) > time.Second {
		t.Fatalf("hang: %v after %s", err, time.Since(start))
	}
	// The next attempt, same key, goes through.
	if _, err := s.SendBatch(context.Background(), "k", batch(1, "s")); err != nil || fake.Sent() != 1 {
		t.Fatalf("after the hang: %v", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	s, err := resend.New(resend.Config{APIKey: "re_x", BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), msg("a@example.test", "s"))
	wantErr(t, err, mail.Transient, 0, "")
}

// Client-side checks fail before any request.
func TestInvalidBeforeSending(t *testing.T) {
	s, fake, _ := setup(t, resendtest.Options{})
	ctx := context.Background()
	_, err := s.SendBatch(ctx, "k", batch(mail.MaxBatch+1, "s"))
	wantErr(t, err, mail.Permanent, 0, "invalid_message")
	_, err = s.SendBatch(ctx, "k", nil)
	wantErr(t, err, mail.Permanent, 0, "invalid_message")
	m := msg("a@example.test", "")
	_, err = s.Send(ctx, m)
	wantErr(t, err, mail.Permanent, 0, "invalid_message")
	if n := fake.Requests(resendtest.EndpointBatch, 0) + fake.Requests(resendtest.EndpointEmails, 0); n != 0 {
		t.Fatalf("%d requests went out", n)
	}
}

// The stand-in mounted under a path prefix, as in `dropday demo`: the base
// URL needs its trailing slash, which New adds.
func TestBaseURLWithPrefix(t *testing.T) {
	fake := resendtest.NewHandler(resendtest.Options{Rate: -1})
	defer fake.Close()
	mux := http.NewServeMux()
	mux.Handle("/_stand-in/resend/", http.StripPrefix("/_stand-in/resend", fake))
	ts := httptest.NewServer(mux)
	defer ts.Close()
	s, err := resend.New(resend.Config{APIKey: fake.APIKey(), BaseURL: ts.URL + "/_stand-in/resend"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendBatch(context.Background(), "k", batch(2, "s")); err != nil || fake.Sent() != 2 {
		t.Fatalf("under a prefix: %v, sent %d", err, fake.Sent())
	}
}

func TestNewChecksConfig(t *testing.T) {
	for _, cfg := range []resend.Config{
		{},
		{APIKey: "re_x", BaseURL: "ftp://example.test/"},
		{APIKey: "re_x", BaseURL: "://"},
	} {
		if _, err := resend.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := resend.New(resend.Config{APIKey: "re_x"}); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
