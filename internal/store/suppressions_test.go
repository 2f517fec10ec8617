package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/models"
)

// A complaint can become a bounce, never the other way: lifting a complaint
// later must not make a dead address mailable.
func TestSuppressKeepsBounces(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		reason := func(email string) string {
			sp, err := store.SuppressionFor(ctx, db, email)
			if errors.Is(err, store.ErrNotFound) {
				return ""
			}
			if err != nil {
				t.Fatal(err)
			}
			return sp.Reason
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(store.Suppress(ctx, db, "a@example.com", models.SuppressedComplaint, "spam", t0))
		must(store.Suppress(ctx, db, "a@example.com", models.SuppressedBounce, "gone", t0))
		must(store.Suppress(ctx, db, "a@example.com", models.SuppressedComplaint, "spam again", t0))
		if r := reason("a@example.com"); r != models.SuppressedBounce {
			t.Fatalf("after complaint, bounce, complaint: %q", r)
		}
		if ok, err := store.Unsuppress(ctx, db, "a@example.com", models.SuppressedComplaint); err != nil || ok {
			t.Fatalf("lifting a complaint removed a bounce: %v %v", ok, err)
		}
		must(store.Suppress(ctx, db, "b@example.com", models.SuppressedComplaint, "spam", t0))
		if ok, err := store.Unsuppress(ctx, db, "b@example.com", models.SuppressedComplaint); err != nil || !ok || reason("b@example.com") != "" {
			t.Fatalf("lift complaint: %v %v", ok, err)
		}
	})
}

func TestRecordWebhookEventOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		for i, want := range []bool{true, false} {
			fresh, err := store.RecordWebhookEvent(ctx, db, "msg_1", "email.delivered", t0)
			if err != nil || fresh != want {
				t.Fatalf("delivery %d: fresh %v, %v", i, fresh, err)
			}
		}
	})
}
