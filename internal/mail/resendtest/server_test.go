package resendtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable fake time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)} }

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

// newTestServer starts a stand-in on a frozen clock with the rate limit off
// (a frozen clock would otherwise allow two requests in all).
func newTestServer(t *testing.T, opts Options) (*Server, *clock) {
	t.Helper()
	c := newClock()
	opts.Now = c.Now
	if opts.Rate == 0 {
		opts.Rate = -1
	}
	s := New(opts)
	t.Cleanup(s.Close)
	return s, c
}

var client = &http.Client{Timeout: 5 * time.Second}

type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// post sends body to path; headers alternate name, value. Authorization is
// the stand-in's key unless given.
func post(t *testing.T, s *Server, path, body string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.APIKey())
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "<none>" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &a.body)
	return a
}

// wantError checks Resend's error body.
func wantError(t *testing.T, a answer, status int, name string) {
	t.Helper()
	if a.status != status || a.body["name"] != name || a.body["statusCode"] != float64(status) || a.body["message"] == "" {
		t.Fatalf("got %d %s, want %d with name %q", a.status, a.raw, status, name)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q", ct)
	}
}

func email(to, subject string) string {
	return fmt.Sprintf(`{"from":"Artist <news@example.test>","to":[%q],"subject":%q,"html":"<p>hi</p>","text":"hi"}`, to, subject)
}

func batchOf(n int, subject string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = email(fmt.Sprintf("fan%d@example.test", i), subject)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func TestSendRecordsTheEmail(t *testing.T) {
	s, c := newTestServer(t, Options{})
	body := `{"from":"Artist <news@example.test>","to":"Fan@Example.test","subject":"Out now","html":"<p>hi</p>","text":"hi",
		"headers":{"List-Unsubscribe":"<https://dropday.test/u/t>"},"tags":[{"name":"broadcast","value":"b1"}]}`
	a := post(t, s, "/emails", body, "Idempotency-Key", "reset/1")
	if a.status != 200 || len(a.body["id"].(string)) != 36 {
		t.Fatalf("send: %d %s", a.status, a.raw)
	}
	em, ok := s.Email(a.body["id"].(string))
	if !ok {
		t.Fatal("the answered id is not recorded")
	}
	if em.To[0] != "Fan@Example.test" || em.Subject != "Out now" || em.HTML != "<p>hi</p>" || em.Text != "hi" ||
		em.Headers["List-Unsubscribe"] != "<https://dropday.test/u/t>" || em.Tags[0] != (Tag{"broadcast", "b1"}) ||
		em.IdempotencyKey != "reset/1" || em.Batch || !em.At.Equal(c.Now()) {
		t.Fatalf("recorded %+v", em)
	}
	if s.Received("fan@example.test") != 1 || s.Sent() != 1 || s.Recipients() != 1 {
		t.Fatalf("received %d, sent %d", s.Received("fan@example.test"), s.Sent())
	}
	if s.Requests(EndpointEmails, 200) != 1 {
		t.Fatalf("counts %v", s.RequestCounts())
	}
}

func TestAuth(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	wantError(t, post(t, s, "/emails", email("a@example.test", "s"), "Authorization", "<none>"), 401, "missing_api_key")
	wantError(t, post(t, s, "/emails", email("a@example.test", "s"), "Authorization", "Bearer "), 401, "missing_api_key")
	wantError(t, post(t, s, "/emails", email("a@example.test", "s"), "Authorization", "Bearer re_wrong"), 403, "invalid_api_key")
	wantError(t, post(t, s, "/emails/batch", batchOf(2, "s"), "Authorization", "Bearer re_wrong"), 403, "invalid_api_key")
	if s.Sent() != 0 {
		t.Fatal("an unauthenticated request sent")
	}
}

func TestValidation(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	cases := []struct {
		name, body string
		status     int
		errName    string
	}{
		{"no from", `{"to":["a@example.test"],"subject":"s","text":"t"}`, 422, "missing_required_field"},
		{"no to", `{"from":"a@example.test","subject":"s","text":"t"}`, 422, "missing_required_field"},
		{"no subject", `{"from":"a@example.test","to":"b@example.test","text":"t"}`, 422, "missing_required_field"},
		{"no body", `{"from":"a@example.test","to":"b@example.test","subject":"s"}`, 422, "missing_required_field"},
		{"bad to", `{"from":"a@example.test","to":["not an address"],"subject":"s","text":"t"}`, 422, "validation_error"},
		{"bad from", `{"from":"nobody","to":["b@example.test"],"subject":"s","text":"t"}`, 422, "validation_error"},
		{"bad tag", `{"from":"a@example.test","to":["b@example.test"],"subject":"s","text":"t","tags":[{"name":"a b","value":"v"}]}`, 422, "validation_error"},
		{"header injection", `{"from":"a@example.test","to":["b@example.test"],"subject":"s","text":"t","headers":{"X":"a\r\nBcc: c@example.test"}}`, 422, "validation_error"},
		{"not json", `{"from":`, 400, "validation_error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, post(t, s, "/emails", c.body), c.status, c.errName)
		})
	}
	many := make([]string, MaxRecipients+1)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprintf("f%d@example.test", i))
	}
	wantError(t, post(t, s, "/emails", `{"from":"a@example.test","to":[`+strings.Join(many, ",")+`],"subject":"s","text":"t"}`), 422, "validation_error")
	if s.Sent() != 0 {
		t.Fatalf("an invalid email was sent: %+v", s.Emails())
	}
}

func TestUnverifiedDomain(t *testing.T) {
	s, _ := newTestServer(t, Options{VerifiedDomains: []string{"dropday.test"}})
	wantError(t, post(t, s, "/emails", email("a@example.test", "s")), 403, "validation_error")
	ok := post(t, s, "/emails", `{"from":"News <news@DropDay.test>","to":"a@example.test","subject":"s","text":"t"}`)
	if ok.status != 200 {
		t.Fatalf("verified domain refused: %s", ok.raw)
	}
}

func TestBatch(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	a := post(t, s, "/emails/batch", batchOf(MaxBatch, "Out now"))
	if a.status != 200 {
		t.Fatalf("100 emails: %d %s", a.status, a.raw)
	}
	data := a.body["data"].([]any)
	if len(data) != MaxBatch || s.Sent() != MaxBatch {
		t.Fatalf("%d ids, %d sent", len(data), s.Sent())
	}
	if _, hasErrors := a.body["errors"]; hasErrors {
		t.Fatal("a strict batch answered an errors list")
	}
	// The ids are in the order of the emails.
	for i, d := range data {
		em, _ := s.Email(d.(map[string]any)["id"].(string))
		if em.To[0] != fmt.Sprintf("fan%d@example.test", i) || !em.Batch {
			t.Fatalf("id %d is %+v", i, em)
		}
	}

	wantError(t, post(t, s, "/emails/batch", batchOf(MaxBatch+1, "x")), 422, "validation_error")
	wantError(t, post(t, s, "/emails/batch", `[]`), 422, "validation_error")
	wantError(t, post(t, s, "/emails/batch", email("a@example.test", "object, not array")), 422, "validation_error")
	wantError(t, post(t, s, "/emails/batch", `[{"from":"a@example.test","to":"b@example.test","subject":"s","text":"t","scheduled_at":"in 1 hour"}]`), 422, "validation_error")
	wantError(t, post(t, s, "/emails/batch", `[{"from":"a@example.test","to":"b@example.test","subject":"s","text":"t","attachments":[{"filename":"a.txt","content":"aGk="}]}]`), 422, "validation_error")

	// Strict (the default): one bad email rejects the whole batch.
	mixed := `[` + email("ok1@example.test", "m") + `,{"from":"a@example.test","subject":"m","text":"t"},` + email("ok2@example.test", "m") + `]`
	bad := post(t, s, "/emails/batch", mixed)
	wantError(t, bad, 422, "missing_required_field")
	if !strings.Contains(bad.body["message"].(string), "emails[1]") {
		t.Fatalf("the error does not say which email: %s", bad.raw)
	}
	if s.Sent() != MaxBatch {
		t.Fatalf("a rejected batch sent %d", s.Sent()-MaxBatch)
	}

	// Permissive: the valid ones go, the others are listed by index.
	p := post(t, s, "/emails/batch", mixed, "x-batch-validation", "permissive")
	if p.status != 200 || len(p.body["data"].([]any)) != 2 || s.Sent() != MaxBatch+2 {
		t.Fatalf("permissive: %d %s", p.status, p.raw)
	}
	errs := p.body["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["index"] != float64(1) {
		t.Fatalf("permissive errors %v", errs)
	}
}

func TestIdempotentReplay(t *testing.T) {
	s, c := newTestServer(t, Options{})
	first := post(t, s, "/emails/batch", batchOf(3, "Out now"), "Idempotency-Key", "broadcast-7/batch-1")
	if first.status != 200 {
		t.Fatalf("first: %s", first.raw)
	}
	// Same key, same request with other spacing and key order: the first
	// answer again, nothing sent.
	reordered := strings.ReplaceAll(batchOf(3, "Out now"), `"from":"Artist <news@example.test>",`, "")
	reordered = strings.ReplaceAll(reordered, `"text":"hi"}`, `"text":"hi", "from":"Artist <news@example.test>"}`)
	again := post(t, s, "/emails/batch", " "+reordered+"\n", "Idempotency-Key", "broadcast-7/batch-1")
	if again.status != 200 || again.raw != first.raw {
		t.Fatalf("replay answered %d %s, want %s", again.status, again.raw, first.raw)
	}
	if s.Sent() != 3 || s.Replays() != 1 || s.Duplicates() != 0 {
		t.Fatalf("sent %d, replays %d, duplicates %d", s.Sent(), s.Replays(), s.Duplicates())
	}

	// Same key, different request: 409, nothing sent.
	wantError(t, post(t, s, "/emails/batch", batchOf(3, "Other subject"), "Idempotency-Key", "broadcast-7/batch-1"), 409, "invalid_idempotent_request")
	// The key is not per endpoint.
	wantError(t, post(t, s, "/emails", email("fan0@example.test", "Out now"), "Idempotency-Key", "broadcast-7/batch-1"), 409, "invalid_idempotent_request")

	// After 24 hours the key is forgotten and the request sends again.
	c.Add(IdempotencyTTL - time.Second)
	if a := post(t, s, "/emails/batch", batchOf(3, "Out now"), "Idempotency-Key", "broadcast-7/batch-1"); a.raw != first.raw {
		t.Fatalf("replay just before 24 h: %s", a.raw)
	}
	c.Add(time.Second)
	later := post(t, s, "/emails/batch", batchOf(3, "Out now"), "Idempotency-Key", "broadcast-7/batch-1")
	if later.status != 200 || later.raw == first.raw || s.Sent() != 6 || s.Duplicates() != 3 {
		t.Fatalf("after 24 h: %s; sent %d, duplicates %d", later.raw, s.Sent(), s.Duplicates())
	}
}

func TestIdempotencyKeyRules(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	wantError(t, post(t, s, "/emails", email("a@example.test", "s"), "Idempotency-Key", strings.Repeat("k", MaxIdempotencyKey+1)), 400, "invalid_idempotency_key")
	if a := post(t, s, "/emails", email("a@example.test", "s"), "Idempotency-Key", strings.Repeat("k", MaxIdempotencyKey)); a.status != 200 {
		t.Fatalf("256-char key: %s", a.raw)
	}
	// A request that failed validation leaves its key unused: the corrected
	// request with the same key sends.
	wantError(t, post(t, s, "/emails", `{"from":"a@example.test","to":"b@example.test","text":"t"}`, "Idempotency-Key", "k2"), 422, "missing_required_field")
	if a := post(t, s, "/emails", email("b@example.test", "fixed"), "Idempotency-Key", "k2"); a.status != 200 {
		t.Fatalf("corrected request after a 422: %s", a.raw)
	}
	// So does one refused by an injected 500.
	s.FailNext(1, Fault{Status: 500})
	wantError(t, post(t, s, "/emails", email("c@example.test", "s"), "Idempotency-Key", "k3"), 500, "internal_server_error")
	if a := post(t, s, "/emails", email("c@example.test", "s"), "Idempotency-Key", "k3"); a.status != 200 || s.Sent() != 3 {
		t.Fatalf("retry after a 500: %s (sent %d)", a.raw, s.Sent())
	}
}

// waitFor polls cond (it watches real goroutines, not the fake clock).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestConcurrentIdempotentRequests(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	release := s.Hold()
	defer s.Hold()() // a second Hold shares the release: calling both is safe
	defer release()
	done := make(chan answer, 1)
	go func() { done <- post(t, s, "/emails/batch", batchOf(2, "s"), "Idempotency-Key", "b/1") }()
	waitFor(t, "the first request to be held", func() bool { return s.Held() == 1 })

	wantError(t, post(t, s, "/emails/batch", batchOf(2, "s"), "Idempotency-Key", "b/1"), 409, "concurrent_idempotent_requests")
	// A different body under the in-flight key is the mismatch, not the race.
	wantError(t, post(t, s, "/emails/batch", batchOf(2, "other"), "Idempotency-Key", "b/1"), 409, "invalid_idempotent_request")
	if s.Sent() != 0 {
		t.Fatal("sent while held")
	}
	release()
	first := <-done
	if first.status != 200 || s.Sent() != 2 {
		t.Fatalf("held request: %s, sent %d", first.raw, s.Sent())
	}
	if a := post(t, s, "/emails/batch", batchOf(2, "s"), "Idempotency-Key", "b/1"); a.raw != first.raw || s.Sent() != 2 {
		t.Fatalf("retry after the 409: %s", a.raw)
	}
}

// A client that gives up while its request is in flight does not stop the
// send; a retry with the same key gets the ids without a second send.
func TestHeldSendCompletesAfterClientLeaves(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	release := s.Hold()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/emails/batch", strings.NewReader(batchOf(2, "s")))
	req.Header.Set("Authorization", "Bearer "+s.APIKey())
	req.Header.Set("Idempotency-Key", "b/9")
	errc := make(chan error, 1)
	go func() {
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitFor(t, "the request to be held", func() bool { return s.Held() == 1 })
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("the client got an answer while held")
	}
	release()
	waitFor(t, "the held send to finish", func() bool { return s.Held() == 0 && s.Sent() == 2 })
	a := post(t, s, "/emails/batch", batchOf(2, "s"), "Idempotency-Key", "b/9")
	if a.status != 200 || s.Sent() != 2 || s.Replays() != 1 || s.Received("fan0@example.test") != 1 {
		t.Fatalf("retry: %s; sent %d, replays %d", a.raw, s.Sent(), s.Replays())
	}
}

func TestRateLimit(t *testing.T) {
	s, c := newTestServer(t, Options{Rate: DefaultRate})
	check := func(a answer, status int, remaining, reset string) {
		t.Helper()
		if a.status != status || a.header.Get("ratelimit-limit") != "2" ||
			a.header.Get("ratelimit-remaining") != remaining || a.header.Get("ratelimit-reset") != reset {
			t.Fatalf("got %d limit=%s remaining=%s reset=%s, want %d remaining=%s reset=%s (%s)", a.status,
				a.header.Get("ratelimit-limit"), a.header.Get("ratelimit-remaining"), a.header.Get("ratelimit-reset"),
				status, remaining, reset, a.raw)
		}
	}
	check(post(t, s, "/emails", email("a@example.test", "1")), 200, "1", "1")
	c.Add(600 * time.Millisecond)
	check(post(t, s, "/emails/batch", batchOf(2, "2")), 200, "0", "1") // both endpoints share the limit
	limited := post(t, s, "/emails", email("a@example.test", "3"))
	check(limited, 429, "0", "1")
	wantError(t, limited, 429, "rate_limit_exceeded")
	if limited.header.Get("retry-after") != "1" {
		t.Fatalf("retry-after %q", limited.header.Get("retry-after"))
	}
	// Rolling, not fixed: at 1.0 s the first request has left the window,
	// the second (at 0.6 s) has not.
	c.Add(400 * time.Millisecond)
	check(post(t, s, "/emails", email("a@example.test", "4")), 200, "0", "1")
	c.Add(100 * time.Millisecond)
	check(post(t, s, "/emails", email("a@example.test", "5")), 429, "0", "1")
	c.Add(500 * time.Millisecond) // 1.6 s: the 0.6 s request leaves
	check(post(t, s, "/emails", email("a@example.test", "6")), 200, "0", "1")
	if s.RateLimited() != 2 || s.Requests(EndpointEmails, 429) != 2 || s.Sent() != 5 {
		t.Fatalf("429s %d, sent %d, counts %v", s.RateLimited(), s.Sent(), s.RequestCounts())
	}
	// The knob changes the limit while running.
	s.SetRate(-1)
	for i := range 5 {
		if a := post(t, s, "/emails", email("a@example.test", fmt.Sprint(i))); a.status != 200 || a.header.Get("ratelimit-limit") != "" {
			t.Fatalf("limit off: %d %v", a.status, a.header)
		}
	}
}

func TestFaults(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.FailNext(2, Fault{Endpoint: EndpointBatch, Status: 503})
	// A fault for the batch endpoint leaves /emails alone.
	if a := post(t, s, "/emails", email("a@example.test", "s")); a.status != 200 {
		t.Fatalf("emails hit by a batch fault: %s", a.raw)
	}
	wantError(t, post(t, s, "/emails/batch", batchOf(1, "s")), 503, "application_error")
	wantError(t, post(t, s, "/emails/batch", batchOf(1, "s")), 503, "application_error")
	if a := post(t, s, "/emails/batch", batchOf(1, "s")); a.status != 200 {
		t.Fatalf("after two faults: %s", a.raw)
	}
	s.FailNext(1, Fault{Status: 429, RetryAfter: 7})
	a := post(t, s, "/emails", email("a@example.test", "s"))
	wantError(t, a, 429, "rate_limit_exceeded")
	if a.header.Get("retry-after") != "7" || a.header.Get("ratelimit-remaining") != "0" || a.header.Get("ratelimit-reset") != "1" {
		t.Fatalf("injected 429 headers %v", a.header)
	}
	s.FailNext(1, Fault{Status: 401, Name: "restricted_api_key"})
	wantError(t, post(t, s, "/emails", email("a@example.test", "s")), 401, "restricted_api_key")

	s.FailFraction(1, Fault{Status: 500})
	for range 3 {
		wantError(t, post(t, s, "/emails", email("a@example.test", "s")), 500, "internal_server_error")
	}
	s.ClearFaults()
	if a := post(t, s, "/emails", email("a@example.test", "s")); a.status != 200 {
		t.Fatalf("after ClearFaults: %s", a.raw)
	}
	if s.Sent() != 3 || s.RateLimited() != 1 || s.Requests(EndpointBatch, 503) != 2 {
		t.Fatalf("sent %d, counts %v", s.Sent(), s.RequestCounts())
	}
}

func TestFailFractionIsSeeded(t *testing.T) {
	run := func() []int {
		s, _ := newTestServer(t, Options{Seed: 42})
		s.FailFraction(0.5, Fault{Status: 500})
		var got []int
		for range 20 {
			got = append(got, post(t, s, "/emails", email("a@example.test", "s")).status)
		}
		return got
	}
	a, b := run(), run()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	if !strings.Contains(fmt.Sprint(a), "500") || !strings.Contains(fmt.Sprint(a), "200") {
		t.Fatalf("fraction 0.5 gave %v", a)
	}
}

func TestHangAndLatency(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.FailNext(1, Fault{Hang: true})
	short := &http.Client{Timeout: 100 * time.Millisecond}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/emails", strings.NewReader(email("a@example.test", "s")))
	req.Header.Set("Authorization", "Bearer "+s.APIKey())
	if _, err := short.Do(req); err == nil {
		t.Fatal("a hung request answered")
	}
	waitFor(t, "the hung request to be counted", func() bool { return s.RequestCounts()[EndpointEmails][0] == 1 })
	if s.Sent() != 0 {
		t.Fatal("a hung request sent")
	}

	s.SetLatency(80 * time.Millisecond)
	start := time.Now()
	if a := post(t, s, "/emails", email("a@example.test", "s")); a.status != 200 {
		t.Fatal(a.raw)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("latency 80ms answered in %s", d)
	}
}

func TestRoutes(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	wantError(t, post(t, s, "/domains", `{}`), 404, "not_found")
	resp, err := client.Get(s.URL + "/emails")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("GET /emails: %d", resp.StatusCode)
	}
}

func TestCountersAndDiscardBodies(t *testing.T) {
	s, _ := newTestServer(t, Options{DiscardBodies: true})
	post(t, s, "/emails", `{"from":"a@example.test","to":["Fan <X@example.test>"],"cc":"y@example.test","subject":"Out now","html":"<p>big</p>","text":"t"}`)
	post(t, s, "/emails", email("x@example.test", "Out now")) // same person, same subject: a duplicate
	post(t, s, "/emails", email("x@example.test", "Test send"))
	if s.Received("x@example.test") != 3 || s.Received("y@example.test") != 1 || s.Duplicates() != 1 || s.Recipients() != 2 {
		t.Fatalf("received x=%d y=%d, duplicates %d", s.Received("x@example.test"), s.Received("y@example.test"), s.Duplicates())
	}
	if em := s.Emails()[0]; em.HTML != "" || em.Text != "" || em.Subject != "Out now" || em.Cc[0] != "y@example.test" {
		t.Fatalf("DiscardBodies kept %+v", em)
	}
}

// NewHandler mounts under a prefix, as `dropday demo` does.
func TestNewHandlerUnderPrefix(t *testing.T) {
	h := NewHandler(Options{Rate: -1})
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle("/_stand-in/resend/", http.StripPrefix("/_stand-in/resend", h))
	ts := httptest.NewServer(mux)
	defer ts.Close()
	h.URL = ts.URL + "/_stand-in/resend"
	if a := post(t, h, "/emails", email("a@example.test", "s")); a.status != 200 || h.Sent() != 1 {
		t.Fatalf("mounted: %d %s", a.status, a.raw)
	}
}
