package broadcast_test

import (
	"testing"
	"time"

	"github.com/dropday/dropday/internal/broadcast"
	"github.com/dropday/dropday/models"
)

func TestTally(t *testing.T) {
	type rates struct{ delivered, opened, clicked, bounced, complained string }
	for _, tc := range []struct {
		name   string
		total  int
		counts map[string]int
		want   broadcast.Stats
		rates  rates
		pct    int
	}{
		{name: "nothing sent yet", total: 10, counts: map[string]int{models.RecipientQueued: 10},
			want:  broadcast.Stats{Total: 10, Queued: 10},
			rates: rates{"—", "—", "—", "—", "—"}, pct: 0},
		{name: "no recipients", total: 0, counts: map[string]int{},
			want: broadcast.Stats{}, rates: rates{"—", "—", "—", "—", "—"}, pct: 0},
		{name: "sent, no events yet", total: 4, counts: map[string]int{models.RecipientSent: 3, models.RecipientQueued: 1},
			want:  broadcast.Stats{Total: 4, Queued: 1, Sent: 3},
			rates: rates{"0%", "—", "—", "0%", "—"}, pct: 75},
		{
			// Latest states: a clicked recipient was also delivered and opened;
			// a complaint was delivered; a failure was never sent.
			name: "every state", total: 20,
			counts: map[string]int{
				models.RecipientSent: 2, models.RecipientDelivered: 5, models.RecipientOpened: 4, models.RecipientClicked: 3,
				models.RecipientBounced: 2, models.RecipientComplained: 1, models.RecipientFailed: 3,
			},
			want: broadcast.Stats{Total: 20, Sent: 17, Delivered: 13, Opened: 7, Clicked: 3, Bounced: 2, Complained: 1, Failed: 3},
			// 13/17, 7/13, 3/13, 2/17, 1/13
			rates: rates{"76.5%", "53.8%", "23.1%", "11.8%", "7.7%"}, pct: 100,
		},
		{name: "all failed", total: 2, counts: map[string]int{models.RecipientFailed: 2},
			want: broadcast.Stats{Total: 2, Failed: 2}, rates: rates{"—", "—", "—", "—", "—"}, pct: 100},
		{name: "all clicked", total: 3, counts: map[string]int{models.RecipientClicked: 3},
			want:  broadcast.Stats{Total: 3, Sent: 3, Delivered: 3, Opened: 3, Clicked: 3},
			rates: rates{"100%", "100%", "100%", "0%", "0%"}, pct: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := broadcast.Tally(tc.total, tc.counts)
			if got != tc.want {
				t.Fatalf("Tally = %+v, want %+v", got, tc.want)
			}
			r := rates{got.DeliveredRate().String(), got.OpenRate().String(), got.ClickRate().String(),
				got.BounceRate().String(), got.ComplaintRate().String()}
			if r != tc.rates {
				t.Fatalf("rates delivered/opened/clicked/bounced/complained = %+v, want %+v", r, tc.rates)
			}
			if p := got.Percent(); p != tc.pct {
				t.Fatalf("Percent = %d, want %d", p, tc.pct)
			}
		})
	}
}

func TestSendAt(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) // 13:00 in Berlin
	for _, tc := range []struct {
		date, clock, zone string
		want              time.Time
		bad               bool
	}{
		{"2026-11-21", "13:30", "Europe/Berlin", time.Date(2026, 11, 21, 12, 30, 0, 0, time.UTC), false},
		{"2026-12-05", "09:00", "America/New_York", time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC), false},
		{"2026-11-21", "13:00", "Europe/Berlin", time.Time{}, true}, // now is not the future
		{"2026-11-20", "23:00", "Europe/Berlin", time.Time{}, true},
		{"21/11/2026", "13:30", "Europe/Berlin", time.Time{}, true},
		{"2026-02-30", "13:30", "Europe/Berlin", time.Time{}, true},
		{"2026-12-05", "25:00", "Europe/Berlin", time.Time{}, true},
		{"2026-12-05", "", "Europe/Berlin", time.Time{}, true},
		{"2027-03-28", "02:30", "Europe/Berlin", time.Time{}, true}, // skipped by DST
		{"2030-01-01", "10:00", "Europe/Berlin", time.Time{}, true}, // too far
	} {
		got, msg := broadcast.SendAt(tc.date, tc.clock, tc.zone, now)
		if tc.bad != (msg != "") || !got.Equal(tc.want) {
			t.Errorf("SendAt(%q, %q, %q) = %v, %q", tc.date, tc.clock, tc.zone, got, msg)
		}
	}
}
