package analytics

import (
	"slices"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// PlatformRow is one platform's share of the numbers: its pre-saves by
// outcome, and the email signups naming it and its listen clicks.
type PlatformRow struct {
	Platform                            models.Platform
	Pending, Delivered, Failed, Revoked int
	Signups, Clicks                     int
}

// Presaves are the platform's pre-saves, whatever their state.
func (r PlatformRow) Presaves() int { return r.Pending + r.Delivered + r.Failed + r.Revoked }

// Conversion is (the platform's pre-saves + signups naming it) ÷ unique
// visitors, in percent, so the platforms' rates add up to the overall
// conversion; ok is false without visitors.
func (r PlatformRow) Conversion(visitors int) (pct float64, ok bool) {
	if visitors == 0 {
		return 0, false
	}
	return float64(r.Presaves()+r.Signups) * 100 / float64(visitors), true
}

// DeliveredPct is delivered ÷ pre-saves that reached an outcome (delivered,
// failed or revoked), in percent; ok is false before any outcome.
func (r PlatformRow) DeliveredPct() (pct float64, ok bool) {
	final := r.Delivered + r.Failed + r.Revoked
	if final == 0 {
		return 0, false
	}
	return float64(r.Delivered) * 100 / float64(final), true
}

// Platforms builds a row per platform with anything to count (signups and
// clicks may be nil), in the landing page's platform order; keys that are
// not a known platform come last (an empty one as "No platform named").
func Platforms(states []store.PlatformStateCount, signups, clicks map[string]int) []PlatformRow {
	by := map[string]*PlatformRow{}
	row := func(key string) *PlatformRow {
		if r := by[key]; r != nil {
			return r
		}
		p, ok := models.PlatformByKey(key)
		if !ok {
			p = models.Platform{Key: key, Name: key, Icon: "other.svg"}
			if key == "" {
				p.Name = "No platform named"
			}
		}
		by[key] = &PlatformRow{Platform: p}
		return by[key]
	}
	for _, s := range states {
		r := row(s.Platform)
		switch s.State {
		case models.PresavePending:
			r.Pending += s.N
		case models.PresaveDelivered:
			r.Delivered += s.N
		case models.PresaveFailed:
			r.Failed += s.N
		case models.PresaveRevoked:
			r.Revoked += s.N
		}
	}
	for k, n := range signups {
		if n > 0 {
			row(k).Signups += n
		}
	}
	for k, n := range clicks {
		if n > 0 {
			row(k).Clicks += n
		}
	}
	var out []PlatformRow
	for _, p := range models.Platforms {
		if r := by[p.Key]; r != nil {
			out = append(out, *r)
			delete(by, p.Key)
		}
	}
	rest := make([]string, 0, len(by))
	for k := range by {
		rest = append(rest, k)
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, *by[k])
	}
	return out
}
