package ratelimit

import (
	"testing"
	"time"
)

func TestKeyed(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := New(3, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if !k.Allow("a") {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if k.Allow("a") {
		t.Fatal("4th attempt in the same instant allowed")
	}
	if !k.Allow("b") {
		t.Fatal("another key is limited by a's attempts")
	}
	now = now.Add(20 * time.Second) // 3/min refills one token every 20 s
	if !k.Allow("a") {
		t.Fatal("no token after the refill interval")
	}
}
