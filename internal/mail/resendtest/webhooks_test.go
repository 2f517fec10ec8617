package resendtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/mail/webhook"
	resendsdk "github.com/resend/resend-go/v2"
)

// receiver is a webhook endpoint as the app will have it: verify with
// internal/mail/webhook (a separate implementation from Sign), 401 on
// failure, then parse.
type receiver struct {
	mu     sync.Mutex
	ids    []string
	events []webhook.Event
	errs   []error
}

// seen is a snapshot of what the receiver got (the handler runs on the
// server's goroutines).
func (rc *receiver) seen() (ids []string, events []webhook.Event, errs []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.ids...), append([]webhook.Event(nil), rc.events...), append([]error(nil), rc.errs...)
}

func newReceiver(t *testing.T, secret string, now func() time.Time) (*receiver, string) {
	t.Helper()
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, err := v.Verify(r.Header, body, now())
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err != nil {
			rc.errs = append(rc.errs, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ev, err := webhook.Parse(body)
		if err != nil {
			rc.errs = append(rc.errs, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.ids = append(rc.ids, id)
		rc.events = append(rc.events, ev)
	}))
	t.Cleanup(ts.Close)
	return rc, ts.URL
}

func sendOne(t *testing.T, s *Server) string {
	t.Helper()
	a := post(t, s, "/emails", `{"from":"Artist <news@example.test>","to":["fan@example.test"],"subject":"Out now","text":"hi",
		"tags":[{"name":"broadcast","value":"b7"},{"name":"recipient","value":"r42"}]}`)
	if a.status != 200 {
		t.Fatal(a.raw)
	}
	return a.body["id"].(string)
}

func TestEmitEveryType(t *testing.T) {
	s, c := newTestServer(t, Options{})
	id := sendOne(t, s)
	rc, url := newReceiver(t, s.WebhookSecret(), c.Now)
	ctx := context.Background()
	events := []Event{
		{Type: EventSent, EmailID: id},
		{Type: EventDelivered, EmailID: id},
		{Type: EventOpened, EmailID: id},
		{Type: EventClicked, EmailID: id, Click: &Click{Link: "https://dropday.test/r/abc?p=spotify", IPAddress: "198.51.100.7", UserAgent: "Phone"}},
		{Type: EventBounced, EmailID: id},
		{Type: EventBounced, EmailID: id, Bounce: &Bounce{Type: "Transient", SubType: "MailboxFull", Message: "full"}},
		{Type: EventComplained, EmailID: id},
	}
	for _, ev := range events {
		d, err := s.Emit(ctx, url, ev)
		if err != nil || d.Status != 200 {
			t.Fatalf("emit %s: %v, status %d", ev.Type, err, d.Status)
		}
	}
	_, got, errs := rc.seen()
	if len(errs) != 0 || len(got) != len(events) {
		t.Fatalf("receiver: %d events, errors %v", len(got), errs)
	}
	for i, ev := range got {
		d := ev.Data
		if ev.Type != events[i].Type || d.EmailID != id || d.To[0] != "fan@example.test" || d.Subject != "Out now" ||
			d.From != "Artist <news@example.test>" || d.Tags["broadcast"] != "b7" || d.Tags["recipient"] != "r42" ||
			!ev.CreatedAt.Equal(c.Now()) || !d.CreatedAt.Equal(c.Now()) {
			t.Fatalf("event %d parsed as %+v", i, ev)
		}
	}
	if b := got[4].Data.Bounce; !b.Hard() || b.SubType != "General" {
		t.Fatalf("default bounce %+v", b)
	}
	if b := got[5].Data.Bounce; b.Hard() || b.SubType != "MailboxFull" {
		t.Fatalf("soft bounce %+v", b)
	}
	if cl := got[3].Data.Click; cl == nil || cl.Link != "https://dropday.test/r/abc?p=spotify" || cl.IPAddress != "198.51.100.7" || cl.UserAgent != "Phone" {
		t.Fatalf("click %+v", cl)
	}
	if got[0].Data.Bounce != nil || got[0].Data.Click != nil {
		t.Fatal("email.sent carries bounce or click")
	}
	if len(s.Emitted()) != len(events) || s.Emitted()[0].Type != EventSent {
		t.Fatalf("emitted %+v", s.Emitted())
	}
	if _, err := s.Emit(ctx, url, Event{Type: EventSent, EmailID: "no-such-email"}); err == nil {
		t.Fatal("emitted about an unknown email")
	}
}

func TestEmitSignedWrong(t *testing.T) {
	s, c := newTestServer(t, Options{})
	id := sendOne(t, s)
	rc, url := newReceiver(t, s.WebhookSecret(), c.Now)
	ctx := context.Background()
	ev := Event{Type: EventDelivered, EmailID: id}
	cases := []struct {
		name   string
		opts   []EmitOption
		status int
	}{
		{"wrong secret", []EmitOption{WithSecret(NewWebhookSecret())}, 401},
		{"six minutes old", []EmitOption{WithTimestamp(c.Now().Add(-6 * time.Minute))}, 401},
		{"six minutes ahead", []EmitOption{WithTimestamp(c.Now().Add(6 * time.Minute))}, 401},
		{"just inside five minutes", []EmitOption{WithTimestamp(c.Now().Add(-webhook.Tolerance + time.Second))}, 200},
		{"a wrong signature before the right one", []EmitOption{WithExtraSignatures("v1,bm90IGl0", "v1a,whatever")}, 200},
		{"right secret's signature after a rotated-out one", []EmitOption{WithExtraSignatures(mustSign(t, NewWebhookSecret()))}, 200},
	}
	for _, tc := range cases {
		d, err := s.Emit(ctx, url, ev, tc.opts...)
		if err != nil || d.Status != tc.status {
			t.Errorf("%s: status %d (%v), want %d", tc.name, d.Status, err, tc.status)
		}
	}
	// A retried delivery keeps its svix-id, so the app can drop it.
	first, _ := s.Emit(ctx, url, ev)
	again, _ := s.Emit(ctx, url, ev, WithID(first.ID))
	ids, _, _ := rc.seen()
	if again.ID != first.ID || ids[len(ids)-1] != first.ID || ids[len(ids)-2] != first.ID {
		t.Fatalf("WithID: %s then %s", first.ID, again.ID)
	}
}

func mustSign(t *testing.T, secret string) string {
	t.Helper()
	sig, err := Sign(secret, "msg_x", time.Now(), []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// A third, independent check: resend-go's own verifier (which reads the
// real clock) accepts what the stand-in signs.
func TestEmitVerifiesWithTheSDK(t *testing.T) {
	s := New(Options{Rate: -1})
	defer s.Close()
	id := sendOne(t, s)
	sdk := resendsdk.NewClient("re_unused")
	var verr error
	got := make(chan struct{}, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		verr = sdk.Webhooks.Verify(&resendsdk.VerifyWebhookOptions{
			Payload:       string(body),
			Headers:       resendsdk.WebhookHeaders{Id: r.Header.Get("svix-id"), Timestamp: r.Header.Get("svix-timestamp"), Signature: r.Header.Get("svix-signature")},
			WebhookSecret: s.WebhookSecret(),
		})
		got <- struct{}{}
	}))
	defer ts.Close()
	if _, err := s.Emit(context.Background(), ts.URL, Event{Type: EventOpened, EmailID: id}); err != nil {
		t.Fatal(err)
	}
	<-got
	if verr != nil {
		t.Fatalf("resend-go rejects the stand-in's signature: %v", verr)
	}
}
