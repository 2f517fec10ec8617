package broadcast

import (
	"fmt"
	"strings"
	"time"

	"github.com/dropday/dropday/internal/links"
	"github.com/dropday/dropday/models"
)

// Stats are a broadcast's insights. A recipient's state is only its latest
// (a clicked recipient was also delivered and opened), so the counts here are
// cumulative: Delivered counts everyone who reached the inbox, whatever
// happened next.
type Stats struct {
	Total  int // recipients fixed when sending started
	Queued int // not handed to the mail service yet
	// Sent: accepted by the mail service (whatever came after).
	Sent       int
	Delivered  int
	Opened     int
	Clicked    int
	Bounced    int
	Complained int
	// Failed: refused by the mail service; never sent.
	Failed int
}

// Tally turns the latest-state counts (store.RecipientCounts) into Stats.
func Tally(total int, counts map[string]int) Stats {
	c := func(states ...string) int {
		n := 0
		for _, s := range states {
			n += counts[s]
		}
		return n
	}
	return Stats{
		Total:  total,
		Queued: c(models.RecipientQueued),
		Sent: c(models.RecipientSent, models.RecipientDelivered, models.RecipientOpened, models.RecipientClicked,
			models.RecipientBounced, models.RecipientComplained),
		// A complaint comes from a mailbox, so the email was delivered.
		Delivered:  c(models.RecipientDelivered, models.RecipientOpened, models.RecipientClicked, models.RecipientComplained),
		Opened:     c(models.RecipientOpened, models.RecipientClicked),
		Clicked:    c(models.RecipientClicked),
		Bounced:    c(models.RecipientBounced),
		Complained: c(models.RecipientComplained),
		Failed:     c(models.RecipientFailed),
	}
}

// Done is how many recipients have an outcome from the mail service (sent
// or failed): the progress bar.
func (s Stats) Done() int { return s.Sent + s.Failed }

// Percent is Done of Total, rounded down (100 only when all are done).
func (s Stats) Percent() int {
	if s.Total <= 0 {
		return 0
	}
	return min(s.Done()*100/s.Total, 100)
}

// Rate is a share of a denominator; with a zero denominator it has no value.
type Rate struct{ N, D int }

// Value is N ÷ D, and false when D is 0.
func (r Rate) Value() (float64, bool) {
	if r.D <= 0 {
		return 0, false
	}
	return float64(r.N) / float64(r.D), true
}

// String is the rate as a percentage with one decimal, or "—" without a denominator.
func (r Rate) String() string {
	v, ok := r.Value()
	if !ok {
		return "—"
	}
	return strings.Replace(fmt.Sprintf("%.1f%%", v*100), ".0%", "%", 1)
}

// The rates the panel shows, each over the count it can be judged against.
func (s Stats) DeliveredRate() Rate { return Rate{s.Delivered, s.Sent} }
func (s Stats) OpenRate() Rate      { return Rate{s.Opened, s.Delivered} }
func (s Stats) ClickRate() Rate     { return Rate{s.Clicked, s.Delivered} }
func (s Stats) BounceRate() Rate    { return Rate{s.Bounced, s.Sent} }
func (s Stats) ComplaintRate() Rate { return Rate{s.Complained, s.Delivered} }

// SendAt reads a later send time: a date and a wall-clock time in the link's
// zone, which must still be ahead of now. It returns a message for the
// artist when it is not usable.
func SendAt(date, clock, zone string, now time.Time) (time.Time, string) {
	loc, msg := links.LoadZone(zone)
	if msg != "" {
		loc = time.UTC
	}
	d, err := time.Parse("2006-01-02", strings.TrimSpace(date))
	if err != nil {
		return time.Time{}, "Enter the date as YYYY-MM-DD, like 2026-12-05."
	}
	hm, err := time.Parse("15:04", strings.TrimSpace(clock))
	if err != nil {
		return time.Time{}, "Enter the time as HH:MM (24-hour), like 09:00."
	}
	at := time.Date(d.Year(), d.Month(), d.Day(), hm.Hour(), hm.Minute(), 0, 0, loc)
	// time.Date silently moves a wall time that a DST jump skips; say so instead.
	if at.Hour() != hm.Hour() || at.Minute() != hm.Minute() {
		return time.Time{}, fmt.Sprintf("%s does not exist on %s in %s (the clocks change); pick another time.",
			hm.Format("15:04"), d.Format("2 Jan 2006"), loc)
	}
	if !at.After(now) {
		return time.Time{}, "Pick a time in the future, or send it now."
	}
	if at.After(now.AddDate(2, 0, 0)) {
		return time.Time{}, "Pick a time within the next two years."
	}
	return at.UTC(), ""
}
