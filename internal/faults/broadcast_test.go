package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/mail/resendtest"
	"github.com/dropday/dropday/internal/proc"
	"github.com/dropday/dropday/internal/seed"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

const (
	broadcastN = 10_000
	// resendRate is the stand-in's limit in requests per second (100 emails
	// each): 10,000 emails take about five seconds at full speed.
	resendRate = 20
	// broadcastDeadline is generous: the test proves exactly-once, not speed
	// (make bench measures that). With the race detector and other packages'
	// tests on the same two cores, 10,000 emails have taken over 50 s.
	broadcastDeadline = 150 * time.Second
)

// TestKillMidBroadcast kills `dropday serve` with SIGKILL a third of the way
// through a 10,000-subscriber release-day email and starts a new one on the
// same database: every subscriber must receive the email exactly once (the
// batch accepted at the kill but never recorded is resent under its
// idempotency key, which the stand-in answers as a replay, sending nothing),
// and no recipient may be left queued.
func TestKillMidBroadcast(t *testing.T) {
	eachDB(t, func(t *testing.T, db *bun.DB, url string, _ bool) {
		ctx := context.Background()
		rs := resendtest.New(resendtest.Options{Rate: resendRate, DiscardBodies: true})
		t.Cleanup(rs.Close)
		rs.SetLatency(50 * time.Millisecond)
		now := time.Now()
		l, err := seed.Link(ctx, db, "faults", now, now)
		if err != nil {
			t.Fatal(err)
		}
		emails, err := seed.Subscribers(ctx, db, l, broadcastN, now)
		if err != nil {
			t.Fatal(err)
		}
		b, err := seed.Broadcast(ctx, db, l, now, now)
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{
			// One public URL for both processes, as in production: the
			// emails' links are built on it, and a resent batch must be the
			// same request (proc.Start's default is the random listen address).
			"DROPDAY_BASE_URL":           "http://music.example.test",
			"DROPDAY_DATABASE_URL":       url,
			"DROPDAY_DATA_DIR":           t.TempDir(),
			"DROPDAY_MAIL_DRIVER":        "resend",
			"DROPDAY_MAIL_FROM":          "Mara Lune <news@example.com>",
			"DROPDAY_RESEND_API_KEY":     rs.APIKey(),
			"DROPDAY_RESEND_BASE_URL":    rs.URL,
			"DROPDAY_RESEND_RATE":        fmt.Sprint(resendRate - 1),
			"DROPDAY_JOB_LEASE":          "6s",
			"DROPDAY_SCHEDULER_INTERVAL": "1s",
		}
		begin := time.Now()
		deadline := begin.Add(broadcastDeadline)
		first := start(t, "first dropday", env)
		waitFor(t, "a third of the emails", deadline, 5*time.Millisecond, []*proc.Process{first}, func() (bool, string, error) {
			n := rs.Recipients()
			return n >= broadcastN/3, fmt.Sprintf("%d addresses received", n), nil
		})
		// Stage the worst moment: a batch the stand-in accepts while the
		// process that sent it dies before recording it. Hold the next
		// request, kill, then let it through (Resend finishes what it
		// accepted): the restart must resend that batch under the same
		// idempotency key and get the stored answer, sending nothing twice.
		release := rs.Hold()
		t.Cleanup(release)
		waitFor(t, "a batch in flight", deadline, 5*time.Millisecond, []*proc.Process{first}, func() (bool, string, error) {
			return rs.Held() > 0, fmt.Sprintf("%d held", rs.Held()), nil
		})
		first.Kill()
		killedAt := time.Now()
		release()
		waitFor(t, "the held batch sent", deadline, 5*time.Millisecond, nil, func() (bool, string, error) {
			return rs.Held() == 0, fmt.Sprintf("%d held", rs.Held()), nil
		})
		receivedAtKill := rs.Recipients()
		atKill, err := store.BroadcastByID(ctx, db, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if atKill.State != models.BroadcastSending {
			t.Fatalf("the broadcast is %s at the kill, want sending: the test would prove nothing", atKill.State)
		}

		second := start(t, "restarted dropday", env)
		waitFor(t, "the broadcast sent", deadline, 100*time.Millisecond, []*proc.Process{second}, func() (bool, string, error) {
			cur, err := store.BroadcastByID(ctx, db, b.ID)
			if err != nil {
				return false, "", err
			}
			if cur.State == models.BroadcastPaused {
				return false, "", fmt.Errorf("the broadcast paused: %s", cur.PauseReason)
			}
			return cur.State == models.BroadcastSent, fmt.Sprintf("state %s, next batch %d, %d addresses received", cur.State, cur.NextBatch, rs.Recipients()), nil
		})

		var missing, repeated int
		for _, e := range emails {
			switch n := rs.Received(e); {
			case n == 0:
				missing++
			case n > 1:
				repeated++
			}
		}
		if missing > 0 || repeated > 0 || rs.Duplicates() > 0 || rs.Recipients() != broadcastN {
			t.Errorf("of %d subscribers %d got no email and %d got it more than once (stand-in: %d duplicates, %d distinct addresses)",
				broadcastN, missing, repeated, rs.Duplicates(), rs.Recipients())
		}
		if rs.Replays() == 0 {
			t.Errorf("no idempotent replay: the batch sent at the kill was not resent under its key")
		}
		counts, err := store.RecipientCounts(ctx, db, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		if counts[models.RecipientQueued] != 0 || counts[models.RecipientFailed] != 0 || total != broadcastN {
			t.Errorf("recipient states %v (total %d), want all %d past queued and none failed", counts, total, broadcastN)
		}
		t.Logf("%d subscribers, stand-in %d requests/s: killed after %s at %d addresses received (checkpoint: batch %d, one more batch held and sent after the kill); restarted, sent %s after the kill; %d emails accepted, %d idempotent replays, %d duplicates, %d 429s; recipients %v",
			broadcastN, resendRate, killedAt.Sub(begin).Round(time.Millisecond), receivedAtKill, atKill.NextBatch,
			time.Since(killedAt).Round(time.Millisecond), rs.Sent(), rs.Replays(), rs.Duplicates(), rs.RateLimited(), counts)
	})
}
