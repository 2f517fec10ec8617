package handlers_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/platform/deezer"
	"github.com/dropday/dropday/internal/platform/deezer/deezertest"
	"github.com/dropday/dropday/internal/presave"
	rel "github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/resolve"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

const (
	deezerUPC     = "123456789012"
	deezerAlbumID = 302127
	deezerAlbum   = "album:302127"
)

// deezerApp starts dropday with Deezer's direct pre-save on the stand-in and
// a live link (source: a UPC) released in three days; the album shows up on
// the stand-in at the release time.
func deezerApp(t *testing.T, pg bool, logs *syncBuffer) (*testapp.App, *testapp.Owner, *models.Link) {
	t.Helper()
	opts := testapp.Options{Deezer: true, DeezerDirect: true, Postgres: pg}
	if logs != nil {
		opts.Log = logs
	}
	app := testapp.New(t, opts)
	o, l := presaveLink(t, app)
	l.SourceKind, l.SourceValue = models.SourceUPC, deezerUPC
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	app.Deezer.AddAlbum(deezertest.Album{ID: deezerAlbumID, Title: "Night Drive", Artist: "Mara Lune", UPC: deezerUPC}, l.ReleaseAt)
	return app, o, l
}

// deezerConsent presses the Deezer pre-save button as the stand-in's user
// and follows the auto-consent back into dropday.
func deezerConsent(t *testing.T, app *testapp.App, user int64, optIn bool) consent {
	t.Helper()
	app.Deezer.SetCurrentUser(user)
	c := app.NewClient()
	form := url.Values{}
	if optIn {
		form.Set("email_opt_in", "1")
	}
	res, _ := c.Do(http.MethodPost, "/night-drive/presave/deezer", form, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("pre-save button: status %d", res.StatusCode)
	}
	authz, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(authz.String(), app.Deezer.URL+"/oauth/auth.php?") {
		t.Fatalf("not sent to Deezer's consent: %q", res.Header.Get("Location"))
	}
	res, err = c.Client.Get(authz.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cb, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(cb.String(), app.URL+"/oauth/deezer/callback") {
		t.Fatalf("consent answered %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	k := consent{authorize: authz, callback: cb}
	k.finish(t, c)
	return k
}

// releaseDay moves the clock to the release, releases the link and runs
// the look-ups that find it on Deezer.
func releaseDay(t *testing.T, app *testapp.App, l *models.Link) {
	t.Helper()
	app.Clock.Advance(l.ReleaseAt.Sub(app.Clock.Now()) + time.Second)
	ctx := context.Background()
	if err := app.Release.Scheduler.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if err := app.Release.Resolver.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	workJobs(t, app, resolve.KindCheck)
}

// workJobs claims and works every due job of kinds once, settling each as
// the runner does (snooze, cancel, retry, complete); it returns what each
// job's handler answered, by job id.
func workJobs(t *testing.T, app *testapp.App, kinds ...string) map[int64]error {
	t.Helper()
	ctx := context.Background()
	q := app.Release.Queue
	js, err := q.Claim(ctx, kinds, 100)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]error{}
	for _, j := range js {
		herr := app.Release.Runner.Handlers[j.Kind](ctx, j)
		out[j.ID] = herr
		var serr error
		switch {
		case herr == nil:
			serr = q.Complete(ctx, j)
		case strings.HasPrefix(herr.Error(), "jobs: snooze for "):
			d, err := time.ParseDuration(strings.TrimPrefix(herr.Error(), "jobs: snooze for "))
			if err != nil {
				t.Fatalf("snooze %q: %v", herr, err)
			}
			serr = q.Snooze(ctx, j, d)
		case isCancel(herr):
			serr = q.Cancel(ctx, j, herr)
		default:
			serr = q.Retry(ctx, j, herr)
		}
		if serr != nil {
			t.Fatal(serr)
		}
	}
	return out
}

// isCancel tells a jobs.Cancel answer (its type is unexported; the
// deliverer returns it unwrapped).
func isCancel(err error) bool {
	return reflect.TypeOf(err) == reflect.TypeOf(jobs.Cancel(errors.New("x")))
}

func onlyPresave(t *testing.T, app *testapp.App) models.Presave {
	t.Helper()
	var ps []models.Presave
	if err := app.DB.NewSelect().Model(&ps).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("%d pre-saves, want 1", len(ps))
	}
	return ps[0]
}

func deliverJob(t *testing.T, app *testapp.App) jobs.Job {
	t.Helper()
	var js []jobs.Job
	if err := app.DB.NewSelect().Model(&js).Where("kind = ?", rel.KindDeliver).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(js) != 1 {
		t.Fatalf("%d delivery jobs, want 1", len(js))
	}
	return js[0]
}

// The whole Deezer pre-save through the router: the button, Deezer's
// consent (perms with email only when ticked, no PKCE), the callback, the
// stored pre-save (consent record, token sealed), and release day saving the
// album into the fan's library on the stand-in. No secret reaches the logs.
func TestDeezerPresaveFlow(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		var logs syncBuffer
		app, _, l := deezerApp(t, pg, &logs)
		_, page := app.NewClient().Get("/night-drive")
		if !strings.Contains(page, `data-testid="presave-deezer"`) || strings.Contains(page, `data-testid="platform-deezer"`) {
			t.Fatal("Deezer is not in direct mode on the landing page")
		}

		k := deezerConsent(t, app, 1001, true)
		q := k.authorize.Query()
		if q.Get("app_id") != app.Deezer.AppID() || q.Get("redirect_uri") != app.URL+"/oauth/deezer/callback" ||
			q.Get("perms") != "basic_access,offline_access,manage_library,email" || q.Get("state") == "" || q.Has("secret") {
			t.Fatalf("authorize query = %v", q)
		}
		if k.final.StatusCode != http.StatusSeeOther || !strings.HasPrefix(k.final.Header.Get("Location"), "/night-drive/presaved?t=") {
			t.Fatalf("callback: %d %q\n%s", k.final.StatusCode, k.final.Header.Get("Location"), k.body)
		}
		p := onlyPresave(t, app)
		if p.Platform != "deezer" || p.LinkID != l.ID || p.PlatformUserID != "1001" || p.DisplayName != "Fan One" ||
			p.Email != "fan1@example.test" || !p.EmailOptIn || p.State != models.PresavePending || p.IP == "" || p.UserAgent == "" ||
			p.ConsentVersion != presave.ConsentVersion || p.ConsentTextID == nil || !p.ConsentedAt.Equal(app.Clock.Now()) ||
			p.Scope != "basic_access offline_access manage_library email" || p.Credential == nil || p.CredentialKeyVersion == nil {
			t.Fatalf("presave row = %+v", p)
		}
		token, err := presave.OpenCredential(app.Vault, p.ID, p.Credential)
		if err != nil || token == "" || bytes.Contains(p.Credential, []byte(token)) {
			t.Fatalf("credential: %v", err)
		}
		dz := deezer.New(deezer.Config{APIURL: app.Deezer.URL})
		if prof, err := dz.Profile(context.Background(), token); err != nil || prof.ID != "1001" {
			t.Fatalf("the stored credential is not the fan's Deezer token: %+v %v", prof, err)
		}
		if count(t, app, "subscribers") != 1 {
			t.Fatal("the fan who ticked the box is not a subscriber")
		}

		// Without the box: no email permission asked.
		app.Deezer.AddUser(deezertest.User{ID: 1002, Name: "Fan Two", Email: "two@example.test"})
		k2 := deezerConsent(t, app, 1002, false)
		if k2.authorize.Query().Get("perms") != "basic_access,offline_access,manage_library" {
			t.Fatalf("perms without the box = %q", k2.authorize.Query().Get("perms"))
		}

		// Before the release the album is not on Deezer: nothing is saved.
		if got := app.Deezer.SavedBy(1001); len(got) != 0 {
			t.Fatalf("saved before the release: %v", got)
		}
		releaseDay(t, app, l)
		workJobs(t, app, rel.KindDeliver)
		for _, u := range []int64{1001, 1002} {
			if got := app.Deezer.SavedBy(u); len(got) != 1 || got[0] != deezerAlbum {
				t.Fatalf("fan %d's Deezer library = %v, want [%s]", u, got, deezerAlbum)
			}
		}
		n, err := store.PresaveCounts(context.Background(), app.DB, l.WorkspaceID, l.ID)
		if err != nil || n[models.PresaveDelivered] != 2 {
			t.Fatalf("counts = %v %v", n, err)
		}

		for what, secret := range map[string]string{
			"app secret": app.Deezer.AppSecret(), "access token": token, "code": k.callback.Query().Get("code"),
			"state": k.callback.Query().Get("state"),
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

// Cancel on Deezer's consent (error_reason=user_denied) stores nothing and
// offers to try again.
func TestDeezerPresaveRefused(t *testing.T) {
	app, _, _ := deezerApp(t, false, nil)
	app.Deezer.SetDenyConsent(true)
	k := deezerConsent(t, app, 1001, true)
	if k.callback.Query().Get("error_reason") != "user_denied" {
		t.Fatalf("the stand-in did not refuse: %v", k.callback)
	}
	if k.final.StatusCode != http.StatusOK || !strings.Contains(k.body, "Nothing was saved") || !strings.Contains(k.body, `data-testid="try-again"`) {
		t.Fatalf("refused consent page: %d\n%s", k.final.StatusCode, k.body)
	}
	if count(t, app, "presaves") != 0 || count(t, app, "subscribers") != 0 {
		t.Fatal("a refused consent stored something")
	}
}

// Without an app id and secret Deezer stays email signup (look-ups still on).
func TestDeezerNotConfiguredStaysEmailSignup(t *testing.T) {
	app := testapp.New(t, testapp.Options{Deezer: true})
	presaveLink(t, app)
	c := app.NewClient()
	_, page := c.Get("/night-drive")
	if strings.Contains(page, `data-testid="presave-deezer"`) || !strings.Contains(page, `data-testid="platform-deezer"`) {
		t.Fatal("unconfigured Deezer is not in email-signup mode")
	}
	if res, _ := c.Do(http.MethodPost, "/night-drive/presave/deezer", url.Values{}, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("pre-save on unconfigured Deezer: %d", res.StatusCode)
	}
	if _, ok := app.Catalogs["deezer"]; !ok {
		t.Fatal("Deezer look-ups are off")
	}
}

// Deezer's errors come inside HTTP 200 and are sorted by code: quota (4)
// snoozes without spending an attempt and then delivers; 300 (token
// invalid) and 200 (permission) fail with "pre-save again"; 800 (not found)
// on the save fails as not found. No secret reaches the logs.
func TestDeezerDeliveryErrorsIn200(t *testing.T) {
	cases := []struct {
		name   string
		inject func(app *testapp.App)
		state  string
		reason string
	}{
		{"quota code 4", func(app *testapp.App) { app.Deezer.FailNextCodeAt(deezertest.EndpointLibrary, 1, deezertest.CodeQuota) },
			models.PresaveDelivered, ""},
		{"token invalid 300", func(app *testapp.App) { app.Deezer.RevokeUser(1001) },
			models.PresaveFailed, "the fan must pre-save again"},
		{"permission 200", func(app *testapp.App) { app.Deezer.DropPermission(1001, deezer.PermLibrary) },
			models.PresaveFailed, "the fan must pre-save again"},
		{"not found 800", func(app *testapp.App) {
			app.Deezer.FailNextCodeAt(deezertest.EndpointLibrary, 1, deezertest.CodeNotFound)
		},
			models.PresaveFailed, "not found on Deezer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			app, _, l := deezerApp(t, false, &logs)
			k := deezerConsent(t, app, 1001, false)
			if k.final.StatusCode != http.StatusSeeOther {
				t.Fatalf("consent: %d", k.final.StatusCode)
			}
			token, err := presave.OpenCredential(app.Vault, onlyPresave(t, app).ID, onlyPresave(t, app).Credential)
			if err != nil {
				t.Fatal(err)
			}
			releaseDay(t, app, l)
			tc.inject(app)
			answers := workJobs(t, app, rel.KindDeliver)

			if tc.name == "quota code 4" {
				j := deliverJob(t, app)
				p := onlyPresave(t, app)
				if j.State != jobs.StateAvailable || j.Attempt != 0 || p.State != models.PresavePending || len(app.Deezer.SavedBy(1001)) != 0 {
					t.Fatalf("after the quota answer: job %s attempt %d, presave %s", j.State, j.Attempt, p.State)
				}
				if !j.RunAt.After(app.Clock.Now()) {
					t.Fatalf("snoozed job runs at %v, not after now %v", j.RunAt, app.Clock.Now())
				}
				// Not before the wait is over: the job is not due.
				if got := workJobs(t, app, rel.KindDeliver); len(got) != 0 {
					t.Fatalf("worked %d jobs during the quota pause", len(got))
				}
				app.Clock.Advance(j.RunAt.Sub(app.Clock.Now()))
				workJobs(t, app, rel.KindDeliver)
				if got := app.Deezer.SavedBy(1001); len(got) != 1 || got[0] != deezerAlbum {
					t.Fatalf("library after the pause = %v", got)
				}
				if j := deliverJob(t, app); j.State != jobs.StateCompleted || j.Attempt != 1 {
					t.Fatalf("job after delivery: %s attempt %d, want completed after 1 attempt", j.State, j.Attempt)
				}
			}
			p := onlyPresave(t, app)
			if p.State != tc.state || !strings.Contains(p.LastError, tc.reason) {
				t.Fatalf("presave %s %q, want %s with %q", p.State, p.LastError, tc.state, tc.reason)
			}
			if tc.state == models.PresaveFailed {
				if p.Credential != nil {
					t.Fatal("a failed pre-save kept its credential")
				}
				if len(app.Deezer.SavedBy(1001)) != 0 {
					t.Fatal("saved despite the error")
				}
			}
			// The runner logs what a job answered ("job not completed", err): it must not hold a secret either.
			for what, secret := range map[string]string{"app secret": app.Deezer.AppSecret(), "access token": token} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("the %s is in the logs", what)
				}
				for _, err := range answers {
					if err != nil && strings.Contains(err.Error(), secret) {
						t.Errorf("the %s is in the job's error %q", what, err)
					}
				}
			}
		})
	}
}

// A release Deezer does not list yet (its look-up answers 800) makes the
// delivery wait without spending an attempt; once a later look-up finds
// it, the save goes out.
func TestDeezerDeliveryWaitsUntilFound(t *testing.T) {
	app, _, l := deezerApp(t, false, nil)
	app.Deezer.AddAlbum(deezertest.Album{ID: deezerAlbumID, Title: "Night Drive", Artist: "Mara Lune", UPC: deezerUPC}, l.ReleaseAt.Add(90*time.Minute))
	if k := deezerConsent(t, app, 1001, false); k.final.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent: %d", k.final.StatusCode)
	}
	releaseDay(t, app, l)
	workJobs(t, app, rel.KindDeliver)
	j, p := deliverJob(t, app), onlyPresave(t, app)
	if j.State != jobs.StateAvailable || j.Attempt != 0 || !j.RunAt.After(app.Clock.Now()) || p.State != models.PresavePending {
		t.Fatalf("not found yet: job %s attempt %d at %v, presave %s %q", j.State, j.Attempt, j.RunAt, p.State, p.LastError)
	}
	// T+2h: the look-up finds it (Deezer lists it from T+1h30), the delivery saves it.
	app.Clock.Set(l.ReleaseAt.Add(2 * time.Hour))
	if err := app.Release.Resolver.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	workJobs(t, app, resolve.KindCheck)
	workJobs(t, app, rel.KindDeliver)
	if got := app.Deezer.SavedBy(1001); len(got) != 1 || got[0] != deezerAlbum {
		t.Fatalf("library = %v", got)
	}
	if p := onlyPresave(t, app); p.State != models.PresaveDelivered {
		t.Fatalf("presave %s %q", p.State, p.LastError)
	}
}
