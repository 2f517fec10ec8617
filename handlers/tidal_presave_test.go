package handlers_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/platform/standin"
	"github.com/dropday/dropday/internal/platform/tidal/tidaltest"
	"github.com/dropday/dropday/internal/presave"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// TIDAL's pre-save through the real router, the real release engine and the
// TIDAL stand-in (OAuth 2.1 with PKCE, JSON:API collections).

const (
	tidalISRC    = "USRC17607839"
	tidalTrackID = "75413016"
	tidalItem    = "tracks:" + tidalTrackID
)

// tidalFixture is a running app with TIDAL configured and a live link whose
// release (by ISRC) TIDAL lists from its release time.
func tidalFixture(t *testing.T, opts testapp.Options) (*testapp.App, *models.Link) {
	t.Helper()
	opts.Tidal = true
	app := testapp.New(t, opts)
	o := app.CreateOwner("artist@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
	l.SourceKind, l.SourceValue = models.SourceISRC, tidalISRC
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	app.Tidal.AddTrack(tidaltest.Track{ID: tidalTrackID, Title: "Night Drive", Artist: "Mara Lune", ISRC: tidalISRC}, l.ReleaseAt)
	return app, l
}

// tidalConsent presses the landing page's TIDAL button and follows the
// stand-in's auto-consent back into dropday's callback. It returns the
// authorize URL dropday sent the fan to, the callback URL, and dropday's answer.
func tidalConsent(t *testing.T, app *testapp.App, c *testapp.Client, optIn bool) (authz, cb *url.URL, final *http.Response, body string) {
	t.Helper()
	form := url.Values{}
	if optIn {
		form.Set("email_opt_in", "1")
	}
	res, _ := c.Do(http.MethodPost, "/night-drive/presave/tidal", form, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("TIDAL pre-save button: status %d", res.StatusCode)
	}
	authz, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(authz.String(), app.Tidal.URL+"/authorize?") {
		t.Fatalf("not sent to TIDAL's login: %q", res.Header.Get("Location"))
	}
	res, err = c.Client.Get(authz.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cb, err = url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(cb.String(), app.URL+"/oauth/tidal/callback?") {
		t.Fatalf("TIDAL's login answered %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	final, body = c.Get(cb.RequestURI())
	return authz, cb, final, body
}

// tidalPresave is one fan's completed pre-save as stand-in user id.
func tidalPresave(t *testing.T, app *testapp.App, user string) *models.Presave {
	t.Helper()
	app.Tidal.AddUser(tidaltest.User{ID: user, Username: "fan " + user, Email: user + "@example.com"})
	app.Tidal.SetCurrentUser(user)
	_, _, res, body := tidalConsent(t, app, app.NewClient(), false)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/night-drive/presaved?t=") {
		t.Fatalf("callback: %d %q\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
	var p models.Presave
	if err := app.DB.NewSelect().Model(&p).Where("platform = 'tidal' AND platform_user_id = ?", user).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &p
}

func tidalReload(t *testing.T, app *testapp.App, id int64) *models.Presave {
	t.Helper()
	p, err := store.PresaveByID(context.Background(), app.DB, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tidalWait polls (the engine runs on its own goroutines) until cond holds.
func tidalWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// tidalReleaseDay moves the clock to the release, releases the link and
// waits until the release look-up found it on TIDAL; then it moves past the
// wait of any delivery that ran before the look-up, so every delivery is due.
func tidalReleaseDay(t *testing.T, app *testapp.App, l *models.Link) {
	t.Helper()
	app.Clock.Set(l.ReleaseAt)
	if err := app.Release.Scheduler.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := app.Release.Resolver.Tick(context.Background()); err != nil { // enqueues the look-up
		t.Fatal(err)
	}
	app.Release.Runner.Notify()
	tidalWait(t, "the release look-up to find it on TIDAL", func() bool {
		lp, err := store.LinkPlatform(context.Background(), app.DB, l.ID, "tidal")
		return err == nil && lp.FoundAt != nil && len(lp.Items) == 1 && lp.Items[0] == tidalItem
	})
	app.Clock.Advance(app.Config.ResolveInterval + 5*time.Minute)
	app.Release.Runner.Notify()
}

func tidalWaitState(t *testing.T, app *testapp.App, id int64, state string) *models.Presave {
	t.Helper()
	var p *models.Presave
	tidalWait(t, "pre-save "+state, func() bool { p = tidalReload(t, app, id); return p.State == state })
	return p
}

// tidalNoSecrets fails when the client secret or any token the stand-in
// issued is in the captured logs.
func tidalNoSecrets(t *testing.T, app *testapp.App, logs *syncBuffer) {
	t.Helper()
	if logs.Len() == 0 {
		t.Fatal("no logs captured")
	}
	for _, s := range append(app.Tidal.IssuedTokens(), app.Tidal.ClientSecret()) {
		if s == "" || strings.Contains(logs.String(), s) {
			t.Errorf("a secret (%d chars) is in the logs", len(s))
		}
	}
}

func TestTidalPresaveFlow(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			var logs syncBuffer
			app, l := tidalFixture(t, testapp.Options{Postgres: pg, Log: &logs, Deliver: true})
			c := app.NewClient()
			_, page := c.Get("/night-drive")
			if !strings.Contains(page, `data-testid="presave-tidal"`) || strings.Contains(page, `data-testid="platform-tidal"`) {
				t.Fatal("TIDAL is not in direct mode on the landing page")
			}
			authz, cb, res, body := tidalConsent(t, app, c, true)
			q := authz.Query()
			if q.Get("scope") != "collection.write user.read" || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
				q.Get("response_type") != "code" || q.Get("client_id") != app.Tidal.ClientID() || q.Get("state") == "" ||
				q.Get("redirect_uri") != app.URL+"/oauth/tidal/callback" {
				t.Fatalf("authorize query = %v", q)
			}
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/night-drive/presaved?t=") {
				t.Fatalf("callback: %d %q\n%s", res.StatusCode, res.Header.Get("Location"), body)
			}
			res, body = c.Get(res.Header.Get("Location"))
			if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="presave-done"`) || !strings.Contains(body, "TIDAL") {
				t.Fatalf("confirmation: %d\n%s", res.StatusCode, body)
			}
			// The stand-in checked the PKCE verifier against the S256 challenge.
			if tr := app.Tidal.TokenRequests(); len(tr) != 1 || tr[0].GrantType != "authorization_code" || tr[0].PKCE != "ok" || tr[0].Status != 200 {
				t.Fatalf("token requests = %+v", tr)
			}
			var p models.Presave
			if err := app.DB.NewSelect().Model(&p).Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			if p.LinkID != l.ID || p.Platform != "tidal" || p.PlatformUserID != "fan1" || p.Email != "fan1@example.test" || !p.EmailOptIn ||
				p.State != models.PresavePending || p.Scope != "collection.write user.read" || p.Credential == nil || p.ConsentVersion != presave.ConsentVersion {
				t.Fatalf("presave row = %+v", p)
			}
			refresh, err := presave.OpenCredential(app.Vault, p.ID, p.Credential)
			if err != nil || refresh == "" || bytes.Contains(p.Credential, []byte(refresh)) {
				t.Fatalf("credential: %v", err)
			}
			if count(t, app, "subscribers") != 1 {
				t.Fatal("the fan who ticked the box is not a subscriber")
			}
			// The code was single-use: the same callback again changes nothing.
			if res, _ := c.Get(cb.RequestURI()); res.StatusCode != http.StatusBadRequest || count(t, app, "presaves") != 1 {
				t.Fatalf("replayed callback: %d", res.StatusCode)
			}

			// Release day: the save lands in the fan's TIDAL collection.
			tidalReleaseDay(t, app, l)
			got := tidalWaitState(t, app, p.ID, models.PresaveDelivered)
			if got.Credential != nil || got.DeliveredAt == nil {
				t.Fatalf("after delivery: %+v", got)
			}
			if coll := app.Tidal.Collection("fan1"); len(coll) != 1 || coll[0].Item != tidalItem || app.Tidal.Adds() != 1 {
				t.Fatalf("collection = %+v, adds %d", coll, app.Tidal.Adds())
			}

			// No secret reaches the logs.
			secrets := map[string]string{"client secret": app.Tidal.ClientSecret(), "code": cb.Query().Get("code"),
				"state": cb.Query().Get("state"), "refresh token": refresh, "challenge": q.Get("code_challenge")}
			for i, tok := range app.Tidal.IssuedTokens() {
				secrets["token "+string(rune('a'+i))] = tok
			}
			for what, s := range secrets {
				if s == "" || strings.Contains(logs.String(), s) {
					t.Errorf("the %s is in the logs (or empty)", what)
				}
			}
			if !strings.Contains(logs.String(), "pre-save recorded") {
				t.Fatal("logs were not captured")
			}
		})
	}
}

func TestTidalPresaveRefused(t *testing.T) {
	app, _ := tidalFixture(t, testapp.Options{})
	app.Tidal.DenyConsent(true)
	c := app.NewClient()
	_, cb, res, body := tidalConsent(t, app, c, true)
	if cb.Query().Get("error") != "access_denied" || res.StatusCode != http.StatusOK || !strings.Contains(body, "Nothing was saved") ||
		!strings.Contains(body, "access to TIDAL") {
		t.Fatalf("refused consent: %d\n%s", res.StatusCode, body)
	}
	if count(t, app, "presaves") != 0 || count(t, app, "subscribers") != 0 || len(app.Tidal.TokenRequests()) != 0 {
		t.Fatal("a refused consent stored something or asked for tokens")
	}
}

// The fan had the track in their collection already: 409 DUPLICATE is delivered.
func TestTidalDuplicateIsDelivered(t *testing.T) {
	app, l := tidalFixture(t, testapp.Options{Deliver: true})
	p := tidalPresave(t, app, "4711")
	app.Tidal.AddToCollection("4711", tidalItem)
	tidalReleaseDay(t, app, l)
	tidalWaitState(t, app, p.ID, models.PresaveDelivered)
	if app.Tidal.Duplicates() != 1 || app.Tidal.Adds() != 0 || len(app.Tidal.Collection("4711")) != 1 {
		t.Fatalf("duplicates %d, adds %d, collection %v", app.Tidal.Duplicates(), app.Tidal.Adds(), app.Tidal.Collection("4711"))
	}
}

// The save happened but its answer was lost (as when the worker dies right
// after it): the retry sends the same Idempotency-Key and TIDAL replays its
// first answer; the track is added once, not twice, and no 409 is needed.
func TestTidalRetryReplaysIdempotencyKey(t *testing.T) {
	var logs syncBuffer
	app, l := tidalFixture(t, testapp.Options{Deliver: true, Log: &logs})
	p := tidalPresave(t, app, "4711")
	app.Tidal.LoseAnswers(1)
	tidalReleaseDay(t, app, l)
	tidalWait(t, "the lost answer to be noted", func() bool { return tidalReload(t, app, p.ID).LastError != "" })
	if got := tidalReload(t, app, p.ID); got.State != models.PresavePending || len(app.Tidal.Collection("4711")) != 1 {
		t.Fatalf("after the lost answer: %s, collection %v", got.State, app.Tidal.Collection("4711"))
	}
	// Past the retry's backoff, within TIDAL's hour of replays.
	app.Clock.Advance(20 * time.Minute)
	app.Release.Runner.Notify()
	tidalWaitState(t, app, p.ID, models.PresaveDelivered)
	if app.Tidal.Replays() != 1 || app.Tidal.Adds() != 1 || app.Tidal.Duplicates() != 0 || app.Tidal.KeyMismatches() != 0 || len(app.Tidal.Collection("4711")) != 1 {
		t.Fatalf("replays %d, adds %d, duplicates %d, mismatches %d, collection %v",
			app.Tidal.Replays(), app.Tidal.Adds(), app.Tidal.Duplicates(), app.Tidal.KeyMismatches(), app.Tidal.Collection("4711"))
	}
	tidalNoSecrets(t, app, &logs)
}

// 429: the delivery snoozes (no attempt spent, the fan's pre-save untouched)
// until Retry-After has passed, then delivers.
func TestTidalRateLimitedSnoozesThenDelivers(t *testing.T) {
	var logs syncBuffer
	app, l := tidalFixture(t, testapp.Options{Deliver: true, Log: &logs})
	p := tidalPresave(t, app, "4711")
	app.Tidal.FailNext(1, standin.Fault{Endpoint: tidaltest.EndpointCollection, Status: http.StatusTooManyRequests, RetryAfter: 120})
	tidalReleaseDay(t, app, l)
	tidalWait(t, "the 429", func() bool { return app.Tidal.RateLimited() == 1 })
	var state string
	attempt := -1
	tidalWait(t, "the snooze", func() bool {
		err := app.DB.NewSelect().Table("jobs").Column("state", "attempt").Where("kind = ?", presave.KindDeliver).
			Scan(context.Background(), &state, &attempt)
		return err == nil && state == "available"
	})
	if attempt != 0 {
		t.Fatalf("the 429 spent an attempt: %d", attempt)
	}
	if got := tidalReload(t, app, p.ID); got.State != models.PresavePending || got.LastError != "" || len(app.Tidal.Collection("4711")) != 0 {
		t.Fatalf("after the 429: %+v", got)
	}
	app.Clock.Advance(121 * time.Second)
	app.Release.Runner.Notify()
	tidalWaitState(t, app, p.ID, models.PresaveDelivered)
	if len(app.Tidal.Collection("4711")) != 1 {
		t.Fatalf("collection after the wait: %v", app.Tidal.Collection("4711"))
	}
	tidalNoSecrets(t, app, &logs)
}

// The fan removed dropday in TIDAL's settings: the refresh gets invalid_grant
// and the pre-save ends "revoked", with a reason the artist reads.
func TestTidalRevokedFails(t *testing.T) {
	var logs syncBuffer
	app, l := tidalFixture(t, testapp.Options{Deliver: true, Log: &logs})
	p := tidalPresave(t, app, "4711")
	app.Tidal.RevokeUser("4711")
	tidalReleaseDay(t, app, l)
	got := tidalWaitState(t, app, p.ID, models.PresaveRevoked)
	if got.Credential != nil || !strings.Contains(got.LastError, "removed dropday's access on TIDAL") || len(app.Tidal.Collection("4711")) != 0 {
		t.Fatalf("revoked: %+v", got)
	}
	tidalNoSecrets(t, app, &logs)
}

// TIDAL rotates the refresh token: the new one is stored before the save, so
// a retry after a failed save works (the old one is dead by then).
func TestTidalRotatedRefreshTokenIsStored(t *testing.T) {
	app, l := tidalFixture(t, testapp.Options{Deliver: true})
	app.Tidal.SetRefreshMode(tidaltest.RefreshRotate)
	p := tidalPresave(t, app, "4711")
	before, _ := presave.OpenCredential(app.Vault, p.ID, p.Credential)
	app.Tidal.FailNext(1, standin.Fault{Endpoint: tidaltest.EndpointCollection, Status: http.StatusServiceUnavailable})
	tidalReleaseDay(t, app, l)
	var mid *models.Presave
	tidalWait(t, "the failed save", func() bool { mid = tidalReload(t, app, p.ID); return mid.LastError != "" })
	after, err := presave.OpenCredential(app.Vault, p.ID, mid.Credential)
	if err != nil || after == before || mid.State != models.PresavePending {
		t.Fatalf("after a rotation and a failed save: rotated=%v state=%s err=%v", after != before, mid.State, err)
	}
	app.Clock.Advance(time.Hour)
	app.Release.Runner.Notify()
	tidalWaitState(t, app, p.ID, models.PresaveDelivered)
	if len(app.Tidal.Collection("4711")) != 1 {
		t.Fatal("not saved with the rotated token")
	}
}

// TIDAL refuses the access token it just issued (401): the deliverer
// refreshes once more and saves.
func TestTidalUnauthorizedRefreshesOnce(t *testing.T) {
	var logs syncBuffer
	app, l := tidalFixture(t, testapp.Options{Deliver: true, Log: &logs})
	p := tidalPresave(t, app, "4711")
	app.Tidal.FailNext(1, standin.Fault{Endpoint: tidaltest.EndpointCollection, Status: http.StatusUnauthorized})
	tidalReleaseDay(t, app, l)
	tidalWaitState(t, app, p.ID, models.PresaveDelivered)
	refreshes := 0
	for _, tr := range app.Tidal.TokenRequests() {
		if tr.GrantType == "refresh_token" {
			refreshes++
		}
	}
	if refreshes != 2 || len(app.Tidal.Collection("4711")) != 1 {
		t.Fatalf("refreshes %d, collection %v", refreshes, app.Tidal.Collection("4711"))
	}
	tidalNoSecrets(t, app, &logs)
}
