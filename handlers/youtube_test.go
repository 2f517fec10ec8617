package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/platform/youtube/youtubetest"
	"github.com/dropday/dropday/internal/presave"
	drelease "github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

const ytVideo = "aBcDeFgHiJ1"

// ytLink is a live link releasing in three days whose YouTube Music address
// (when withURL) names the stand-in's video.
func ytLink(t *testing.T, app *testapp.App, withURL bool) (testapp.Owner, *models.Link) {
	t.Helper()
	o := app.CreateOwner("artist@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
	app.YouTube.AddVideo(youtubetest.Video{ID: ytVideo, Title: "Night Drive", Artist: "Mara Lune"})
	if withURL {
		if err := store.SetManualURL(context.Background(), app.DB, l.ID, "youtube_music", "https://music.youtube.com/watch?v="+ytVideo); err != nil {
			t.Fatal(err)
		}
	}
	return o, l
}

// ytConsent presses YouTube Music's pre-save button and follows the
// stand-in's auto-consent back into dropday; it returns the authorize URL,
// the callback URL and dropday's answer.
func ytConsent(t *testing.T, app *testapp.App, c *testapp.Client, optIn bool) (authz, cb *url.URL, res *http.Response, body string) {
	t.Helper()
	form := url.Values{}
	if optIn {
		form.Set("email_opt_in", "1")
	}
	r, _ := c.Do(http.MethodPost, "/night-drive/presave/youtube_music", form, nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("pre-save button: %d", r.StatusCode)
	}
	authz, err := url.Parse(r.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(authz.String(), app.YouTube.URL+youtubetest.AuthPath+"?") {
		t.Fatalf("not sent to Google's consent: %q", r.Header.Get("Location"))
	}
	r2, err := c.Client.Get(authz.String())
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	cb, err = url.Parse(r2.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(cb.String(), app.URL+"/oauth/youtube_music/callback?") {
		t.Fatalf("consent answered %d → %q", r2.StatusCode, r2.Header.Get("Location"))
	}
	res, body = c.Get(cb.RequestURI())
	return authz, cb, res, body
}

// ytPresave makes user pre-save (through the router) and returns the row.
func ytPresave(t *testing.T, app *testapp.App, user string) *models.Presave {
	t.Helper()
	app.YouTube.SetCurrentUser(user)
	_, _, res, body := ytConsent(t, app, app.NewClient(), false)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback for %s: %d\n%s", user, res.StatusCode, body)
	}
	var p models.Presave
	if err := app.DB.NewSelect().Model(&p).Where("platform = 'youtube_music'").Order("id DESC").Limit(1).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &p
}

func ytUser(id string) youtubetest.User {
	return youtubetest.User{ID: id, Name: "Fan " + id, Email: id + "@example.com", ChannelID: "UC" + strings.Repeat(id, 22/len(id)+1)[:22]}
}

// ytStep runs one scheduler tick and every delivery due now on the test's
// clock, settling each job as the runner would; it returns the snoozes asked for.
func ytStep(t *testing.T, app *testapp.App) []time.Duration {
	t.Helper()
	ctx := context.Background()
	if err := app.Release.Scheduler.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	q := app.Release.Queue
	js, err := q.Claim(ctx, []string{drelease.KindDeliver}, 50)
	if err != nil {
		t.Fatal(err)
	}
	var snoozes []time.Duration
	for _, j := range js {
		err := app.Release.Runner.Handlers[j.Kind](ctx, j)
		switch {
		case err == nil:
			err = q.Complete(ctx, j)
		case strings.HasPrefix(err.Error(), "jobs: snooze for "):
			d, perr := time.ParseDuration(strings.TrimPrefix(err.Error(), "jobs: snooze for "))
			if perr != nil {
				t.Fatal(perr)
			}
			snoozes = append(snoozes, d)
			err = q.Snooze(ctx, j, d)
		default:
			err = q.Cancel(ctx, j, err)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return snoozes
}

func ytReload(t *testing.T, app *testapp.App, id int64) *models.Presave {
	t.Helper()
	p, err := store.PresaveByID(context.Background(), app.DB, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The consent through the real router: Google's parameters, the fan's
// channel and email, the sealed refresh token; on release day the like lands
// in the stand-in; no secret reaches the logs.
func TestYouTubePresaveFlowAndReleaseDay(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			var logs syncBuffer
			app := testapp.New(t, testapp.Options{YouTube: true, Postgres: pg, Log: &logs})
			_, l := ytLink(t, app, true)
			c := app.NewClient()
			_, page := c.Get("/night-drive")
			if !strings.Contains(page, `data-testid="presave-youtube_music"`) {
				t.Fatal("YouTube Music is not in direct mode on the landing page")
			}
			authz, cb, res, body := ytConsent(t, app, c, true)
			q := authz.Query()
			if q.Get("access_type") != "offline" || q.Get("prompt") != "consent" || q.Get("code_challenge_method") != "S256" ||
				q.Get("scope") != "https://www.googleapis.com/auth/youtube email" || q.Get("response_type") != "code" ||
				q.Get("redirect_uri") != app.URL+"/oauth/youtube_music/callback" || q.Get("client_id") != app.YouTube.ClientID() {
				t.Fatalf("authorize query = %v", q)
			}
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/night-drive/presaved?t=") {
				t.Fatalf("callback: %d %q\n%s", res.StatusCode, res.Header.Get("Location"), body)
			}
			var p models.Presave
			if err := app.DB.NewSelect().Model(&p).Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			if p.Platform != "youtube_music" || p.PlatformUserID != "UCfan1fan1fan1fan1fan1fa" || p.Email != "fan1@example.com" ||
				p.State != models.PresavePending || p.ConsentVersion != presave.ConsentVersion || p.Credential == nil {
				t.Fatalf("presave row = %+v", p)
			}
			refresh, err := presave.OpenCredential(app.Vault, p.ID, p.Credential)
			if err != nil || !strings.HasPrefix(refresh, "1//") {
				t.Fatalf("credential: %v", err)
			}
			if tr := app.YouTube.TokenRequests(); len(tr) != 1 || tr[0].PKCE != "ok" || tr[0].GrantType != "authorization_code" {
				t.Fatalf("token requests = %+v", tr)
			}
			// The code is single-use: replaying the callback saves nothing new.
			if r, _ := app.NewClient().Get(cb.RequestURI()); r.StatusCode == http.StatusSeeOther {
				t.Fatal("a replayed callback was accepted")
			}

			// Release day: the scheduler enqueues, the worker likes the video.
			if n := ytStep(t, app); len(n) != 0 {
				t.Fatalf("before the release: %v", n)
			}
			app.Clock.Set(l.ReleaseAt)
			if sn := ytStep(t, app); len(sn) != 0 {
				t.Fatalf("release day snoozed: %v", sn)
			}
			if got := ytReload(t, app, p.ID); got.State != models.PresaveDelivered {
				t.Fatalf("after the release: %+v", got)
			}
			if app.YouTube.Likes("fan1", ytVideo) != 1 || app.YouTube.QuotaUsed() != 50 { // the channel read was on another quota day
				t.Fatalf("likes %d, quota used %d", app.YouTube.Likes("fan1", ytVideo), app.YouTube.QuotaUsed())
			}
			// After the release the smart link offers Save on YouTube Music (from the artist's address).
			_, page = c.Get("/night-drive")
			if !strings.Contains(page, "youtube_music") {
				t.Fatal("the smart link has no YouTube Music button")
			}

			for what, secret := range map[string]string{
				"code": cb.Query().Get("code"), "refresh token": refresh, "client secret": app.YouTube.ClientSecret(),
			} {
				if secret == "" || strings.Contains(logs.String(), secret) {
					t.Errorf("the %s is in the logs (or empty)", what)
				}
			}
			if strings.Contains(logs.String(), "ya29.") {
				t.Error("an access token is in the logs")
			}
			if !strings.Contains(logs.String(), "pre-save recorded") {
				t.Fatal("logs were not captured")
			}
		})
	}
}

// A fan who presses Cancel on Google's page: nothing is stored, they read why.
func TestYouTubeConsentRefused(t *testing.T) {
	app := testapp.New(t, testapp.Options{YouTube: true})
	ytLink(t, app, true)
	app.YouTube.SetDenyConsent(true)
	_, cb, res, body := ytConsent(t, app, app.NewClient(), false)
	if cb.Query().Get("error") != "access_denied" {
		t.Fatalf("stand-in did not refuse: %v", cb)
	}
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "didn&#39;t give dropday access to YouTube Music") {
		t.Fatalf("refused consent page: %d\n%s", res.StatusCode, body)
	}
	if app.CountRows("presaves") != 0 || len(app.YouTube.TokenRequests()) != 0 {
		t.Fatal("a refused consent stored something")
	}
}

// The day's quota used up: the next like answers 403 quotaExceeded, every
// YouTube delivery snoozes until midnight Pacific (DST-correct), the pause
// is recorded for every instance, the admin panel says so, and after the
// reset the waiting fans get their like.
func TestYouTubeQuotaExceededWaitsForMidnightPacific(t *testing.T) {
	cases := []struct {
		name      string
		release   time.Time // UTC
		wantReset time.Time // UTC: midnight Pacific
	}{
		// Winter (PST, UTC−8): midnight is 08:00 UTC.
		{"PST", time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC), time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)},
		// The day DST starts (8 March 2026): at 20:00 UTC it is 13:00 PDT,
		// so the next midnight is 07:00 UTC, not 08:00.
		{"PDT", time.Date(2026, 3, 8, 20, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 7, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := testapp.New(t, testapp.Options{YouTube: true})
			app.Clock.Set(tc.release.Add(-72 * time.Hour))
			o, l := ytLink(t, app, true)
			for _, u := range []string{"fan2", "fan3"} {
				app.YouTube.AddUser(ytUser(u))
			}
			ps := []*models.Presave{ytPresave(t, app, "fan1"), ytPresave(t, app, "fan2"), ytPresave(t, app, "fan3")}
			// Release day's budget (the channel reads were days before): one like.
			app.YouTube.SetQuota(50)
			app.Clock.Set(l.ReleaseAt)
			sn := ytStep(t, app)
			wantWait := tc.wantReset.Sub(l.ReleaseAt)
			if len(sn) != 2 || sn[0] != wantWait || sn[1] != wantWait {
				t.Fatalf("snoozes %v, want two of %v", sn, wantWait)
			}
			delivered := 0
			for _, p := range ps {
				got := ytReload(t, app, p.ID)
				switch got.State {
				case models.PresaveDelivered:
					delivered++
				case models.PresavePending:
				default:
					t.Fatalf("%+v", got)
				}
			}
			if delivered != 1 {
				t.Fatalf("delivered %d, want 1 within the quota", delivered)
			}
			// Recorded for every instance (and a restart).
			until, err := drelease.PausedUntil(context.Background(), app.DB, "youtube_music", app.Clock.Now())
			if err != nil || !until.Equal(tc.wantReset) {
				t.Fatalf("recorded pause %v %v, want %v", until, err, tc.wantReset)
			}
			// The admin panel says so, in the link's time zone (Europe/Berlin).
			admin := app.NewClient()
			admin.Login(o)
			wantLocal := tc.wantReset.In(mustZone(t, l.TimeZone)).Format("15:04")
			for _, path := range []string{fmt.Sprintf("/admin/links/%d/share", l.ID), fmt.Sprintf("/admin/links/%d/platforms", l.ID)} {
				_, body := admin.Get(path)
				if !strings.Contains(body, `data-testid="youtube-quota-banner"`) || !strings.Contains(body, "daily quota is used up") ||
					!strings.Contains(body, "resume at "+wantLocal) {
					t.Fatalf("%s: no quota banner saying %s\n%s", path, wantLocal, body)
				}
			}

			// An hour before the reset nothing runs and no call is spent.
			app.Clock.Set(tc.wantReset.Add(-time.Hour))
			calls := app.YouTube.Requests(youtubetest.EndpointRate, 0)
			if sn := ytStep(t, app); len(sn) != 0 || app.YouTube.Requests(youtubetest.EndpointRate, 0) != calls {
				t.Fatalf("before the reset: snoozes %v, calls %d→%d", sn, calls, app.YouTube.Requests(youtubetest.EndpointRate, 0))
			}
			// At the reset the budget is new: the waiting fans get their like.
			app.YouTube.SetQuota(youtubetest.DailyQuota)
			app.Clock.Set(tc.wantReset)
			if sn := ytStep(t, app); len(sn) != 0 {
				t.Fatalf("after the reset: snoozes %v", sn)
			}
			for _, p := range ps {
				if got := ytReload(t, app, p.ID); got.State != models.PresaveDelivered {
					t.Fatalf("after the reset: %+v", got)
				}
			}
			for _, u := range []string{"fan1", "fan2", "fan3"} {
				if app.YouTube.Likes(u, ytVideo) != 1 {
					t.Fatalf("%s liked %d times", u, app.YouTube.Likes(u, ytVideo))
				}
			}
			_, body := admin.Get(fmt.Sprintf("/admin/links/%d/share", l.ID))
			if strings.Contains(body, `data-testid="youtube-quota-banner"`) {
				t.Fatal("the banner stays after the reset")
			}
		})
	}
}

// A fresh instance (a restart, or another instance) respects the recorded
// pause without spending a call.
func TestYouTubeRecordedPauseHoldsAnotherInstance(t *testing.T) {
	app := testapp.New(t, testapp.Options{YouTube: true})
	_, l := ytLink(t, app, true)
	p := ytPresave(t, app, "fan1")
	app.Clock.Set(l.ReleaseAt)
	until := l.ReleaseAt.Add(5 * time.Hour)
	if err := store.PutSetting(context.Background(), app.DB, drelease.PauseKey("youtube_music"), until.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	sn := ytStep(t, app)
	if len(sn) != 1 || sn[0] != 5*time.Hour || app.YouTube.Requests(youtubetest.EndpointRate, 0) != 0 {
		t.Fatalf("snoozes %v, rate calls %d", sn, app.YouTube.Requests(youtubetest.EndpointRate, 0))
	}
	app.Clock.Set(until)
	ytStep(t, app)
	if got := ytReload(t, app, p.ID); got.State != models.PresaveDelivered {
		t.Fatalf("after the pause: %+v", got)
	}
}

// No YouTube address at the release: the pre-save waits like a release not
// found yet; given during the window, it delivers; never given, it fails
// with the reason the artist reads. The Platforms tab says the address is needed.
func TestYouTubeWithoutAddressWaits(t *testing.T) {
	app := testapp.New(t, testapp.Options{YouTube: true, Env: map[string]string{"DROPDAY_RESOLVE_WINDOW": "3h"}})
	o, l := ytLink(t, app, false)
	p := ytPresave(t, app, "fan1")
	admin := app.NewClient()
	admin.Login(o)
	_, body := admin.Get(fmt.Sprintf("/admin/links/%d/platforms", l.ID))
	if !strings.Contains(body, `data-testid="youtube-needs-url"`) {
		t.Fatalf("the Platforms tab does not say the YouTube address is needed\n%s", body)
	}
	app.Clock.Set(l.ReleaseAt)
	if sn := ytStep(t, app); len(sn) != 1 || sn[0] <= 0 {
		t.Fatalf("at the release: snoozes %v", sn)
	}
	if got := ytReload(t, app, p.ID); got.State != models.PresavePending || app.YouTube.Requests(youtubetest.EndpointRate, 0) != 0 {
		t.Fatalf("while waiting: %+v", got)
	}
	// A playlist address names no video: still waiting.
	ctx := context.Background()
	if err := store.SetManualURL(ctx, app.DB, l.ID, "youtube_music", "https://music.youtube.com/playlist?list=OLAK5uy_abc"); err != nil {
		t.Fatal(err)
	}
	app.Clock.Advance(time.Hour + 2*time.Minute)
	if sn := ytStep(t, app); len(sn) != 1 {
		t.Fatalf("with a playlist address: snoozes %v", sn)
	}
	// Only a plain YouTube address: that video is liked.
	if err := store.SetManualURL(ctx, app.DB, l.ID, "youtube", "https://youtu.be/"+ytVideo); err != nil {
		t.Fatal(err)
	}
	app.Clock.Advance(time.Hour)
	ytStep(t, app)
	if got := ytReload(t, app, p.ID); got.State != models.PresaveDelivered || app.YouTube.Likes("fan1", ytVideo) != 1 {
		t.Fatalf("after the address: %+v", got)
	}

	// Another link never gets one: after the window it fails, saying why.
	l2 := app.Link(o.Workspace.ID, "second", models.LinkLive, app.Clock.Now().Add(time.Hour))
	c := app.NewClient()
	if r, _ := c.Do(http.MethodPost, "/second/presave/youtube_music", url.Values{}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("pre-save: %d", r.StatusCode)
	} else {
		r2, err := c.Client.Get(r.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		cb, _ := url.Parse(r2.Header.Get("Location"))
		c.Get(cb.RequestURI())
	}
	var p2 models.Presave
	if err := app.DB.NewSelect().Model(&p2).Where("link_id = ?", l2.ID).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	app.Clock.Set(l2.ReleaseAt)
	for range 5 {
		ytStep(t, app)
		app.Clock.Advance(time.Hour)
	}
	got := ytReload(t, app, p2.ID)
	if got.State != models.PresaveFailed || got.LastError != fmt.Sprintf(drelease.ReasonNoVideo, "YouTube Music") {
		t.Fatalf("never given an address: %+v", got)
	}
}

// A fan who removed dropday in their Google account: the refresh answers
// invalid_grant and the pre-save ends as revoked, with the reason; a video
// YouTube does not know fails as not found. Neither is retried.
func TestYouTubeRevokedAndUnknownVideo(t *testing.T) {
	app := testapp.New(t, testapp.Options{YouTube: true})
	_, l := ytLink(t, app, true)
	app.YouTube.AddUser(ytUser("fan2"))
	p1 := ytPresave(t, app, "fan1")
	p2 := ytPresave(t, app, "fan2")
	app.YouTube.RevokeUser("fan1")
	app.Clock.Set(l.ReleaseAt)
	// fan2's like goes to a video YouTube does not have.
	if err := store.SetManualURL(context.Background(), app.DB, l.ID, "youtube_music", "https://music.youtube.com/watch?v=zzzzzzzzzzz"); err != nil {
		t.Fatal(err)
	}
	if sn := ytStep(t, app); len(sn) != 0 {
		t.Fatalf("snoozes %v", sn)
	}
	g1, g2 := ytReload(t, app, p1.ID), ytReload(t, app, p2.ID)
	if g1.State != models.PresaveRevoked || g1.LastError != fmt.Sprintf(drelease.ReasonRevoked, "YouTube Music") || g1.Credential != nil {
		t.Fatalf("revoked fan: %+v", g1)
	}
	if g2.State != models.PresaveFailed || g2.LastError != fmt.Sprintf(drelease.ReasonNotFound, "YouTube Music") {
		t.Fatalf("unknown video: %+v", g2)
	}
	n, err := app.Release.Queue.Counts(context.Background(), drelease.KindDeliver)
	if err != nil {
		t.Fatal(err)
	}
	if n[jobs.StateAvailable] != 0 || n[jobs.StateRetryable] != 0 {
		t.Fatalf("jobs still queued: %v", n)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
