package handlers_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/platform/spotify"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/presave"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// consent is one walk through the fan's consent: what each step returned.
type consent struct {
	authorize *url.URL // where dropday sent the fan
	callback  *url.URL // where the platform sent the fan back
	final     *http.Response
	body      string
}

// startConsent presses the pre-save button and follows the stand-in's auto-consent
// up to (not into) dropday's callback.
func startConsent(t *testing.T, app *testapp.App, c *testapp.Client, slug string, optIn bool) consent {
	t.Helper()
	form := url.Values{}
	if optIn {
		form.Set("email_opt_in", "1")
	}
	return startConsentForm(t, app, c, slug, form)
}

// startConsentForm is startConsent with the form the page's button posts.
func startConsentForm(t *testing.T, app *testapp.App, c *testapp.Client, slug string, form url.Values) consent {
	t.Helper()
	res, _ := c.Do(http.MethodPost, "/"+slug+"/presave/spotify", form, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("pre-save button: status %d", res.StatusCode)
	}
	authz, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(authz.String(), app.Spotify.URL+"/authorize") {
		t.Fatalf("not sent to the consent screen: %q", res.Header.Get("Location"))
	}
	res, err = c.Client.Get(authz.String()) // the stand-in consents at once and redirects back
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cb, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(cb.String(), app.URL+"/oauth/spotify/callback") {
		t.Fatalf("consent screen answered %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	return consent{authorize: authz, callback: cb}
}

// finish follows the callback into dropday.
func (k *consent) finish(t *testing.T, c *testapp.Client) {
	t.Helper()
	k.final, k.body = c.Get(k.callback.RequestURI())
}

func presaveLink(t *testing.T, app *testapp.App) (*testapp.Owner, *models.Link) {
	t.Helper()
	o := app.CreateOwner("artist@example.com", "Mara Lune")
	return &o, app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
}

func count(t *testing.T, app *testapp.App, table string) int { t.Helper(); return app.CountRows(table) }

func TestSpotifyPresaveFlow(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name, func(t *testing.T) {
			var logs syncBuffer
			app := testapp.New(t, testapp.Options{Spotify: true, Postgres: pg, Log: &logs})
			_, l := presaveLink(t, app)
			c := app.NewClient()

			_, page := c.Get("/night-drive")
			if !strings.Contains(page, `data-testid="presave-spotify"`) || strings.Contains(page, `data-testid="platform-spotify"`) {
				t.Fatal("Spotify is not in direct mode on the landing page")
			}
			if !strings.Contains(page, `name="email_opt_in" value="1" checked`) {
				t.Fatal(`"also email me" is not ticked by default`)
			}

			k := startConsent(t, app, c, "night-drive", true)
			q := k.authorize.Query()
			if q.Get("scope") != "user-library-modify user-read-email" || q.Get("code_challenge_method") != "S256" ||
				q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("redirect_uri") != app.URL+"/oauth/spotify/callback" {
				t.Fatalf("authorize query = %v", q)
			}
			k.finish(t, c)
			if k.final.StatusCode != http.StatusSeeOther || !strings.HasPrefix(k.final.Header.Get("Location"), "/night-drive/presaved?t=") {
				t.Fatalf("callback: %d %q\n%s", k.final.StatusCode, k.final.Header.Get("Location"), k.body)
			}
			revoke := strings.TrimPrefix(k.final.Header.Get("Location"), "/night-drive/presaved?t=")
			res, body := c.Get(k.final.Header.Get("Location"))
			if res.StatusCode != 200 || !strings.Contains(body, `data-testid="presave-done"`) || !strings.Contains(body, "/revoke/"+revoke) ||
				res.Header.Get("Referrer-Policy") != "no-referrer" || res.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("confirmation: %d\n%s", res.StatusCode, body)
			}
			if strings.Contains(body, `data-testid="need-email"`) {
				t.Fatal("asked for an email Spotify gave")
			}

			// The record: consent, minimal scope, sealed credential, subscriber with the box ticked.
			var p models.Presave
			if err := app.DB.NewSelect().Model(&p).Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			if p.LinkID != l.ID || p.State != models.PresavePending || p.PlatformUserID == "" || p.Email == "" || !p.EmailOptIn ||
				p.IP == "" || p.UserAgent == "" || p.ConsentVersion != presave.ConsentVersion || !p.ConsentedAt.Equal(app.Clock.Now()) ||
				p.Scope != "user-library-modify user-read-email" || p.Credential == nil || p.CredentialKeyVersion == nil {
				t.Fatalf("presave row = %+v", p)
			}
			refresh, err := presave.OpenCredential(app.Vault, p.ID, p.Credential)
			if err != nil || refresh == "" || bytes.Contains(p.Credential, []byte(refresh)) {
				t.Fatalf("credential: %v (plaintext stored: %v)", err, bytes.Contains(p.Credential, []byte(refresh)))
			}
			sp := spotify.New(spotify.Config{ClientID: app.Spotify.ClientID(), ClientSecret: app.Spotify.ClientSecret(),
				AccountsURL: app.Spotify.URL, APIURL: app.Spotify.URL})
			if _, err := sp.Refresh(context.Background(), refresh); err != nil {
				t.Fatalf("the stored credential is not the fan's refresh token: %v", err)
			}
			if tr := app.Spotify.TokenRequests(); len(tr) == 0 || tr[0].PKCE != "ok" || tr[0].AuthMethod != "basic" {
				t.Fatalf("token requests = %+v", tr)
			}
			if count(t, app, "subscribers") != 1 || count(t, app, "signups") != 1 {
				t.Fatal("the fan who ticked the box is not a subscriber")
			}

			// Pre-saving again is one pre-save with fresh consent; the old undo link dies.
			app.Clock.Advance(time.Hour)
			k2 := startConsent(t, app, c, "night-drive", true)
			k2.finish(t, c)
			if count(t, app, "presaves") != 1 || count(t, app, "subscribers") != 1 {
				t.Fatalf("second pre-save: presaves %d", count(t, app, "presaves"))
			}
			if res, _ := c.Get("/revoke/" + revoke); res.StatusCode != http.StatusNotFound {
				t.Fatalf("old undo link still works: %d", res.StatusCode)
			}
			revoke = strings.TrimPrefix(k2.final.Header.Get("Location"), "/night-drive/presaved?t=")

			// No secret reaches the logs.
			for what, secret := range map[string]string{
				"code": k.callback.Query().Get("code"), "state": k.callback.Query().Get("state"),
				"revoke token": revoke, "refresh token": refresh, "client secret": app.Spotify.ClientSecret(),
				"verifier challenge": q.Get("code_challenge"),
			} {
				if secret == "" || strings.Contains(logs.String(), secret) {
					t.Errorf("the %s is in the logs (or empty)", what)
				}
			}
			if !strings.Contains(logs.String(), "pre-save recorded") {
				t.Fatal("logs were not captured")
			}
		})
	}
}

func TestSpotifyPresaveWithoutEmail(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true})
	presaveLink(t, app)
	c := app.NewClient()
	k := startConsent(t, app, c, "night-drive", false)
	if got := k.authorize.Query().Get("scope"); got != "user-library-modify" {
		t.Fatalf("scope without the box = %q", got)
	}
	k.finish(t, c)
	if k.final.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d", k.final.StatusCode)
	}
	var p models.Presave
	if err := app.DB.NewSelect().Model(&p).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.Email != "" || p.EmailOptIn || p.Scope != "user-library-modify" || count(t, app, "subscribers") != 0 {
		t.Fatalf("unticked box: presave %+v, subscribers %d", p, count(t, app, "subscribers"))
	}

	// Ticked, but a development-mode app gets no email: the confirmation asks for it.
	app.Spotify.SetDevMode(true)
	c2 := app.NewClient()
	app.Spotify.AddUser(spotifytest.User{ID: "fan2", DisplayName: "Fan Two", Email: "two@example.com"})
	app.Spotify.SetCurrentUser("fan2")
	k = startConsent(t, app, c2, "night-drive", true)
	k.finish(t, c2)
	_, body := c2.Get(k.final.Header.Get("Location"))
	if !strings.Contains(body, `data-testid="need-email"`) || count(t, app, "subscribers") != 0 {
		t.Fatalf("no email from Spotify: the confirmation does not ask for it")
	}
}

func TestSpotifyPresaveBadStates(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true})
	presaveLink(t, app)

	bad := func(name string, do func(c *testapp.Client) (*http.Response, string)) {
		t.Helper()
		res, body := do(app.NewClient())
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or was already used") {
			t.Errorf("%s: status %d, want 400", name, res.StatusCode)
		}
		if n := count(t, app, "presaves"); n != 0 {
			t.Fatalf("%s stored a pre-save", name)
		}
	}
	bad("missing state", func(c *testapp.Client) (*http.Response, string) {
		k := startConsent(t, app, c, "night-drive", true)
		q := k.callback.Query()
		q.Del("state")
		return c.Get("/oauth/spotify/callback?" + q.Encode())
	})
	bad("wrong state", func(c *testapp.Client) (*http.Response, string) {
		k := startConsent(t, app, c, "night-drive", true)
		q := k.callback.Query()
		q.Set("state", "forged-state")
		return c.Get("/oauth/spotify/callback?" + q.Encode())
	})
	bad("another browser's state", func(c *testapp.Client) (*http.Response, string) {
		k := startConsent(t, app, c, "night-drive", true)
		return app.NewClient().Get(k.callback.RequestURI()) // no state cookie
	})
	bad("expired state", func(c *testapp.Client) (*http.Response, string) {
		k := startConsent(t, app, c, "night-drive", true)
		app.Clock.Advance(presave.StateTTL + time.Second)
		defer app.Clock.Advance(-(presave.StateTTL + time.Second))
		return c.Get(k.callback.RequestURI())
	})

	// Replayed: the first use works, the second is refused and changes nothing.
	c := app.NewClient()
	k := startConsent(t, app, c, "night-drive", true)
	k.finish(t, c)
	if k.final.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use: %d", k.final.StatusCode)
	}
	res, _ := c.Do(http.MethodGet, k.callback.RequestURI(), nil, http.Header{"Cookie": {"dropday_oauth=" + k.callback.Query().Get("state")}})
	if res.StatusCode != http.StatusBadRequest || count(t, app, "presaves") != 1 {
		t.Fatalf("replayed callback: %d, presaves %d", res.StatusCode, count(t, app, "presaves"))
	}
}

func TestSpotifyPresaveRefused(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true})
	presaveLink(t, app)
	app.Spotify.SetDenyConsent(true)
	c := app.NewClient()
	k := startConsent(t, app, c, "night-drive", true)
	if k.callback.Query().Get("error") != "access_denied" {
		t.Fatalf("stand-in did not refuse: %v", k.callback)
	}
	k.finish(t, c)
	if k.final.StatusCode != http.StatusOK || !strings.Contains(k.body, "Nothing was saved") ||
		!strings.Contains(k.body, `data-testid="try-again"`) || !strings.Contains(k.body, "Get an email instead") {
		t.Fatalf("refused consent page: %d\n%s", k.final.StatusCode, k.body)
	}
	if count(t, app, "presaves") != 0 || count(t, app, "subscribers") != 0 {
		t.Fatal("a refused consent stored something")
	}
}

func TestSpotifyNotConfiguredStaysEmailSignup(t *testing.T) {
	app := testapp.New(t)
	presaveLink(t, app)
	c := app.NewClient()
	_, page := c.Get("/night-drive")
	if strings.Contains(page, `data-testid="presave-spotify"`) || !strings.Contains(page, `data-testid="platform-spotify"`) {
		t.Fatal("unconfigured Spotify is not in email-signup mode")
	}
	if res, _ := c.Do(http.MethodPost, "/night-drive/presave/spotify", url.Values{}, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("pre-save on an unconfigured platform: %d", res.StatusCode)
	}
}

func TestRevoke(t *testing.T) {
	app := testapp.New(t, testapp.Options{Spotify: true})
	presaveLink(t, app)
	c := app.NewClient()
	k := startConsent(t, app, c, "night-drive", false)
	k.finish(t, c)
	token := strings.TrimPrefix(k.final.Header.Get("Location"), "/night-drive/presaved?t=")

	stored := func() models.Presave {
		var p models.Presave
		if err := app.DB.NewSelect().Model(&p).Scan(context.Background()); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fan := app.NewClient() // the undo link works from any browser: the token is the proof
	res, body := fan.Get("/revoke/" + token)
	if res.StatusCode != 200 || !strings.Contains(body, `data-testid="revoke-submit"`) {
		t.Fatalf("revoke page: %d", res.StatusCode)
	}
	if p := stored(); p.State != models.PresavePending || p.Credential == nil {
		t.Fatal("GET changed the pre-save")
	}
	if res, _ := fan.Do(http.MethodPost, "/revoke/"+token, url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site revoke: %d", res.StatusCode)
	}
	res, body = fan.Do(http.MethodPost, "/revoke/"+token, url.Values{}, nil)
	if res.StatusCode != 200 || !strings.Contains(body, `data-testid="revoke-done"`) || !strings.Contains(body, "spotify.com/account/apps") {
		t.Fatalf("revoke: %d\n%s", res.StatusCode, body)
	}
	p := stored()
	if p.State != models.PresaveRevoked || p.Credential != nil || p.CredentialKeyVersion != nil || p.RevokedAt == nil {
		t.Fatalf("after revoke: %+v", p)
	}
	res, body = fan.Do(http.MethodPost, "/revoke/"+token, url.Values{}, nil)
	if res.StatusCode != 200 || !strings.Contains(body, `data-testid="revoke-already"`) {
		t.Fatalf("second revoke: %d", res.StatusCode)
	}
	if q := stored(); q.UpdatedAt != p.UpdatedAt || !q.RevokedAt.Equal(*p.RevokedAt) {
		t.Fatal("the second revoke changed the row")
	}
	for _, path := range []string{"/revoke/wrong-token", "/night-drive/presaved?t=wrong", "/other-slug/presaved?t=" + token} {
		if res, body := fan.Get(path); res.StatusCode != http.StatusNotFound || !strings.Contains(body, "not valid") && !strings.Contains(body, "no release page") {
			t.Errorf("GET %s: %d", path, res.StatusCode)
		}
	}
	if res, _ := fan.Do(http.MethodPost, "/revoke/wrong-token", url.Values{}, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("POST wrong token: %d", res.StatusCode)
	}
}
