package analytics

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// Periods are the insights' choices of days back; DefaultPeriod when none or another is asked.
var Periods = []int{7, 30, 90}

// DefaultPeriod is the insights' period when the URL names none.
const DefaultPeriod = 30

// TopN is how many referrers and utm sources the insights list.
const TopN = 10

// Period reads the ?days= parameter: one of Periods, else DefaultPeriod.
func Period(param string) int {
	n, err := strconv.Atoi(param)
	if err != nil || !slices.Contains(Periods, n) {
		return DefaultPeriod
	}
	return n
}

// Totals are a period's numbers. Visitors adds up each day's unique visitors,
// so a fan who comes back on another day counts once per day.
type Totals struct {
	Views, Visitors, Presaves, Signups, Clicks int
}

// Conversions are the fans who acted: pre-saves plus email signups.
func (t Totals) Conversions() int { return t.Presaves + t.Signups }

// Conversion is (pre-saves + signups) ÷ unique visitors, in percent; ok is
// false without visitors (nothing to divide by).
func (t Totals) Conversion() (pct float64, ok bool) {
	if t.Visitors == 0 {
		return 0, false
	}
	return float64(t.Conversions()) * 100 / float64(t.Visitors), true
}

func (t *Totals) add(o Totals) {
	t.Views += o.Views
	t.Visitors += o.Visitors
	t.Presaves += o.Presaves
	t.Signups += o.Signups
	t.Clicks += o.Clicks
}

// Day is one UTC day of a report.
type Day struct {
	Date time.Time // midnight UTC
	Totals
	// PresavesBy and ClicksBy split the day's pre-saves and clicks by platform key.
	PresavesBy, ClicksBy map[string]int
}

// Count is a platform's number in a report.
type Count struct {
	Platform models.Platform
	N        int
}

// Report is the insights of a link or a workspace over a period.
type Report struct {
	Days   []Day // oldest first, every day of the period
	Totals Totals
	// Presaves and Clicks per platform over the period, in the landing page's platform order, only non-zero.
	Presaves, Clicks []Count
	// Referrers and Sources are the top referring hosts and utm_source values.
	Referrers, Sources []store.Ranked
	// Links are the totals per link (the workspace page's table).
	Links map[int64]Totals
	// Platforms split the period's pre-saves (by outcome), signups and
	// clicks by platform, in the landing page's platform order.
	Platforms []PlatformRow
}

// Build computes the report of scope for the days-day period ending today (UTC, by now).
func Build(ctx context.Context, db bun.IDB, sc store.Scope, days int, now time.Time) (*Report, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -(days - 1))
	to := today.AddDate(0, 0, 1)
	first, last := DayOf(from), DayOf(today)

	rep := &Report{Links: map[int64]Totals{}}
	index := map[string]int{}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		index[DayOf(d)] = len(rep.Days)
		rep.Days = append(rep.Days, Day{Date: d, PresavesBy: map[string]int{}, ClicksBy: map[string]int{}})
	}
	perLink := func(id int64, f func(*Totals)) {
		t := rep.Links[id]
		f(&t)
		rep.Links[id] = t
	}

	views, err := store.AnalyticsViews(ctx, db, sc, first, last)
	if err != nil {
		return nil, err
	}
	for _, v := range views {
		if i, ok := index[v.Day]; ok {
			rep.Days[i].Views += v.Views
			rep.Days[i].Visitors += v.Visitors
			perLink(v.LinkID, func(t *Totals) { t.Views += v.Views; t.Visitors += v.Visitors })
		}
	}
	clicks, err := store.AnalyticsClicks(ctx, db, sc, first, last)
	if err != nil {
		return nil, err
	}
	for _, c := range clicks {
		if i, ok := index[c.Day]; ok {
			rep.Days[i].Clicks += c.N
			rep.Days[i].ClicksBy[c.Key] += c.N
			perLink(c.LinkID, func(t *Totals) { t.Clicks += c.N })
		}
	}
	presaves, err := store.PresavesPerDay(ctx, db, sc, from, to)
	if err != nil {
		return nil, err
	}
	for _, p := range presaves {
		if i, ok := index[p.Day]; ok {
			rep.Days[i].Presaves += p.N
			rep.Days[i].PresavesBy[p.Key] += p.N
			perLink(p.LinkID, func(t *Totals) { t.Presaves += p.N })
		}
	}
	signups, err := store.SignupsPerDay(ctx, db, sc, from, to)
	if err != nil {
		return nil, err
	}
	signupsBy := map[string]int{}
	for _, s := range signups {
		if i, ok := index[s.Day]; ok {
			signupsBy[s.Key] += s.N
			rep.Days[i].Signups += s.N
			perLink(s.LinkID, func(t *Totals) { t.Signups += s.N })
		}
	}
	byPresave, byClick := map[string]int{}, map[string]int{}
	for _, d := range rep.Days {
		rep.Totals.add(d.Totals)
		for k, n := range d.PresavesBy {
			byPresave[k] += n
		}
		for k, n := range d.ClicksBy {
			byClick[k] += n
		}
	}
	states, err := store.PresaveStatesByPlatform(ctx, db, sc, from, to)
	if err != nil {
		return nil, err
	}
	rep.Platforms = Platforms(states, signupsBy, byClick)
	// platformCounts empties the maps it reads.
	rep.Presaves, rep.Clicks = platformCounts(byPresave), platformCounts(byClick)

	if rep.Referrers, err = store.AnalyticsTopSources(ctx, db, sc, "referrer", first, last, TopN); err != nil {
		return nil, err
	}
	if rep.Sources, err = store.AnalyticsTopSources(ctx, db, sc, "utm_source", first, last, TopN); err != nil {
		return nil, err
	}
	return rep, nil
}

// platformCounts orders counts by the landing page's platform order; unknown keys come last.
func platformCounts(by map[string]int) []Count {
	var out []Count
	for _, p := range models.Platforms {
		if n := by[p.Key]; n > 0 {
			out = append(out, Count{Platform: p, N: n})
			delete(by, p.Key)
		}
	}
	var rest []string
	for k, n := range by {
		if n > 0 {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, Count{Platform: models.Platform{Key: k, Name: k, Icon: "other.svg"}, N: by[k]})
	}
	return out
}
