package resend_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/mail/resend"
	"github.com/dropday/dropday/internal/mail/resendtest"
)

// A batch sent twice under one idempotency key reaches each fan once; the
// second call is what a restart after a crash looks like.
func Example() {
	fake := resendtest.New(resendtest.Options{})
	defer fake.Close()
	sender, err := resend.New(resend.Config{APIKey: fake.APIKey(), BaseURL: fake.URL})
	if err != nil {
		fmt.Println(err)
		return
	}
	msgs := []mail.Message{
		{From: "Artist <news@example.test>", To: []string{"a@example.test"}, Subject: "Out now", Text: "Listen"},
		{From: "Artist <news@example.test>", To: []string{"b@example.test"}, Subject: "Out now", Text: "Listen"},
	}
	ctx := context.Background()
	for range 2 {
		_, err := sender.SendBatch(ctx, "broadcast-1/batch-0", msgs)
		var e *mail.Error
		switch {
		case err == nil:
		case errors.As(err, &e) && e.Kind == mail.RateLimited:
			time.Sleep(e.RetryAfter) // the engine snoozes the job instead
		default:
			fmt.Println(mail.KindOf(err), err)
		}
	}
	fmt.Println("sent", fake.Sent(), "replayed", fake.Replays(), "duplicates", fake.Duplicates())
	// Output: sent 2 replayed 1 duplicates 0
}
