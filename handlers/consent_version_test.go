package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/presave"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// The consent record names the words beside the button the fan pressed: a
// fan who pressed "Pre-save" on the countdown and finished Spotify's consent
// screen after the release agreed to the pre-save sentence, not the smart
// link's Save sentence; a Save pressed on the smart link records Save's; a
// made-up version in the form counts as the page shown now.
func TestConsentRecordsTheWordingTheFanSaw(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			app := testapp.New(t, testapp.Options{Spotify: true, Postgres: pg})
			ctx := context.Background()
			o := app.CreateOwner("artist@example.com", "Label")
			l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(time.Minute))
			l.SourceKind, l.SourceValue = models.SourceSpotifyTrack, "spotify:track:"+slTrack
			if err := store.UpdateLink(ctx, app.DB, l); err != nil {
				t.Fatal(err)
			}
			app.Spotify.AddTrack(spotifytest.Track{ID: slTrack, Name: "Night Drive", Artist: "Mara Lune", ISRC: slISRC})
			shown := regexp.MustCompile(`name="consent_version" value="([^"]+)"`)
			version := func(page string) string {
				t.Helper()
				m := shown.FindStringSubmatch(page)
				if m == nil {
					t.Fatalf("the page's form names no consent version:\n%s", page)
				}
				return m[1]
			}
			presaveAs := func(user, v string) *models.Presave {
				t.Helper()
				app.Spotify.AddUser(spotifytest.User{ID: user, DisplayName: user})
				app.Spotify.SetCurrentUser(user)
				c := app.NewClient()
				k := startConsentForm(t, app, c, "night-drive", url.Values{"consent_version": {v}})
				return finishAs(t, app, c, k, user)
			}

			// Alex opens the countdown and presses Pre-save a few seconds before the release ...
			_, page := app.NewClient().Get("/night-drive")
			if v := version(page); v != presave.ConsentVersion {
				t.Fatalf("the countdown's form names %q", v)
			}
			app.Spotify.AddUser(spotifytest.User{ID: "alex", DisplayName: "Alex"})
			app.Spotify.SetCurrentUser("alex")
			c := app.NewClient()
			k := startConsentForm(t, app, c, "night-drive", url.Values{"consent_version": {presave.ConsentVersion}})
			// ... and finishes on Spotify after it.
			app.Clock.Advance(2 * time.Minute)
			if _, err := app.Release.Resolver.Check(ctx, l, false); err != nil {
				t.Fatal(err)
			}
			alex := finishAs(t, app, c, k, "alex")
			assertConsent(t, app, alex, presave.ConsentVersion, presave.ConsentText)

			// Robin presses Save on the smart link.
			_, page = app.NewClient().Get("/night-drive")
			if v := version(page); v != presave.SaveConsentVersion {
				t.Fatalf("the smart link's Save form names %q", v)
			}
			assertConsent(t, app, presaveAs("robin", presave.SaveConsentVersion), presave.SaveConsentVersion, presave.SaveConsentText)

			// A version no page shows is the one the page shows now.
			assertConsent(t, app, presaveAs("kim", "presave-v9"), presave.SaveConsentVersion, presave.SaveConsentText)
		})
	}
}

// finishAs follows the callback and returns user's stored pre-save.
func finishAs(t *testing.T, app *testapp.App, c *testapp.Client, k consent, user string) *models.Presave {
	t.Helper()
	k.finish(t, c)
	if k.final.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback for %s: %d\n%s", user, k.final.StatusCode, k.body)
	}
	p := new(models.Presave)
	if err := app.DB.NewSelect().Model(p).Where("platform_user_id = ?", user).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertConsent checks the pre-save's consent version and the stored words it points at.
func assertConsent(t *testing.T, app *testapp.App, p *models.Presave, version, words string) {
	t.Helper()
	if p.ConsentVersion != version || p.ConsentTextID == nil {
		t.Fatalf("%s: consent version %q (text %v), want %q", p.PlatformUserID, p.ConsentVersion, p.ConsentTextID, version)
	}
	texts, err := store.ConsentTexts(context.Background(), app.DB, []int64{*p.ConsentTextID})
	if err != nil {
		t.Fatal(err)
	}
	if got := texts[*p.ConsentTextID].Text; got != words {
		t.Fatalf("%s agreed to %q, want %q", p.PlatformUserID, got, words)
	}
}
