package handlers_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/artwork"
	"github.com/dropday/dropday/internal/signup"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// release is three days after testapp.Start: Tuesday 24 November 2026, 13:00 in Berlin.
var release = testapp.Start.Add(72 * time.Hour)

// htmx is the header htmx sends with every request.
var htmx = http.Header{"Hx-Request": {"true"}}

func liveLink(t *testing.T, app *testapp.App) *models.Link {
	t.Helper()
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	return app.Link(o.Workspace.ID, "night-drive", models.LinkLive, release)
}

func TestLandingNotFoundAndEnded(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	app.Link(o.Workspace.ID, "secret-draft", models.LinkDraft, release)
	app.Link(o.Workspace.ID, "old-drop", models.LinkArchived, release)
	c := app.NewClient()

	_, unknownBody := c.Get("/no-such-link")
	for _, path := range []string{"/no-such-link", "/secret-draft"} {
		res, body := c.Get(path)
		if res.StatusCode != http.StatusNotFound || !strings.Contains(body, "There is no release page at this address") {
			t.Fatalf("GET %s: status %d\n%s", path, res.StatusCode, body)
		}
		// A draft must not be told apart from a slug that does not exist.
		if stripReqID(body) != stripReqID(unknownBody) || strings.Contains(body, "Night Drive") {
			t.Fatalf("GET %s differs from an unknown slug", path)
		}
	}
	res, body := c.Get("/old-drop")
	if res.StatusCode != http.StatusGone || !strings.Contains(body, "This campaign has ended") ||
		!strings.Contains(body, "Night Drive") || strings.Contains(body, `name="email"`) {
		t.Fatalf("archived: status %d\n%s", res.StatusCode, body)
	}
}

func stripReqID(s string) string { return regexp.MustCompile(`[0-9a-f]{16}`).ReplaceAllString(s, "") }

func TestLandingPage(t *testing.T) {
	app := testapp.New(t)
	l := liveLink(t, app)
	c := app.NewClient()
	res, body := c.Get("/night-drive")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", res.StatusCode, body)
	}
	want := []string{
		`data-testid="landing-title">Night Drive</h1>`,
		`data-testid="landing-artist">Mara Lune</p>`,
		"The new single",
		`data-testid="countdown"`,
		`data-release="2026-11-24T12:00:00Z"`,
		// The release moment in the link's own zone, for fans without JavaScript.
		`<time datetime="2026-11-24T12:00:00Z" data-release-time data-testid="release-time">Out Tuesday 24 November, 13:00 (Europe/Berlin)</time>`,
		`<meta property="og:title" content="Mara Lune – Night Drive">`,
		`<meta property="og:description" content="The new single. Out Tuesday 24 November – get notified when it drops.">`,
		`<meta property="og:url" content="` + app.URL + `/night-drive">`,
		`<meta name="twitter:card" content="summary_large_image">`,
		`data-testid="artwork-placeholder"`,
		`name="website"`,
		signup.ConsentText("Night Drive"),
		"We only use your email to tell you about this release. Undo any time.",
		`action="/night-drive/signup"`, `hx-post="/night-drive/signup"`,
		static("js/countdown.js"),
	}
	for _, w := range want {
		if !strings.Contains(body, esc(w)) {
			t.Errorf("page lacks %s", w)
		}
	}
	// Every platform, in order, each in email-signup mode with its logo.
	last := -1
	for _, p := range models.Platforms {
		i := strings.Index(body, `data-testid="platform-`+p.Key+`"`)
		if i < 0 || i < last {
			t.Errorf("platform %s missing or out of order", p.Key)
			continue
		}
		last = i
		for _, w := range []string{"Get notified on <strong>" + p.Name + "</strong>", static("img/platforms/" + p.Icon), `value="` + p.Key + `"`} {
			if !strings.Contains(body, w) {
				t.Errorf("platform %s: page lacks %s", p.Key, w)
			}
		}
	}
	// Nothing per visitor: no cookie, no token, no countdown values, no inline style or script.
	if len(res.Cookies()) != 0 || strings.Contains(body, "_csrf") || strings.Contains(body, "style=") ||
		regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(body) {
		t.Errorf("page has per-visitor or inline content; cookies %v", res.Cookies())
	}
	if strings.Count(body, `class="cd-num"`) != 4 || strings.Count(body, ">--</span>") != 4 {
		t.Errorf("countdown is not four placeholder boxes")
	}
	if og := regexp.MustCompile(`og:image"`).FindString(body); og != "" {
		t.Errorf("og:image without artwork")
	}
	// Light: the page, its CSS and countdown.js (htmx and artwork aside).
	weight := len(body)
	for _, name := range []string{"css/public.css", "js/countdown.js"} {
		res, b := c.Get("/static/" + name)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", name, res.StatusCode)
		}
		weight += len(b)
	}
	if weight > 40_000 {
		t.Errorf("page + CSS + JS = %d bytes, want under 40 KB", weight)
	}

	// With artwork: the 640 px size, as the cover, the backdrop and an absolute og:image.
	key := saveArtwork(t, app)
	l.Artwork, l.UpdatedAt = key, app.Clock.Now().Add(time.Minute)
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	_, body = c.Get("/night-drive")
	img := "/media/artwork/" + key + "/640.jpg"
	if strings.Count(body, `src="`+img+`"`) != 2 || !strings.Contains(body, `<meta property="og:image" content="`+app.URL+img+`">`) ||
		!strings.Contains(body, `<meta name="twitter:image" content="`+app.URL+img+`">`) {
		t.Errorf("artwork not shown as cover, backdrop and og:image:\n%s", body)
	}
	if res, _ := c.Get(img); res.StatusCode != http.StatusOK {
		t.Errorf("artwork: status %d", res.StatusCode)
	}
}

// esc is how templ writes an apostrophe in text.
func esc(s string) string { return strings.ReplaceAll(s, "'", "&#39;") }

func static(name string) string {
	return "/static/" + name + "?v="
}

func saveArtwork(t *testing.T, app *testapp.App) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 400, 400))
	for y := 0; y < 400; y++ {
		for x := 0; x < 400; x++ {
			img.Set(x, y, color.RGBA{uint8(x / 2), 40, uint8(y / 2), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	st := &artwork.Store{Dir: filepath.Join(app.Config.DataDir, "artwork"), MaxBytes: app.Config.MaxArtworkBytes}
	key, err := st.Save(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestLandingReleased(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	app.Link(o.Workspace.ID, "out", models.LinkLive, testapp.Start.Add(-time.Hour))
	app.Link(o.Workspace.ID, "released", models.LinkReleased, release)
	c := app.NewClient()
	for _, path := range []string{"/out", "/released"} {
		res, body := c.Get(path)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="out-now">Out now`) ||
			strings.Contains(body, `data-testid="countdown"`) || !strings.Contains(body, `name="email"`) {
			t.Fatalf("GET %s: status %d\n%s", path, res.StatusCode, body)
		}
	}
	// Signing up still works after the release.
	res, body := c.Do(http.MethodPost, "/released/signup", url.Values{"email": {"fan@example.com"}, "platform": {"spotify"}}, htmx)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "You're on the list") {
		t.Fatalf("signup after release: status %d\n%s", res.StatusCode, body)
	}
}

func TestLandingETag(t *testing.T) {
	app := testapp.New(t)
	l := liveLink(t, app)
	c := app.NewClient()
	res, _ := c.Get("/night-drive")
	tag := res.Header.Get("ETag")
	if tag == "" || res.Header.Get("Cache-Control") != "public, max-age=0, must-revalidate" {
		t.Fatalf("ETag %q, Cache-Control %q", tag, res.Header.Get("Cache-Control"))
	}
	cond := func(inm string) *http.Response {
		res, body := c.Do(http.MethodGet, "/night-drive", nil, http.Header{"If-None-Match": {inm}})
		if res.StatusCode == http.StatusNotModified && body != "" {
			t.Fatalf("304 with a body")
		}
		return res
	}
	for _, inm := range []string{tag, `"other", ` + tag, "W/" + tag} {
		if res := cond(inm); res.StatusCode != http.StatusNotModified || res.Header.Get("ETag") != tag {
			t.Fatalf("If-None-Match %s: status %d", inm, res.StatusCode)
		}
	}
	if res := cond(`"stale"`); res.StatusCode != http.StatusOK {
		t.Fatalf("stale tag: status %d", res.StatusCode)
	}
	// The same page for every visitor: another client gets the same tag.
	if res, _ := app.NewClient().Get("/night-drive"); res.Header.Get("ETag") != tag {
		t.Fatalf("ETag differs between visitors")
	}
	// Passing the release time changes the page (countdown → "Out now"), so the tag.
	app.Clock.Set(release.Add(time.Second))
	res, body := c.Do(http.MethodGet, "/night-drive", nil, http.Header{"If-None-Match": {tag}})
	if res.StatusCode != http.StatusOK || res.Header.Get("ETag") == tag || !strings.Contains(body, "Out now") {
		t.Fatalf("after release: status %d, tag %q", res.StatusCode, res.Header.Get("ETag"))
	}
	afterRelease := res.Header.Get("ETag")
	// An edit changes it too.
	l.Title, l.UpdatedAt = "Night Drive (Edit)", app.Clock.Now()
	if err := store.UpdateLink(context.Background(), app.DB, l); err != nil {
		t.Fatal(err)
	}
	if res := cond(afterRelease); res.StatusCode != http.StatusOK {
		t.Fatalf("after an edit: status %d", res.StatusCode)
	}
}

type signupRow struct {
	Email, SubPlatform, Status, Platform, IP, UserAgent, ConsentVersion string
	ConsentedAt                                                         time.Time
}

func signups(t *testing.T, app *testapp.App) []signupRow {
	t.Helper()
	var rows []signupRow
	err := app.DB.NewSelect().TableExpr("signups AS s").Join("JOIN subscribers AS sub ON sub.id = s.subscriber_id").
		ColumnExpr("sub.email, sub.platform AS sub_platform, sub.status, s.platform, s.ip, s.user_agent, s.consent_version, s.consented_at").
		Scan(context.Background(), &rows)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestSignup(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSignup(t, testapp.New(t)) })
	t.Run("postgres", func(t *testing.T) { testSignup(t, testapp.New(t, testapp.Options{Postgres: true})) })
}

func testSignup(t *testing.T, app *testapp.App) {
	liveLink(t, app)
	c := app.NewClient()
	post := func(form url.Values, h http.Header) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, app.URL+"/night-drive/signup", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", "FanPhone/1.0 "+strings.Repeat("x", 500))
		for k, v := range h {
			req.Header[k] = v
		}
		return c.Send(req)
	}
	res, body := post(url.Values{"email": {"fan@example.com"}, "platform": {"tidal"}, "website": {""}}, htmx)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="signup-done"`) ||
		!strings.Contains(body, "You're on the list. We'll email <strong>fan@example.com</strong> when <em>Night Drive</em> is out.") ||
		strings.Contains(body, "<html") || !strings.Contains(body, `href="`+app.URL+`/night-drive"`) {
		t.Fatalf("signup: status %d\n%s", res.StatusCode, body)
	}
	rows := signups(t, app)
	if len(rows) != 1 || app.CountRows("subscribers") != 1 {
		t.Fatalf("rows = %+v", rows)
	}
	r := rows[0]
	if r.Email != "fan@example.com" || r.SubPlatform != "tidal" || r.Platform != "tidal" || r.Status != models.SubscriberActive ||
		r.IP != "127.0.0.1" || !strings.HasPrefix(r.UserAgent, "FanPhone/1.0 ") || len(r.UserAgent) != 400 ||
		r.ConsentVersion != signup.ConsentVersion || !r.ConsentedAt.Equal(testapp.Start) {
		t.Fatalf("stored %+v", r)
	}

	// The same fan again, differently typed, with a new preference: one subscriber, one signup, consent refreshed.
	app.Clock.Advance(time.Hour)
	res, body = post(url.Values{"email": {"  FAN@Example.COM "}, "platform": {"deezer"}}, htmx)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "fan@example.com") {
		t.Fatalf("second signup: status %d\n%s", res.StatusCode, body)
	}
	rows = signups(t, app)
	if len(rows) != 1 || app.CountRows("subscribers") != 1 || rows[0].SubPlatform != "deezer" || rows[0].Platform != "deezer" ||
		!rows[0].ConsentedAt.Equal(testapp.Start.Add(time.Hour)) {
		t.Fatalf("after second signup: %+v", rows)
	}

	// No platform chosen: "other".
	res, _ = post(url.Values{"email": {"quiet@example.com"}}, htmx)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("no platform: status %d", res.StatusCode)
	}
	var p string
	if err := app.DB.NewSelect().Table("subscribers").Column("platform").Where("email = ?", "quiet@example.com").Scan(context.Background(), &p); err != nil || p != "other" {
		t.Fatalf("no platform stored as %q, %v", p, err)
	}
}

func TestSignupRefusesAndWritesNothing(t *testing.T) {
	app := testapp.New(t)
	liveLink(t, app)
	c := app.NewClient()
	nothing := func(what string) {
		t.Helper()
		if n := app.CountRows("subscribers") + app.CountRows("signups"); n != 0 {
			t.Fatalf("%s wrote %d rows", what, n)
		}
	}

	// A bad email: 422, the form again with the message inline and the choice kept.
	res, body := c.Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {"fan@example"}, "platform": {"soundcloud"}}, htmx)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="email-error"`) ||
		!strings.Contains(body, "doesn&#39;t look like an email address") || !strings.Contains(body, `value="fan@example"`) ||
		!regexp.MustCompile(`value="soundcloud" checked`).MatchString(body) || strings.Contains(body, "<html") {
		t.Fatalf("bad email: status %d\n%s", res.StatusCode, body)
	}
	nothing("a bad email")

	// An unknown platform is refused like a bad email: a page only offers known ones.
	res, body = c.Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {"fan@example.com"}, "platform": {"napster"}}, htmx)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="platform-error"`) {
		t.Fatalf("unknown platform: status %d\n%s", res.StatusCode, body)
	}
	nothing("an unknown platform")

	// The honeypot: the bot sees the confirmation, nothing is stored.
	res, body = c.Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {"bot@example.com"}, "platform": {"spotify"}, "website": {"http://spam.example"}}, htmx)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "You're on the list") {
		t.Fatalf("honeypot: status %d\n%s", res.StatusCode, body)
	}
	nothing("the honeypot")

	// Cross-site posts are refused before anything runs.
	for _, h := range []http.Header{
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Origin": {"https://evil.example"}},
	} {
		res, _ := c.Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {"fan@example.com"}}, h)
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site %v: status %d", h, res.StatusCode)
		}
	}
	nothing("cross-site posts")
	// Our own origin passes.
	res, _ = c.Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {"fan@example.com"}},
		http.Header{"Origin": {app.URL}, "Sec-Fetch-Site": {"same-origin"}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("same-origin: status %d", res.StatusCode)
	}
}

func TestSignupClosedLinks(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	app.Link(o.Workspace.ID, "draft", models.LinkDraft, release)
	app.Link(o.Workspace.ID, "archived", models.LinkArchived, release)
	c := app.NewClient()
	for _, path := range []string{"/draft/signup", "/archived/signup", "/nothing/signup"} {
		res, _ := c.Do(http.MethodPost, path, url.Values{"email": {"fan@example.com"}, "platform": {"spotify"}}, htmx)
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("POST %s: status %d", path, res.StatusCode)
		}
	}
	if n := app.CountRows("subscribers"); n != 0 {
		t.Fatalf("closed links wrote %d subscribers", n)
	}
}

func TestSignupRateLimited(t *testing.T) {
	app := testapp.New(t, testapp.Options{Env: map[string]string{"DROPDAY_SIGNUP_RATE": "2"}})
	liveLink(t, app)
	c := app.NewClient()
	for i, email := range []string{"a@example.com", "b@example.com"} {
		if res, _ := c.Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {email}}, htmx); res.StatusCode != http.StatusOK {
			t.Fatalf("signup %d: status %d", i, res.StatusCode)
		}
	}
	res, body := c.Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {"c@example.com"}, "platform": {"spotify"}}, htmx)
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, `data-testid="signup-error"`) ||
		!strings.Contains(body, "Too many signups") || strings.Contains(body, "<html") || !strings.Contains(body, `id="signup"`) {
		t.Fatalf("3rd signup: status %d\n%s", res.StatusCode, body)
	}
	if n := app.CountRows("subscribers"); n != 2 {
		t.Fatalf("subscribers = %d, want 2", n)
	}
	// Without htmx: the whole page, with the message.
	res, body = c.Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {"c@example.com"}}, nil)
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "<html") || !strings.Contains(body, "Too many signups") {
		t.Fatalf("no-JS rate limit: status %d", res.StatusCode)
	}
	// A minute later the fan may try again.
	app.Clock.Advance(time.Minute)
	if res, _ := c.Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {"c@example.com"}}, htmx); res.StatusCode != http.StatusOK {
		t.Fatalf("after a minute: status %d", res.StatusCode)
	}
}

// Without JavaScript the form posts normally and the answer is the whole page.
func TestSignupWithoutJavaScript(t *testing.T) {
	app := testapp.New(t)
	liveLink(t, app)
	c := app.NewClient()
	res, body := c.Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {"fan@example.com"}, "platform": {"youtube"}, "website": {""}}, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "<html") || !strings.Contains(body, `data-testid="landing-title"`) ||
		!strings.Contains(body, `data-testid="signup-done"`) || strings.Contains(body, `data-testid="signup-form"`) {
		t.Fatalf("no-JS signup: status %d\n%s", res.StatusCode, body)
	}
	if len(res.Cookies()) != 0 || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("no-JS answer: cookies %v, Cache-Control %q", res.Cookies(), res.Header.Get("Cache-Control"))
	}
	if rows := signups(t, app); len(rows) != 1 || rows[0].Platform != "youtube" {
		t.Fatalf("rows %+v", rows)
	}
	// Errors come back in the page too, with the email step under the chosen platform.
	res, body = c.Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {""}, "platform": {"deezer"}}, nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "<html") || !strings.Contains(body, "Enter your email address.") {
		t.Fatalf("no-JS error: status %d\n%s", res.StatusCode, body)
	}
	deezer, step := strings.Index(body, `data-testid="platform-deezer"`), strings.Index(body, "data-email-step")
	tidal := strings.Index(body, `data-testid="platform-tidal"`)
	if !(deezer < step && step < tidal) {
		t.Fatalf("email step is not under the chosen platform (%d, %d, %d)", deezer, step, tidal)
	}
}

func TestLandingHEAD(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("o@example.com", "W")
	app.Link(o.Workspace.ID, "head-check", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
	res, body := app.NewClient().Do(http.MethodHead, "/head-check", nil, nil)
	if res.StatusCode != http.StatusOK || body != "" || res.Header.Get("ETag") == "" {
		t.Fatalf("HEAD: status %d, body %d bytes, etag %q", res.StatusCode, len(body), res.Header.Get("ETag"))
	}
}
