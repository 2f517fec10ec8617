package fans_test

import (
	"context"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/fans"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

func TestCoarseIP(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.77":            "203.0.113.0/24",
		"198.51.100.1":            "198.51.100.0/24",
		"::ffff:203.0.113.9":      "203.0.113.0/24",
		"2001:db8:1234:5678::1":   "2001:db8:1234::/48",
		"2001:db8:abcd:12::ff%e0": "2001:db8:abcd::/48",
		"203.0.113.0/24":          "203.0.113.0/24", // already coarse: kept
		"":                        "",
		"not an ip":               "",
	} {
		if got := fans.CoarseIP(in); got != want {
			t.Errorf("CoarseIP(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBrowserFamily(t *testing.T) {
	for in, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0":                                                                    "Firefox",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15": "Firefox",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36":                           "Chrome",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1":    "Chrome",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0":             "Edge",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36":          "Samsung Internet",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15":                     "Safari",
		"Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0":                         "Opera",
		"Go-http-client/1.1": "Other",
		"curl/8.5.0":         "Other",
		"Chrome":             "Chrome", // already coarse
		"":                   "",
	} {
		if got := fans.BrowserFamily(in); got != want {
			t.Errorf("BrowserFamily(%q) = %q, want %q", in, got, want)
		}
	}
}

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// The housekeeping job, on the app's injected clock, coarsens a released
// link's consent records after the workspace's window and not before, and
// purges pre-saves of links archived longer ago than the purge setting.
func TestRetentionJob(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			app := testapp.New(t, testapp.Options{Postgres: pg})
			ctx := context.Background()
			o := app.CreateOwner("artist@example.com", "Mara Lune")
			release := app.Clock.Now().Add(24 * time.Hour)
			l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, release)
			old := app.Link(o.Workspace.ID, "old-song", models.LinkArchived, app.Clock.Now().Add(-24*time.Hour))
			now := app.Clock.Now()
			addPresave := func(link *models.Link, uid, ip string) int64 {
				p := &models.Presave{WorkspaceID: o.Workspace.ID, LinkID: link.ID, Platform: "spotify", PlatformUserID: uid,
					IP: ip, UserAgent: chromeUA, ConsentVersion: "presave-v1", ConsentedAt: now, State: models.PresavePending,
					RevokeTokenHash: "h-" + uid, CreatedAt: now, UpdatedAt: now}
				if err := store.UpsertPresave(ctx, app.DB, p); err != nil {
					t.Fatal(err)
				}
				return p.ID
			}
			pid := addPresave(l, "u1", "203.0.113.77")
			addPresave(old, "u2", "198.51.100.5")
			sub := &models.Subscriber{WorkspaceID: o.Workspace.ID, Email: "fan@example.com", Platform: "deezer", Status: "active", CreatedAt: now, UpdatedAt: now}
			if err := store.UpsertSubscriber(ctx, app.DB, sub); err != nil {
				t.Fatal(err)
			}
			g := &models.Signup{WorkspaceID: o.Workspace.ID, LinkID: l.ID, SubscriberID: sub.ID, IP: "2001:db8:1234:5678::1",
				UserAgent: chromeUA, ConsentVersion: "email-signup-v1", ConsentedAt: now, CreatedAt: now}
			if err := store.UpsertSignup(ctx, app.DB, g); err != nil {
				t.Fatal(err)
			}
			read := func() (models.Presave, models.Signup) {
				var p models.Presave
				var s models.Signup
				if err := app.DB.NewSelect().Model(&p).Where("id = ?", pid).Scan(ctx); err != nil {
					t.Fatal(err)
				}
				if err := app.DB.NewSelect().Model(&s).Where("id = ?", g.ID).Scan(ctx); err != nil {
					t.Fatal(err)
				}
				return p, s
			}
			housekeep := func(at time.Time) {
				app.Clock.Set(at)
				if err := app.Release.Scheduler.Housekeeping(ctx); err != nil {
					t.Fatal(err)
				}
			}

			// One second before the 30-day default window ends: precise still.
			housekeep(release.Add(30*24*time.Hour - time.Second))
			if p, s := read(); p.IP != "203.0.113.77" || p.UserAgent != chromeUA || s.IP != "2001:db8:1234:5678::1" || s.UserAgent != chromeUA {
				t.Fatalf("coarsened before the window: %q %q / %q %q", p.IP, p.UserAgent, s.IP, s.UserAgent)
			}
			// The old link was archived (last changed) at Start; the default purge is 90 days.
			if n := app.CountRows("presaves"); n != 2 {
				t.Fatalf("purged before the purge window: %d presaves", n)
			}
			// At the window's end: the network and the browser family only.
			housekeep(release.Add(30 * 24 * time.Hour))
			if p, s := read(); p.IP != "203.0.113.0/24" || p.UserAgent != "Chrome" || s.IP != "2001:db8:1234::/48" || s.UserAgent != "Chrome" {
				t.Fatalf("after the window: %q %q / %q %q", p.IP, p.UserAgent, s.IP, s.UserAgent)
			}
			// A second run finds nothing left to do.
			rep, err := app.Fans.ApplyRetention(ctx, release.Add(31*24*time.Hour))
			if err != nil || rep.CoarsenedPresaves != 0 || rep.CoarsenedSignups != 0 {
				t.Fatalf("second run: %+v %v", rep, err)
			}
			// Past 90 days after archiving, the archived link's pre-saves go; the live link's stay.
			housekeep(testapp.Start.Add(90*24*time.Hour + time.Second))
			if n := app.CountRows("presaves"); n != 1 {
				t.Fatalf("after the purge window: %d presaves, want 1", n)
			}
			// A workspace's own window applies: 7 days, on a new link's records.
			if err := store.SavePrivacy(ctx, app.DB, &models.PrivacySettings{WorkspaceID: o.Workspace.ID, CoarsenAfterDays: 7, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			l2 := app.Link(o.Workspace.ID, "next-song", models.LinkLive, app.Clock.Now())
			addPresave(l2, "u3", "192.0.2.44")
			rep, err = app.Fans.ApplyRetention(ctx, app.Clock.Now().Add(6*24*time.Hour))
			if err != nil || rep.CoarsenedPresaves != 0 {
				t.Fatalf("7-day window, day 6: %+v %v", rep, err)
			}
			rep, err = app.Fans.ApplyRetention(ctx, app.Clock.Now().Add(7*24*time.Hour))
			if err != nil || rep.CoarsenedPresaves != 1 {
				t.Fatalf("7-day window, day 7: %+v %v", rep, err)
			}
		})
	}
}
