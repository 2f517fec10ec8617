package signup

import (
	"time"

	"github.com/dropday/dropday/internal/store"
)

// ChartDays is how far back a link's signups-per-day chart looks.
const ChartDays = 30

// Day is one calendar day of a link's signups, in the link's time zone.
type Day struct {
	Date time.Time // midnight, in the zone
	N    int
}

// Window is the chart's first day (midnight in loc, as an instant): the last
// ChartDays days up to now, or from the link's creation if that is later.
func Window(now, created time.Time, loc *time.Location) time.Time {
	today := midnight(now.In(loc))
	first := today.AddDate(0, 0, -(ChartDays - 1))
	if c := midnight(created.In(loc)); c.After(first) && !c.After(today) {
		first = c
	}
	return first
}

// PerDay folds 15-minute slots (UTC) into the days from first to now's day in
// loc, zeros included. Slots are exact for every zone: each zone's offset
// from UTC is a multiple of 15 minutes, so a slot never straddles midnight.
func PerDay(slots []store.SignupBucket, first, now time.Time, loc *time.Location) []Day {
	first = midnight(first.In(loc))
	today := midnight(now.In(loc))
	var days []Day
	for d := first; !d.After(today); d = d.AddDate(0, 0, 1) {
		days = append(days, Day{Date: d})
	}
	for _, s := range slots {
		i := dayIndex(first, s.Start.In(loc))
		if i >= 0 && i < len(days) {
			days[i].N += s.N
		}
	}
	return days
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// dayIndex counts calendar days from first to t (both in the same zone),
// by dates rather than by 24-hour steps, so DST days count as one.
func dayIndex(first, t time.Time) int {
	fy, fm, fd := first.Date()
	ty, tm, td := t.Date()
	a := time.Date(fy, fm, fd, 0, 0, 0, 0, time.UTC)
	b := time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)
	return int(b.Sub(a) / (24 * time.Hour))
}
