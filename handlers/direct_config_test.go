package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// directPlatformConfigs are the platforms whose direct pre-save is turned on
// by configuration alone. A platform joins with one row: its key and what
// configures it in testapp.Options (the stand-in and its credentials).
var directPlatformConfigs = []struct {
	key       string
	configure func(o *testapp.Options)
}{
	{"tidal", func(o *testapp.Options) { o.Tidal = true }},
}

// Configuring a platform with links already live: after the restart, their
// landing pages (a real GET) show it in direct mode, and its pre-save button
// leads to the platform's consent, without any edit to the links.
func TestConfiguringPlatformMakesLiveLinksDirect(t *testing.T) {
	for _, pc := range directPlatformConfigs {
		for _, pg := range []bool{false, true} {
			t.Run(pc.key+"/"+map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
				before := testapp.New(t, testapp.Options{Postgres: pg})
				o := before.CreateOwner("artist@example.com", "Mara Lune")
				slugs := []string{"night-drive", "first-light"}
				for _, slug := range slugs {
					l := before.Link(o.Workspace.ID, slug, models.LinkLive, before.Clock.Now().Add(48*time.Hour))
					if slug == "night-drive" {
						l.SourceKind, l.SourceValue = models.SourceISRC, "USRC17607839"
						l.UpdatedAt = l.UpdatedAt.Add(time.Second)
						if err := directUpdateLink(before, l); err != nil {
							t.Fatal(err)
						}
					}
				}
				c := before.NewClient()
				for _, slug := range slugs {
					res, page := c.Get("/" + slug)
					if res.StatusCode != http.StatusOK || !strings.Contains(page, `data-testid="platform-`+pc.key+`"`) ||
						strings.Contains(page, `data-testid="presave-`+pc.key+`"`) {
						t.Fatalf("%s before configuring %s: %d, not in email mode", slug, pc.key, res.StatusCode)
					}
				}
				links := directLinkRows(t, before)

				opts := testapp.Options{Beside: before}
				pc.configure(&opts)
				after := testapp.New(t, opts)
				c = after.NewClient()
				for _, slug := range slugs {
					res, page := c.Get("/" + slug)
					if res.StatusCode != http.StatusOK || !strings.Contains(page, `data-testid="presave-`+pc.key+`"`) ||
						strings.Contains(page, `data-testid="platform-`+pc.key+`"`) {
						t.Fatalf("%s after configuring %s: %d, not in direct mode", slug, pc.key, res.StatusCode)
					}
					res, _ = c.Do(http.MethodPost, "/"+slug+"/presave/"+pc.key, nil, nil)
					if res.StatusCode != http.StatusSeeOther || strings.HasPrefix(res.Header.Get("Location"), "/") {
						t.Fatalf("%s: the %s button does not lead to the platform's consent: %d %q", slug, pc.key, res.StatusCode, res.Header.Get("Location"))
					}
				}
				if got := directLinkRows(t, after); got != links {
					t.Fatalf("links changed:\n%s\nwas\n%s", got, links)
				}
			})
		}
	}
}

func directUpdateLink(app *testapp.App, l *models.Link) error {
	_, err := app.DB.NewUpdate().Model(l).WherePK().Exec(context.Background())
	return err
}

// directLinkRows is every link's slug, state and updated_at, to see nothing edited them.
func directLinkRows(t *testing.T, app *testapp.App) string {
	t.Helper()
	var ls []models.Link
	if err := app.DB.NewSelect().Model(&ls).Order("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.Slug + " " + l.State + " " + l.SourceKind + " " + l.UpdatedAt.UTC().Format(time.RFC3339Nano) + "\n")
	}
	return b.String()
}
