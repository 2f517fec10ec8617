package broadcast_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/broadcast"
	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/mail/outbox"
	"github.com/dropday/dropday/internal/mail/resend"
	"github.com/dropday/dropday/internal/mail/resendtest"
	"github.com/dropday/dropday/internal/pace"
	"github.com/dropday/dropday/internal/seed"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/models"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var now = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// clock is the service's and the queue's: run moves it on, so a backoff
// comes due without the test waiting for it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a link with n active subscribers (every third prefers Apple
// Music), plus one unsubscribed, one suppressed, and one who signed up
// through another link — none of whom may get the email.
type fixture struct {
	db      *bun.DB
	link    *models.Link
	emails  []string
	presave int64 // the pre-save of emails[0]
}

func newFixture(t *testing.T, db *bun.DB, n int) *fixture {
	t.Helper()
	ctx := context.Background()
	l, err := seed.Link(ctx, db, "night-drive", now, now)
	if err != nil {
		t.Fatal(err)
	}
	other := &models.Link{WorkspaceID: l.WorkspaceID, Slug: "other", Title: "Other", Artist: "Mara Lune",
		ReleaseAt: now, TimeZone: "UTC", State: models.LinkLive, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateLink(ctx, db, other); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, link: l}
	add := func(email, status string, link *models.Link, platform string) {
		s := &models.Subscriber{WorkspaceID: l.WorkspaceID, Email: email, Platform: platform, Status: status, CreatedAt: now, UpdatedAt: now}
		if err := store.UpsertSubscriber(ctx, db, s); err != nil {
			t.Fatal(err)
		}
		if err := store.UpsertSignup(ctx, db, &models.Signup{WorkspaceID: l.WorkspaceID, LinkID: link.ID, SubscriberID: s.ID,
			Platform: platform, ConsentVersion: "signup-v1", ConsentedAt: now, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		e := fmt.Sprintf("fan%04d@example.com", i)
		p := "spotify"
		if i%3 == 1 {
			p = "apple_music"
		}
		add(e, models.SubscriberActive, l, p)
		f.emails = append(f.emails, e)
	}
	add("gone@example.com", models.SubscriberUnsubscribed, l, "spotify")
	add("bounced@example.com", models.SubscriberActive, l, "spotify")
	if _, err := db.NewInsert().Model(&models.Suppression{Email: "bounced@example.com", Reason: models.SuppressedBounce, CreatedAt: now}).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	add("elsewhere@example.com", models.SubscriberActive, other, "spotify")
	p := &models.Presave{WorkspaceID: l.WorkspaceID, LinkID: l.ID, Platform: "spotify", PlatformUserID: "fan0",
		Email: f.emails[0], EmailOptIn: true, ConsentVersion: "presave-v1", ConsentedAt: now, State: models.PresavePending,
		RevokeTokenHash: auth.HashToken("consent-token"), CreatedAt: now, UpdatedAt: now}
	if err := store.UpsertPresave(ctx, db, p); err != nil {
		t.Fatal(err)
	}
	f.presave = p.ID
	return f
}

func newService(db *bun.DB, sender mail.Sender) *broadcast.Service {
	c := &clock{t: now}
	s := &broadcast.Service{DB: db, Sender: sender, Pace: pace.NewLimiter(0, nil), Secret: []byte("0123456789abcdef0123456789abcdef"),
		BaseURL: "https://music.example.com", From: "Mara Lune <news@example.com>", Now: c.Now,
		Log: testdb.Logger()}
	clocks.Store(s, c)
	return s
}

// clocks finds a service's clock (test code: the Service has only its Now).
var clocks sync.Map

func draft() broadcast.Draft {
	return broadcast.Draft{Subject: "Night Drive is out", Format: models.FormatMarkdown,
		Body: "It's here. **Night Drive** — thank you for waiting.\n\n<script>alert(1)</script>"}
}

// run works the queue until the broadcast leaves "sending" (or the deadline).
func run(t *testing.T, s *broadcast.Service, id int64) *models.Broadcast {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	q := &jobs.Queue{DB: s.DB, Now: s.Now} // the clock the jobs were enqueued on
	r := &jobs.Runner{Queue: q, Handlers: map[string]jobs.HandlerFunc{broadcast.KindSend: s.Work},
		Concurrency: 2, PollInterval: 20 * time.Millisecond, Log: testdb.Logger()}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, err := store.BroadcastByID(context.Background(), s.DB, id)
		if err != nil {
			t.Fatal(err)
		}
		if b.State != models.BroadcastSending || time.Now().After(deadline) {
			return b
		}
		if c, ok := clocks.Load(s); ok {
			c.(*clock).Advance(2 * time.Second) // backoffs come due
		}
	}
}

func start(t *testing.T, s *broadcast.Service, l *models.Link) *models.Broadcast {
	t.Helper()
	b, err := s.Save(context.Background(), l, 0, draft(), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b
}

func standIn(t *testing.T) (*resendtest.Server, *resend.Sender) {
	t.Helper()
	rs := resendtest.New(resendtest.Options{Rate: -1})
	t.Cleanup(rs.Close)
	snd, err := resend.New(resend.Config{APIKey: rs.APIKey(), BaseURL: rs.URL})
	if err != nil {
		t.Fatal(err)
	}
	return rs, snd
}

// Through Resend's stand-in: everyone on the list gets it once, in batches
// of 100 with a key each; the unsubscribed, the suppressed and other links'
// fans do not; every email has both unsubscribe headers and its own button.
func TestBroadcastReachesTheListOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 250)
		rs, snd := standIn(t)
		s := newService(db, snd)
		b := start(t, s, f.link)
		if err := s.Start(context.Background(), b); !errors.Is(err, broadcast.ErrStarted) {
			t.Errorf("second start: %v, want ErrStarted", err)
		}
		b = run(t, s, b.ID)
		if b.State != models.BroadcastSent || b.Total != 250 || b.NextBatch != 3 {
			t.Fatalf("broadcast = %s, total %d, next batch %d", b.State, b.Total, b.NextBatch)
		}
		for _, e := range f.emails {
			if n := rs.Received(e); n != 1 {
				t.Fatalf("%s received %d emails", e, n)
			}
		}
		for _, e := range []string{"gone@example.com", "bounced@example.com", "elsewhere@example.com"} {
			if n := rs.Received(e); n != 0 {
				t.Errorf("%s received %d emails, want none", e, n)
			}
		}
		keys := map[string]int{}
		for _, m := range rs.Emails() {
			keys[m.IdempotencyKey]++
			if m.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" ||
				!strings.HasPrefix(m.Headers["List-Unsubscribe"], "<https://music.example.com/unsubscribe/") {
				t.Fatalf("headers of %v: %v", m.To, m.Headers)
			}
			if strings.Contains(m.HTML, "<script>") {
				t.Fatal("raw HTML from the body reached the email")
			}
		}
		if len(keys) != 3 || keys[fmt.Sprintf("dropday-broadcast-%d-batch-2", b.ID)] != 50 {
			t.Errorf("idempotency keys: %v", keys)
		}
		p, err := s.Progress(context.Background(), b)
		if err != nil || p.Done() != 250 || p.Counts[models.RecipientSent] != 250 {
			t.Errorf("progress = %+v, %v", p, err)
		}
		// The revoke link in fan 0's email undoes fan 0's pre-save.
		var revoke string
		for _, m := range rs.Emails() {
			if m.To[0] == f.emails[0] {
				i := strings.Index(m.Text, "/revoke/")
				revoke, _, _ = strings.Cut(m.Text[i+len("/revoke/"):], "\n")
				if !strings.Contains(m.HTML, "Listen on Spotify") || !strings.Contains(m.HTML, "platform=spotify") {
					t.Error("fan 0's button does not lead to Spotify")
				}
			}
			if m.To[0] == f.emails[1] && !strings.Contains(m.HTML, "Listen on Apple Music") {
				t.Error("fan 1's button does not lead to Apple Music")
			}
		}
		got, err := store.PresaveByRevokeToken(context.Background(), db, auth.HashToken(revoke))
		if err != nil || got.ID != f.presave {
			t.Errorf("the email's revoke token finds %v, %v; want pre-save %d", got, err, f.presave)
		}
	})
}

// A crash after the provider accepted a batch, before dropday recorded it:
// the retry carries the same key and the same bytes, so it is a replay.
func TestBroadcastRetryAfterAcceptedBatchSendsNothingTwice(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 150)
		rs, snd := standIn(t)
		s := newService(db, &loseAnswer{Sender: snd, n: 1})
		b := run(t, s, start(t, s, f.link).ID)
		if b.State != models.BroadcastSent {
			t.Fatalf("state %s (%s)", b.State, b.PauseReason)
		}
		if rs.Duplicates() != 0 || rs.Replays() != 1 || rs.Recipients() != 150 {
			t.Errorf("duplicates %d, replays %d, recipients %d", rs.Duplicates(), rs.Replays(), rs.Recipients())
		}
	})
}

// loseAnswer sends, then reports the first n batches as lost on the way back.
type loseAnswer struct {
	mail.Sender
	n int
}

func (l *loseAnswer) SendBatch(ctx context.Context, key string, msgs []mail.Message) ([]string, error) {
	ids, err := l.Sender.SendBatch(ctx, key, msgs)
	if err == nil && l.n > 0 {
		l.n--
		return nil, &mail.Error{Kind: mail.Transient, Message: "connection reset after the request was sent"}
	}
	return ids, err
}

// A 429 makes every sender wait as told; the batch goes again and nobody
// gets it twice.
func TestBroadcastWaitsOutA429(t *testing.T) {
	db, _ := testdb.SQLite(t)
	f := newFixture(t, db, 120)
	rs, snd := standIn(t)
	rs.FailNext(1, resendtest.Fault{Status: 429, RetryAfter: 1})
	s := newService(db, snd)
	began := time.Now()
	b := run(t, s, start(t, s, f.link).ID)
	if b.State != models.BroadcastSent || rs.Recipients() != 120 || rs.Duplicates() != 0 || rs.RateLimited() != 1 {
		t.Fatalf("state %s, recipients %d, duplicates %d, 429s %d", b.State, rs.Recipients(), rs.Duplicates(), rs.RateLimited())
	}
	if waited := time.Since(began); waited < time.Second {
		t.Errorf("finished %s after a 429 with retry-after 1 s", waited)
	}
}

// A wrong API key pauses the broadcast with the reason instead of failing
// every recipient; resumed with the right key, it goes on where it stopped.
func TestBroadcastPausesOnAuthAndResumes(t *testing.T) {
	db, _ := testdb.SQLite(t)
	f := newFixture(t, db, 120)
	rs, _ := standIn(t)
	bad, _ := resend.New(resend.Config{APIKey: "re_wrong", BaseURL: rs.URL})
	s := newService(db, bad)
	b := run(t, s, start(t, s, f.link).ID)
	if b.State != models.BroadcastPaused || !strings.Contains(b.PauseReason, "refused") || rs.Recipients() != 0 {
		t.Fatalf("state %s %q, recipients %d", b.State, b.PauseReason, rs.Recipients())
	}
	good, _ := resend.New(resend.Config{APIKey: rs.APIKey(), BaseURL: rs.URL})
	s.Sender = good
	if ok, err := s.Resume(context.Background(), b); !ok || err != nil {
		t.Fatalf("resume: %v %v", ok, err)
	}
	if b = run(t, s, b.ID); b.State != models.BroadcastSent || rs.Recipients() != 120 {
		t.Fatalf("after resume: %s, %d recipients", b.State, rs.Recipients())
	}
}

// The outbox driver sends the same broadcast into the database; a test email
// goes to the artist alone, marked as a test.
func TestBroadcastThroughTheOutbox(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 30)
		s := newService(db, &outbox.Sender{DB: db, Now: func() time.Time { return now }})
		b, err := s.Save(context.Background(), f.link, 0, draft(), false)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SendTest(context.Background(), b, f.link, "artist@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if b = run(t, s, b.ID); b.State != models.BroadcastSent {
			t.Fatalf("state %s", b.State)
		}
		ms, n, err := store.ListOutbox(context.Background(), db, f.link.WorkspaceID, store.OutboxFilter{Limit: 200})
		if err != nil || n != 31 {
			t.Fatalf("outbox holds %d, %v", n, err)
		}
		if last := ms[len(ms)-1]; last.Recipient != "artist@example.com" || !strings.HasPrefix(last.Subject, "[Test] ") {
			t.Errorf("first message: %s %q", last.Recipient, last.Subject)
		}
		// Text can no longer change once it has gone out.
		if _, err := s.Save(context.Background(), f.link, 0, draft(), true); !errors.Is(err, broadcast.ErrStarted) {
			t.Errorf("edit after sending: %v", err)
		}
	})
}

// The rendered email, HTML and text, is what the golden files hold.
func TestRenderGolden(t *testing.T) {
	s := newService(nil, nil)
	l := &models.Link{ID: 7, Slug: "night-drive", Title: "Night Drive", Artist: "Mara Lune", Artwork: "abc123"}
	b := &models.Broadcast{ID: 3, Subject: "Night Drive is out", Body: draft().Body, BodyFormat: models.FormatMarkdown}
	msg, err := s.Render(context.Background(), broadcast.Letter{Broadcast: b, Link: l, To: "fan@example.com",
		Platform: "spotify", Unsubscribe: "UNSUB", Revoke: "REVOKE"})
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{"email.golden.html": msg.HTML, "email.golden.txt": msg.Text,
		"headers.golden.txt": fmt.Sprintf("List-Unsubscribe: %s\nList-Unsubscribe-Post: %s\n", msg.Headers["List-Unsubscribe"], msg.Headers["List-Unsubscribe-Post"])} {
		path := "testdata/" + name
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to write it)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from the golden file (run go test -update and review the diff)\n%s", name, got)
		}
	}
}
