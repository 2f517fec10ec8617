package signup_test

import (
	"testing"
	"time"

	"github.com/dropday/dropday/internal/signup"
	"github.com/dropday/dropday/internal/store"
)

func TestWindow(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 11, 21, 23, 30, 0, 0, time.UTC) // 00:30 on the 22nd in Berlin
	if got := signup.Window(now, now.AddDate(-1, 0, 0), berlin); !got.Equal(time.Date(2026, 10, 24, 0, 0, 0, 0, berlin)) {
		t.Fatalf("old link: first day %v", got)
	}
	if got := signup.Window(now, now.Add(-48*time.Hour), berlin); !got.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, berlin)) {
		t.Fatalf("new link: first day %v", got)
	}
}

// Slots land on the day of the link's zone, across a DST change and a
// half-hour zone, and days without signups are zeros.
func TestPerDay(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	first := time.Date(2026, 10, 24, 0, 0, 0, 0, berlin)
	now := time.Date(2026, 10, 27, 10, 0, 0, 0, berlin) // DST ends on the 25th
	slots := []store.SignupBucket{
		{Start: time.Date(2026, 10, 23, 21, 45, 0, 0, time.UTC), N: 9}, // 23:45 on the 23rd: before the window
		{Start: time.Date(2026, 10, 23, 22, 0, 0, 0, time.UTC), N: 2},  // 00:00 on the 24th (CEST)
		{Start: time.Date(2026, 10, 25, 22, 45, 0, 0, time.UTC), N: 3}, // 23:45 on the 25th (CET)
		{Start: time.Date(2026, 10, 25, 23, 0, 0, 0, time.UTC), N: 4},  // 00:00 on the 26th
		{Start: time.Date(2026, 10, 27, 8, 0, 0, 0, time.UTC), N: 1},   // today
	}
	got := signup.PerDay(slots, first, now, berlin)
	want := []int{2, 3, 4, 1}
	if len(got) != len(want) {
		t.Fatalf("%d days, want %d: %v", len(got), len(want), got)
	}
	for i, d := range got {
		if d.N != want[i] || d.Date.Day() != 24+i {
			t.Fatalf("day %d = %v %d, want the %d: %d", i, d.Date, d.N, 24+i, want[i])
		}
	}
	kolkata, _ := time.LoadLocation("Asia/Kolkata") // +05:30
	days := signup.PerDay([]store.SignupBucket{{Start: time.Date(2026, 11, 20, 18, 30, 0, 0, time.UTC), N: 5}},
		time.Date(2026, 11, 20, 0, 0, 0, 0, kolkata), time.Date(2026, 11, 21, 12, 0, 0, 0, kolkata), kolkata)
	if len(days) != 2 || days[0].N != 0 || days[1].N != 5 {
		t.Fatalf("Kolkata: %v", days)
	}
}
