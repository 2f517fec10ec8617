package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

var cellRE = regexp.MustCompile(`data-testid="(?:pk|pp)-([a-z]+)">([^<]*)<`)

// platformRow reads one platform's row of a per-platform table as
// "presaves=3 pending=1 …", or "" when the page has no such row.
func platformRow(body, testID string) string {
	i := strings.Index(body, `data-testid="`+testID+`"`)
	if i < 0 {
		return ""
	}
	row := body[i:]
	row = row[:strings.Index(row, "</tr>")]
	var out []string
	for _, m := range cellRE.FindAllStringSubmatch(row, -1) {
		out = append(out, m[1]+"="+m[2])
	}
	return strings.Join(out, " ")
}

func setPresaveState(t *testing.T, app *testapp.App, platform, user, state string) {
	t.Helper()
	res, err := app.DB.NewUpdate().Model((*models.Presave)(nil)).Set("state = ?", state).
		Where("platform = ? AND platform_user_id = ?", platform, user).Exec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("no pre-save %s/%s", platform, user)
	}
}

// The presave panel and the Insights pages break the numbers down by
// platform, from seeded pre-saves, signups, views and clicks, through the
// router: the panel counts every pre-save of the link by state; Insights
// count the period's, with signups, clicks and a conversion per platform
// that adds up to the total.
func TestPlatformKPIs(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		app := testapp.New(t, testapp.Options{Postgres: pg})
		ctx := context.Background()
		o := app.CreateOwner("artist@example.com", "Mara Lune")
		today := app.Clock.Now()
		l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, today.Add(72*time.Hour))
		other := app.Link(o.Workspace.ID, "b-side", models.LinkLive, today.Add(72*time.Hour))
		if err := store.SetManualURL(ctx, app.DB, l.ID, "spotify", spotifyListen); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 8; i++ {
			visit(t, app, http.MethodGet, "/night-drive", fanUA(i))
		}
		if res := visit(t, app, http.MethodGet, "/night-drive/go/spotify", fanUA(2)); res.StatusCode != http.StatusFound {
			t.Fatalf("click: %d", res.StatusCode)
		}
		hour := -time.Hour
		presaveAt(t, app, l, "spotify", "a", today.Add(1*hour))
		presaveAt(t, app, l, "spotify", "b", today.Add(2*hour))
		presaveAt(t, app, l, "spotify", "c", today.Add(3*hour))
		presaveAt(t, app, l, "deezer", "d", today.Add(1*hour))
		presaveAt(t, app, l, "deezer", "e", today.Add(2*hour))
		presaveAt(t, app, l, "deezer", "f", today.AddDate(0, 0, -40)) // before the 30 days
		presaveAt(t, app, other, "tidal", "g", today.Add(1*hour))
		setPresaveState(t, app, "spotify", "a", models.PresaveDelivered)
		setPresaveState(t, app, "spotify", "b", models.PresaveFailed)
		setPresaveState(t, app, "deezer", "d", models.PresaveDelivered)
		setPresaveState(t, app, "deezer", "e", models.PresaveRevoked)
		storeSignup(t, app, l, "one@example.net", "apple_music", fanUA(4), today.Add(hour/2))
		storeSignup(t, app, l, "two@example.net", "deezer", fanUA(5), today.Add(hour/2))

		admin := app.NewClient()
		admin.Login(o)

		// The presave panel (and its polled partial): every pre-save of the link, by state.
		for _, path := range []string{"/share", "/share/stats"} {
			_, body := admin.Get(fmt.Sprintf("/admin/links/%d%s", l.ID, path))
			for key, want := range map[string]string{
				"spotify": "presaves=3 pending=1 delivered=1 failed=1 revoked=0 rate=50.0%",
				"deezer":  "presaves=3 pending=1 delivered=1 failed=0 revoked=1 rate=50.0%",
			} {
				if got := platformRow(body, "platform-kpis-"+key); got != want {
					t.Errorf("panel %s, %s: %q, want %q", path, key, got, want)
				}
			}
			if platformRow(body, "platform-kpis-apple_music") != "" || platformRow(body, "platform-kpis-tidal") != "" {
				t.Errorf("panel %s: a row for a platform without pre-saves on this link", path)
			}
			if strings.Index(body, `platform-kpis-spotify"`) > strings.Index(body, `platform-kpis-deezer"`) {
				t.Errorf("panel %s: platforms not in the landing page's order", path)
			}
			wantKPIs(t, body, 2, 2, 1, 1)
		}

		// The link's Insights: the 30 days' pre-saves; 8 visitors.
		_, body := admin.Get(fmt.Sprintf("/admin/links/%d/insights", l.ID))
		for key, want := range map[string]string{
			"spotify":     "presaves=3 delivered=1 pending=1 failed=1 revoked=0 signups=0 clicks=1 conversion=37.5%",
			"deezer":      "presaves=2 delivered=1 pending=0 failed=0 revoked=1 signups=1 clicks=0 conversion=37.5%",
			"apple_music": "presaves=0 delivered=0 pending=0 failed=0 revoked=0 signups=1 clicks=0 conversion=12.5%",
		} {
			if got := platformRow(body, "platform-row-"+key); got != want {
				t.Errorf("link insights, %s: %q, want %q", key, got, want)
			}
		}
		if platformRow(body, "platform-row-tidal") != "" {
			t.Error("link insights: the other link's TIDAL pre-save is counted")
		}
		// 37.5 + 37.5 + 12.5 = the total conversion.
		if got := kpis(t, body); !strings.Contains(got, "conversion=87.5%") {
			t.Errorf("total conversion: %s", got)
		}
		for _, want := range []string{`<title>Spotify: 3 pre-saves</title>`, `<title>Deezer: 2 pre-saves</title>`} {
			if !strings.Contains(body, want) {
				t.Errorf("the per-platform chart lacks %s", want)
			}
		}
		if strings.Contains(body, `<title>Apple Music: 0 pre-saves</title>`) {
			t.Error("the chart has a bar for a platform without pre-saves")
		}

		// 90 days include the old Deezer pre-save.
		_, body = admin.Get(fmt.Sprintf("/admin/links/%d/insights?days=90", l.ID))
		if got := platformRow(body, "platform-row-deezer"); !strings.HasPrefix(got, "presaves=3 delivered=1 pending=1 ") {
			t.Errorf("90 days, deezer: %q", got)
		}

		// The workspace: both links.
		_, body = admin.Get("/admin/insights")
		if got := platformRow(body, "platform-row-tidal"); got != "presaves=1 delivered=0 pending=1 failed=0 revoked=0 signups=0 clicks=0 conversion=12.5%" {
			t.Errorf("workspace, tidal: %q", got)
		}
		if got := platformRow(body, "platform-row-spotify"); !strings.HasPrefix(got, "presaves=3 ") {
			t.Errorf("workspace, spotify: %q", got)
		}

		// Another workspace sees none of it.
		stranger := app.CreateOwner("other@example.com", "Other Label")
		sc := app.NewClient()
		sc.Login(stranger)
		_, body = sc.Get("/admin/insights")
		if !strings.Contains(body, `data-testid="platforms-empty"`) || platformRow(body, "platform-row-spotify") != "" {
			t.Error("a stranger's workspace shows someone's platforms")
		}
	})
}
