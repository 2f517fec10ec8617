package fans

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/dropday/dropday/internal/store"
)

// Browser families a user agent is coarsened to.
var Families = []string{"Firefox", "Edge", "Opera", "Samsung Internet", "Chrome", "Safari", "Other"}

// CoarseIP keeps only the network of an address: IPv4 /24, IPv6 /48, as
// "203.0.113.0/24". Something that is not an address becomes "" (nothing
// worth keeping); an already coarse value stays as it is.
func CoarseIP(ip string) string {
	ip = strings.TrimSpace(ip)
	if ip == "" || strings.Contains(ip, "/") {
		return ip
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// BrowserFamily names the browser of a user agent, and nothing else about
// the device. Order matters: Edge, Opera and Samsung also say "Chrome", and
// Chrome also says "Safari".
func BrowserFamily(ua string) string {
	switch {
	case ua == "":
		return ""
	case isFamily(ua):
		return ua
	case strings.Contains(ua, "Firefox/") || strings.Contains(ua, "FxiOS/"):
		return "Firefox"
	case strings.Contains(ua, "Edg/") || strings.Contains(ua, "EdgA/") || strings.Contains(ua, "EdgiOS/"):
		return "Edge"
	case strings.Contains(ua, "OPR/") || strings.Contains(ua, "OPiOS/"):
		return "Opera"
	case strings.Contains(ua, "SamsungBrowser/"):
		return "Samsung Internet"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "CriOS/") || strings.Contains(ua, "Chromium/"):
		return "Chrome"
	case strings.Contains(ua, "Safari/") && strings.Contains(ua, "Version/"):
		return "Safari"
	}
	return "Other"
}

func isFamily(ua string) bool {
	for _, f := range Families {
		if ua == f {
			return true
		}
	}
	return false
}

// RetentionReport counts what one run did.
type RetentionReport struct {
	CoarsenedPresaves int
	CoarsenedSignups  int
	PurgedPresaves    int64
	ExpiredTokens     int64
}

// retentionBatch bounds one read of records to coarsen.
const retentionBatch = 500

// ApplyRetention applies every workspace's retention rules at now:
// consent records (pre-saves and signups) of links released more than N
// days ago get a coarse IP and user agent; pre-saves of links archived more
// than M days ago are deleted (M = 0: never). Expired fan proof tokens go too.
func (s *Service) ApplyRetention(ctx context.Context, now time.Time) (RetentionReport, error) {
	var rep RetentionReport
	ids, err := store.WorkspaceIDs(ctx, s.DB)
	if err != nil {
		return rep, err
	}
	for _, wid := range ids {
		p, err := store.PrivacyOf(ctx, s.DB, wid)
		if err != nil {
			return rep, err
		}
		cutoff := now.Add(-time.Duration(p.CoarsenAfterDays) * 24 * time.Hour)
		for _, table := range []string{"presaves", "signups"} {
			n, err := s.coarsen(ctx, table, wid, cutoff)
			if table == "presaves" {
				rep.CoarsenedPresaves += n
			} else {
				rep.CoarsenedSignups += n
			}
			if err != nil {
				return rep, err
			}
		}
		if p.PurgeAfterDays > 0 {
			n, err := store.PurgeArchivedPresaves(ctx, s.DB, wid, now.Add(-time.Duration(p.PurgeAfterDays)*24*time.Hour))
			rep.PurgedPresaves += n
			if err != nil {
				return rep, err
			}
		}
	}
	if rep.ExpiredTokens, err = store.DeleteExpiredFanTokens(ctx, s.DB, now); err != nil {
		return rep, err
	}
	return rep, nil
}

func (s *Service) coarsen(ctx context.Context, table string, wid int64, cutoff time.Time) (int, error) {
	n := 0
	var after int64
	for {
		rows, err := store.PreciseConsents(ctx, s.DB, table, wid, cutoff, Families, after, retentionBatch)
		if err != nil || len(rows) == 0 {
			return n, err
		}
		for _, r := range rows {
			if err := store.SetConsentNetwork(ctx, s.DB, table, r.ID, CoarseIP(r.IP), BrowserFamily(r.UserAgent)); err != nil {
				return n, err
			}
			n++
			after = r.ID
		}
	}
}

// Retention is the housekeeping task: it applies the rules now and logs the counts.
func (s *Service) Retention(ctx context.Context) error {
	rep, err := s.ApplyRetention(ctx, s.Now().UTC())
	s.Log.Info("retention applied", "coarsened_presaves", rep.CoarsenedPresaves, "coarsened_signups", rep.CoarsenedSignups,
		"purged_presaves", rep.PurgedPresaves, "expired_fan_tokens", rep.ExpiredTokens, "err", err)
	return err
}
