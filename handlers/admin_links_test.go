package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// pngBytes draws a w×h PNG with some texture, so it is a real image to resize.
func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// noisyPNG is a PNG of at least n bytes: random-looking pixels do not compress.
func noisyPNG(t *testing.T, side int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	seed := uint32(2463534242)
	for i := range img.Pix {
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		img.Pix[i] = byte(seed)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type upload struct {
	name string
	data []byte
}

// postMultipart sends a link form the way the browser does, with the CSRF token in _csrf.
func postMultipart(t *testing.T, app *testapp.App, c *testapp.Client, path string, fields url.Values, file *upload) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("_csrf", c.CSRF("/admin/links/new"))
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if file != nil {
		fw, err := mw.CreateFormFile("artwork", file.name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(file.data)
	} else {
		// A browser sends an empty file part when no file was chosen.
		_, _ = mw.CreateFormFile("artwork", "")
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, app.URL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.Send(req)
}

func validLink() url.Values {
	return url.Values{
		"title": {"Night Drive"}, "artist": {"Mara Lune"}, "subtitle": {"The new single"},
		"slug": {""}, "release_date": {"2026-12-05"}, "release_time": {"00:00"},
		"time_zone": {"Europe/Berlin"}, "source": {"https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy"},
		"state": {"live"},
	}
}

func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

func artworkDirs(t *testing.T, app *testapp.App) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(app.Config.DataDir, "artwork"))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

var errRE = regexp.MustCompile(`data-testid="([a-z_]+)-error"[^>]*>([^<]*)<`)

// fieldErrors maps each field with an inline error to its message.
func fieldErrors(body string) map[string]string {
	out := map[string]string{}
	for _, m := range errRE.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

func onlyLink(t *testing.T, app *testapp.App) models.Link {
	t.Helper()
	var ls []models.Link
	if err := app.DB.NewSelect().Model(&ls).Scan(context.Background()); err != nil || len(ls) != 1 {
		t.Fatalf("links = %d, %v; want 1", len(ls), err)
	}
	return ls[0]
}

func TestLinkCreateAndEdit(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	c := app.NewClient()
	c.Login(o)

	res, body := c.Get("/admin/links")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "No links yet — create your first pre-release link") {
		t.Fatalf("empty list: status %d\n%s", res.StatusCode, body)
	}
	res, body = c.Get("/admin/links/new")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `enctype="multipart/form-data"`) || !strings.Contains(body, `value="Europe/London"`) {
		t.Fatalf("new form: status %d\n%s", res.StatusCode, body)
	}

	res, body = postMultipart(t, app, c, "/admin/links", validLink(), &upload{"cover.png", pngBytes(t, 400, 300)})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: status %d\n%s", res.StatusCode, body)
	}
	l := onlyLink(t, app)
	if want := fmt.Sprintf("/admin/links/%d?saved=1", l.ID); res.Header.Get("Location") != want {
		t.Fatalf("location %q, want %q", res.Header.Get("Location"), want)
	}
	if l.Slug != "mara-lune-night-drive" || l.State != models.LinkLive || l.WorkspaceID != o.Workspace.ID ||
		l.SourceKind != models.SourceSpotifyAlbum || l.Artwork == "" {
		t.Fatalf("stored link = %+v", l)
	}
	if want := time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC); !l.ReleaseAt.Equal(want) {
		t.Fatalf("release_at = %v, want %v", l.ReleaseAt, want)
	}
	for _, f := range []string{"original.png", "640.jpg", "160.jpg"} {
		if _, err := os.Stat(filepath.Join(app.Config.DataDir, "artwork", l.Artwork, f)); err != nil {
			t.Fatalf("artwork file %s: %v", f, err)
		}
	}
	res, body = c.Get(res.Header.Get("Location"))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Link saved") || !strings.Contains(body, `value="Night Drive"`) ||
		!strings.Contains(body, "/media/artwork/"+l.Artwork+"/160.jpg") || !strings.Contains(body, app.URL+"/mara-lune-night-drive") {
		t.Fatalf("edit page after create: status %d\n%s", res.StatusCode, body)
	}
	if res, _ := c.Get("/media/artwork/" + l.Artwork + "/160.jpg"); res.StatusCode != http.StatusOK {
		t.Fatalf("thumbnail: status %d", res.StatusCode)
	}

	// The list shows it with its state, release time in its own zone and the public URL.
	res, body = c.Get("/admin/links")
	for _, want := range []string{"Night Drive", "Mara Lune", "state-live", "Sat 5 Dec 2026, 00:00 CET", "/mara-lune-night-drive", "/media/artwork/" + l.Artwork + "/160.jpg"} {
		if !strings.Contains(body, want) {
			t.Fatalf("list lacks %q\n%s", want, body)
		}
	}

	// Editing without a new file keeps the artwork; other fields change.
	edit := fmt.Sprintf("/admin/links/%d", l.ID)
	res, body = postMultipart(t, app, c, edit, with(validLink(), "slug", "night-drive", "title", "Night Drive (Edit)", "state", "draft"), nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: status %d\n%s", res.StatusCode, body)
	}
	l2 := onlyLink(t, app)
	if l2.Slug != "night-drive" || l2.Title != "Night Drive (Edit)" || l2.State != models.LinkDraft || l2.Artwork != l.Artwork {
		t.Fatalf("after update = %+v", l2)
	}

	// Editing with a bad input changes nothing, in the row or on disk.
	dirs := artworkDirs(t, app)
	res, body = postMultipart(t, app, c, edit, with(validLink(), "title", "Changed", "time_zone", "Mars/Olympus"), &upload{"new.png", pngBytes(t, 300, 300)})
	if res.StatusCode != http.StatusUnprocessableEntity || fieldErrors(body)["time_zone"] == "" || !strings.Contains(body, `value="Changed"`) {
		t.Fatalf("bad update: status %d errors %v", res.StatusCode, fieldErrors(body))
	}
	if l3 := onlyLink(t, app); l3.Title != l2.Title || l3.Slug != l2.Slug || !l3.UpdatedAt.Equal(l2.UpdatedAt) || l3.Artwork != l2.Artwork {
		t.Fatalf("bad update changed the link: %+v", l3)
	}
	if n := artworkDirs(t, app); n != dirs {
		t.Fatalf("bad update wrote artwork: %d dirs, want %d", n, dirs)
	}

	// A new image on edit replaces the artwork.
	res, _ = postMultipart(t, app, c, edit, with(validLink(), "slug", "night-drive"), &upload{"new.png", pngBytes(t, 300, 300)})
	if l4 := onlyLink(t, app); res.StatusCode != http.StatusSeeOther || l4.Artwork == l2.Artwork || l4.Artwork == "" {
		t.Fatalf("replace artwork: status %d link %+v", res.StatusCode, l4)
	}

	// Non-numeric and unknown ids are 404s.
	for _, p := range []string{"/admin/links/abc", "/admin/links/999", "/admin/links/-1/subscribers"} {
		if res, _ := c.Get(p); res.StatusCode != http.StatusNotFound {
			t.Fatalf("GET %s: status %d, want 404", p, res.StatusCode)
		}
	}
}

func TestLinkCreateRejectsBadInput(t *testing.T) {
	app := testapp.New(t, testapp.Options{Env: map[string]string{"DROPDAY_MAX_ARTWORK_MB": "1"}})
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	c := app.NewClient()
	c.Login(o)
	// One link to collide with.
	app.Link(o.Workspace.ID, "taken-slug", models.LinkLive, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))

	big := noisyPNG(t, 620) // ≈1.5 MB: over the 1 MB artwork limit, under the 2 MB body limit
	if len(big) <= 1<<20 || len(big) >= 2<<20 {
		t.Fatalf("noisy PNG is %d bytes; want between 1 and 2 MB", len(big))
	}
	huge := noisyPNG(t, 900) // ≈3 MB: over the whole body limit
	good := &upload{"cover.png", pngBytes(t, 300, 300)}

	cases := []struct {
		name   string
		form   url.Values
		file   *upload
		status int
		field  string
		msg    string
	}{
		{"duplicate slug", with(validLink(), "slug", "taken-slug"), good, 422, "slug", "That address is taken; choose another."},
		{"duplicate derived slug", with(validLink(), "artist", "Taken", "title", "Slug"), good, 422, "slug", "That address is taken"},
		{"bad date", with(validLink(), "release_date", "2026-13-45"), good, 422, "release_date", "YYYY-MM-DD"},
		{"bad time", with(validLink(), "release_time", "25:99"), good, 422, "release_time", "HH:MM"},
		{"bad time zone", with(validLink(), "time_zone", "Mars/Olympus"), good, 422, "time_zone", "is not a time zone name"},
		{"bad spotify url", with(validLink(), "source", "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M"), good, 422, "source", "tracks and albums"},
		{"bad upc", with(validLink(), "source", "123456789013"), good, 422, "source", "check) digit"},
		{"bad isrc", with(validLink(), "source", "U1RC17607839"), good, 422, "source", "An ISRC is"},
		{"missing title", with(validLink(), "title", ""), good, 422, "title", "required"},
		{"not an image", validLink(), &upload{"cover.png", []byte("just some text, not a picture at all")}, 422, "artwork", "Upload a JPEG, PNG or WebP image."},
		{"image too small", validLink(), &upload{"small.png", pngBytes(t, 200, 200)}, 422, "artwork", "at least 300×300"},
		{"image too large", validLink(), &upload{"big.png", big}, 422, "artwork", "The image is larger than the 1 MB limit."},
	}
	// A body past the form's limit is refused before anything reads it (even the
	// CSRF check), so the page cannot keep the fields: a 413 page says why.
	t.Run("body too large", func(t *testing.T) {
		links, dirs := app.CountRows("links"), artworkDirs(t, app)
		res, body := postMultipart(t, app, c, "/admin/links", validLink(), &upload{"huge.png", huge})
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "The image is larger than the 1 MB limit.") {
			t.Fatalf("status %d, want 413 with the limit\n%s", res.StatusCode, body)
		}
		if app.CountRows("links") != links || artworkDirs(t, app) != dirs {
			t.Fatal("a refused upload wrote something")
		}
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			links, dirs := app.CountRows("links"), artworkDirs(t, app)
			res, body := postMultipart(t, app, c, "/admin/links", tc.form, tc.file)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d\n%s", res.StatusCode, tc.status, body)
			}
			errs := fieldErrors(body)
			if !strings.Contains(errs[tc.field], tc.msg) {
				t.Fatalf("error on %s = %q, want %q (all: %v)", tc.field, errs[tc.field], tc.msg, errs)
			}
			if !strings.Contains(body, `aria-describedby="`) || !strings.Contains(body, `aria-invalid="true"`) {
				t.Fatal("the invalid field is not marked for screen readers")
			}
			if tc.status == 422 && !strings.Contains(body, `value="`+tc.form.Get("artist")+`"`) {
				t.Fatalf("the artist the user typed was not kept")
			}
			if n := app.CountRows("links"); n != links {
				t.Fatalf("links %d → %d: a rejected form wrote a row", links, n)
			}
			if n := artworkDirs(t, app); n != dirs {
				t.Fatalf("artwork dirs %d → %d: a rejected form wrote files", dirs, n)
			}
		})
	}
}

func TestLinksAreScopedToTheWorkspace(t *testing.T) {
	app := testapp.New(t)
	a := app.CreateOwner("a@example.com", "Label A")
	b := app.CreateOwner("b@example.com", "Label B")
	release := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	la := app.Link(a.Workspace.ID, "a-live", models.LinkLive, release)
	app.Link(a.Workspace.ID, "a-draft", models.LinkDraft, release.Add(24*time.Hour))
	lb := app.Link(b.Workspace.ID, "b-secret", models.LinkLive, release)
	addSignup(t, app, la, "fan1@example.com")
	addSignup(t, app, la, "fan2@example.com")

	ca := app.NewClient()
	ca.Login(a)
	_, body := ca.Get("/admin/links")
	if !strings.Contains(body, "/a-live") || !strings.Contains(body, "/a-draft") || strings.Contains(body, "b-secret") {
		t.Fatalf("list shows the wrong links\n%s", body)
	}
	if !regexp.MustCompile(`data-slug="a-live"[\s\S]*?data-testid="signups">2<`).MatchString(body) {
		t.Fatalf("signup count of a-live is not 2\n%s", body)
	}
	_, body = ca.Get("/admin/links?state=draft")
	if strings.Contains(body, "/a-live") || !strings.Contains(body, "/a-draft") {
		t.Fatalf("?state=draft shows the wrong links\n%s", body)
	}
	_, body = ca.Get("/admin/links?state=archived")
	if !strings.Contains(body, "No archived links") {
		t.Fatalf("empty filter\n%s", body)
	}

	// Workspace A's subscribers tab lists its signups.
	_, body = ca.Get(fmt.Sprintf("/admin/links/%d/subscribers", la.ID))
	if !strings.Contains(body, "fan1@example.com") || !strings.Contains(body, "Spotify") || !strings.Contains(body, "203.0.113.9") {
		t.Fatalf("subscribers tab\n%s", body)
	}

	// Every route on B's link is a 404 for A, and changes nothing.
	id := fmt.Sprint(lb.ID)
	if res, _ := ca.Get("/admin/links/" + id); res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET edit: %d", res.StatusCode)
	}
	if res, _ := ca.Get("/admin/links/" + id + "/subscribers"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET subscribers: %d", res.StatusCode)
	}
	if res, _ := postMultipart(t, app, ca, "/admin/links/"+id, with(validLink(), "title", "Hijacked", "slug", "b-secret"), nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("POST update: %d", res.StatusCode)
	}
	if res, _ := ca.PostForm("/admin/links", "/admin/links/"+id+"/archive", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("POST archive: %d", res.StatusCode)
	}
	got, err := store.LinkByID(context.Background(), app.DB, b.Workspace.ID, lb.ID)
	if err != nil || got.Title != lb.Title || got.State != models.LinkLive || !got.UpdatedAt.Equal(lb.UpdatedAt) {
		t.Fatalf("B's link changed: %+v %v", got, err)
	}
}

func TestLinkArchiveAndPaging(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Label")
	c := app.NewClient()
	c.Login(o)
	base := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	var first *models.Link
	for i := 0; i < 55; i++ {
		l := app.Link(o.Workspace.ID, fmt.Sprintf("link-%02d", i), models.LinkLive, base.Add(time.Duration(i)*time.Hour))
		if i == 0 {
			first = l
		}
	}
	_, body := c.Get("/admin/links")
	if n := strings.Count(body, `data-testid="link-row"`); n != 50 || !strings.Contains(body, `href="/admin/links?page=2"`) {
		t.Fatalf("page 1 has %d rows", n)
	}
	_, body = c.Get("/admin/links?page=2")
	if n := strings.Count(body, `data-testid="link-row"`); n != 5 || !strings.Contains(body, "51–55 of 55") {
		t.Fatalf("page 2 has %d rows", n)
	}
	if res, _ := c.Get("/admin/links?state=live&page=9"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/links?page=2&state=live" {
		t.Fatalf("past the end: %d %q", res.StatusCode, res.Header.Get("Location"))
	}

	// The edit page asks before archiving; the POST archives and comes back.
	edit := fmt.Sprintf("/admin/links/%d", first.ID)
	_, body = c.Get(edit)
	if !strings.Contains(body, `action="`+edit+`/archive"`) || !strings.Contains(body, "<details") {
		t.Fatalf("no archive confirm step\n%s", body)
	}
	res, _ := c.PostForm(edit, edit+"/archive", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != edit+"?archived=1" {
		t.Fatalf("archive: status %d location %q", res.StatusCode, res.Header.Get("Location"))
	}
	got, err := store.LinkByID(context.Background(), app.DB, o.Workspace.ID, first.ID)
	if err != nil || got.State != models.LinkArchived {
		t.Fatalf("after archive: %+v %v", got, err)
	}
	_, body = c.Get("/admin/links?state=archived")
	if n := strings.Count(body, `data-testid="link-row"`); n != 1 || !strings.Contains(body, "state-archived") {
		t.Fatalf("archived filter shows %d rows", n)
	}
	// Without the CSRF token, archiving is refused.
	if res, _ := c.Do(http.MethodPost, edit+"/archive", url.Values{}, nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("archive without CSRF: %d", res.StatusCode)
	}
}

func TestLinkSubscribersEmpty(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Label")
	l := app.Link(o.Workspace.ID, "quiet", models.LinkLive, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))
	c := app.NewClient()
	c.Login(o)
	res, body := c.Get(fmt.Sprintf("/admin/links/%d/subscribers", l.ID))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "No signups yet — share") || !strings.Contains(body, app.URL+"/quiet") {
		t.Fatalf("empty subscribers: %d\n%s", res.StatusCode, body)
	}
}

func addSignup(t *testing.T, app *testapp.App, l *models.Link, email string) {
	t.Helper()
	ctx := context.Background()
	now := app.Clock.Now()
	sub := &models.Subscriber{WorkspaceID: l.WorkspaceID, Email: email, Platform: "spotify",
		Status: models.SubscriberActive, CreatedAt: now, UpdatedAt: now}
	if err := store.UpsertSubscriber(ctx, app.DB, sub); err != nil {
		t.Fatal(err)
	}
	su := &models.Signup{WorkspaceID: l.WorkspaceID, LinkID: l.ID, SubscriberID: sub.ID, Platform: "spotify",
		IP: "203.0.113.9", UserAgent: "test", ConsentVersion: "2026-11", ConsentedAt: now, CreatedAt: now}
	if err := store.UpsertSignup(ctx, app.DB, su); err != nil {
		t.Fatal(err)
	}
}

// A browser's same-origin POST is not read by the CSRF check, so the handler's
// own limit is what stops a huge upload, even when its length is not declared.
func TestLinkCreateStreamedBodyLimit(t *testing.T) {
	app := testapp.New(t, testapp.Options{Env: map[string]string{"DROPDAY_MAX_ARTWORK_MB": "1"}})
	o := app.CreateOwner("owner@example.com", "Label")
	c := app.NewClient()
	c.Login(o)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range validLink() {
		_ = mw.WriteField(k, vs[0])
	}
	fw, _ := mw.CreateFormFile("artwork", "huge.png")
	_, _ = fw.Write(noisyPNG(t, 900))
	_ = mw.Close()
	// io.MultiReader hides the length, so the request is sent chunked.
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/admin/links", io.MultiReader(&body))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, page := c.Send(req)
	if res.StatusCode != http.StatusRequestEntityTooLarge || fieldErrors(page)["artwork"] != "The image is larger than the 1 MB limit." {
		t.Fatalf("status %d errors %v", res.StatusCode, fieldErrors(page))
	}
	if app.CountRows("links") != 0 || artworkDirs(t, app) != 0 {
		t.Fatal("a too-large upload wrote something")
	}
}

// The same create, conflict and list on PostgreSQL, whose unique-violation
// error and count query differ from SQLite's.
func TestLinkCreateOnPostgres(t *testing.T) {
	app := testapp.New(t, testapp.Options{Postgres: true})
	o := app.CreateOwner("owner@example.com", "Label")
	c := app.NewClient()
	c.Login(o)
	res, body := postMultipart(t, app, c, "/admin/links", validLink(), &upload{"cover.png", pngBytes(t, 300, 300)})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", res.StatusCode, body)
	}
	dirs := artworkDirs(t, app)
	res, body = postMultipart(t, app, c, "/admin/links", validLink(), &upload{"cover.png", pngBytes(t, 300, 300)})
	if res.StatusCode != http.StatusUnprocessableEntity || fieldErrors(body)["slug"] != "That address is taken; choose another." {
		t.Fatalf("duplicate: %d %v", res.StatusCode, fieldErrors(body))
	}
	if app.CountRows("links") != 1 || artworkDirs(t, app) != dirs {
		t.Fatal("the duplicate wrote something")
	}
	_, body = c.Get("/admin/links?state=live")
	if strings.Count(body, `data-testid="link-row"`) != 1 || !strings.Contains(body, "Sat 5 Dec 2026, 00:00 CET") {
		t.Fatalf("list on PostgreSQL\n%s", body)
	}
}
