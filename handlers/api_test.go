package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

// api is a JSON client for /api/v1 with one token.
type api struct {
	t     *testing.T
	app   *testapp.App
	c     *testapp.Client
	token string
}

func newAPI(t *testing.T, app *testapp.App, token string) *api {
	return &api{t: t, app: app, c: app.NewClient(), token: token}
}

type apiRes struct {
	Status int
	Header http.Header
	Body   string
}

// do sends body (raw JSON, or "" for none) with the token and JSON content type.
func (a *api) do(method, path, body string) apiRes {
	a.t.Helper()
	h := http.Header{}
	if a.token != "" {
		h.Set("Authorization", "Bearer "+a.token)
	}
	if body != "" {
		h.Set("Content-Type", "application/json")
	}
	return a.raw(method, path, body, h)
}

func (a *api) raw(method, path, body string, h http.Header) apiRes {
	a.t.Helper()
	req, err := http.NewRequest(method, a.app.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header = h
	res, b := a.c.Send(req)
	return apiRes{res.StatusCode, res.Header, b}
}

// decode parses the body into v or fails the test.
func (r apiRes) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("status %d, body not JSON (%v):\n%s", r.Status, err, r.Body)
	}
}

type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// wantError checks an error response's status, code and field.
func (r apiRes) wantError(t *testing.T, status int, code, field string) apiErr {
	t.Helper()
	var e apiErr
	r.decode(t, &e)
	if r.Status != status || e.Error.Code != code || e.Error.Field != field || e.Error.Message == "" {
		t.Fatalf("got %d %q field %q, want %d %q field %q\n%s", r.Status, e.Error.Code, e.Error.Field, status, code, field, r.Body)
	}
	return e
}

type linkJSON struct {
	ID           int64   `json:"id"`
	Slug         string  `json:"slug"`
	URL          string  `json:"url"`
	Title        string  `json:"title"`
	Artist       string  `json:"artist"`
	Subtitle     string  `json:"subtitle"`
	ArtworkURL   *string `json:"artwork_url"`
	ReleaseAt    string  `json:"release_at"`
	TimeZone     string  `json:"time_zone"`
	ReleaseLocal string  `json:"release_local"`
	Source       *struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	} `json:"source"`
	State       string `json:"state"`
	SignupCount int    `json:"signup_count"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

type linkPage struct {
	Data   []linkJSON `json:"data"`
	Total  int        `json:"total"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
}

func TestAPIAuthentication(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Label")
	good := app.APIToken(o.Workspace.ID)
	anon := newAPI(t, app, "")

	cases := []struct{ name, header string }{
		{"missing", ""},
		{"not bearer", "Basic " + good},
		{"bearer without token", "Bearer"},
		{"bearer with spaces", "Bearer " + good + " extra"},
		{"no prefix", "Bearer " + strings.TrimPrefix(good, "dd_")},
		{"unknown", "Bearer dd_" + strings.Repeat("x", 43)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.header != "" {
				h.Set("Authorization", tc.header)
			}
			res := anon.raw(http.MethodGet, "/api/v1/links", "", h)
			e := res.wantError(t, http.StatusUnauthorized, "unauthorized", "")
			if !strings.Contains(e.Error.Message, "Authorization: Bearer") {
				t.Errorf("message does not say how to authenticate: %q", e.Error.Message)
			}
			if got := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer realm="dropday"`) {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
		})
	}

	// A good token works; the scheme is case-insensitive (RFC 7235).
	res := anon.raw(http.MethodGet, "/api/v1/links", "", http.Header{"Authorization": {"bearer " + good}})
	if res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("good token: %d %q\n%s", res.Status, res.Header.Get("Cache-Control"), res.Body)
	}

	// A deleted (revoked) token stops working at once.
	ts, err := store.APITokens(context.Background(), app.DB, o.Workspace.ID)
	if err != nil || len(ts) != 1 {
		t.Fatalf("tokens = %v, %v", ts, err)
	}
	if err := store.DeleteAPIToken(context.Background(), app.DB, o.Workspace.ID, ts[0].ID); err != nil {
		t.Fatal(err)
	}
	newAPI(t, app, good).do(http.MethodGet, "/api/v1/links", "").wantError(t, http.StatusUnauthorized, "unauthorized", "")
}

func TestAPITokenLastUsedIsThrottled(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Label")
	a := newAPI(t, app, app.APIToken(o.Workspace.ID))
	lastUsed := func() *time.Time {
		t.Helper()
		ts, err := store.APITokens(context.Background(), app.DB, o.Workspace.ID)
		if err != nil {
			t.Fatal(err)
		}
		return ts[0].LastUsedAt
	}
	if lastUsed() != nil {
		t.Fatal("a new token has a last use")
	}
	a.do(http.MethodGet, "/api/v1/links", "")
	first := lastUsed()
	if first == nil || !first.Equal(testapp.Start) {
		t.Fatalf("last_used_at after first call = %v, want %v", first, testapp.Start)
	}
	app.Clock.Advance(30 * time.Second)
	a.do(http.MethodGet, "/api/v1/links", "")
	if got := lastUsed(); !got.Equal(*first) {
		t.Fatalf("last_used_at written again within a minute: %v", got)
	}
	app.Clock.Advance(31 * time.Second)
	a.do(http.MethodGet, "/api/v1/links", "")
	if got := lastUsed(); !got.Equal(testapp.Start.Add(61 * time.Second)) {
		t.Fatalf("last_used_at after a minute = %v", got)
	}
}

func TestAPILinksSQLite(t *testing.T) { testAPILinks(t, testapp.New(t)) }

func TestAPILinksPostgres(t *testing.T) {
	testAPILinks(t, testapp.New(t, testapp.Options{Postgres: true}))
}

// testAPILinks walks create → get → list → patch on one dialect.
func testAPILinks(t *testing.T, app *testapp.App) {
	o := app.CreateOwner("owner@example.com", "Label")
	a := newAPI(t, app, app.APIToken(o.Workspace.ID))

	res := a.do(http.MethodPost, "/api/v1/links", `{
		"title": "Night Drive", "artist": "Mara Lune", "subtitle": "The new single",
		"time_zone": "Europe/Berlin", "release_local": "2026-12-05T00:00",
		"source": "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy?si=abc", "state": "live"}`)
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d\n%s", res.Status, res.Body)
	}
	var created linkJSON
	res.decode(t, &created)
	wantLoc := fmt.Sprintf("%s/api/v1/links/%d", app.URL, created.ID)
	if got := res.Header.Get("Location"); got != wantLoc {
		t.Fatalf("Location = %q, want %q", got, wantLoc)
	}
	if created.Slug != "mara-lune-night-drive" || created.URL != app.URL+"/mara-lune-night-drive" ||
		created.ReleaseAt != "2026-12-04T23:00:00Z" || created.ReleaseLocal != "2026-12-05T00:00" ||
		created.TimeZone != "Europe/Berlin" || created.State != "live" || created.ArtworkURL != nil ||
		created.Source == nil || created.Source.Kind != "spotify_album" || created.Source.Value != "spotify:album:4aawyAB9vmqN3uQ7FjRGTy" ||
		created.CreatedAt != "2026-11-21T12:00:00Z" || created.SignupCount != 0 {
		t.Fatalf("created link: %+v", created)
	}

	// GET returns the same link.
	var got linkJSON
	res = a.do(http.MethodGet, fmt.Sprintf("/api/v1/links/%d", created.ID), "")
	res.decode(t, &got)
	if res.Status != http.StatusOK || !reflect.DeepEqual(got, created) {
		t.Fatalf("get: %d %+v, want %+v", res.Status, got, created)
	}

	// A second link, a draft given by release_at, without a source.
	res = a.do(http.MethodPost, "/api/v1/links", `{"slug": "winter-ep", "title": "Winter", "artist": "Mara Lune",
		"time_zone": "America/New_York", "release_at": "2027-01-15T05:00:00Z"}`)
	var draft linkJSON
	res.decode(t, &draft)
	if res.Status != http.StatusCreated || draft.ReleaseLocal != "2027-01-15T00:00" || draft.ReleaseAt != "2027-01-15T05:00:00Z" ||
		draft.State != "draft" || draft.Source != nil {
		t.Fatalf("create draft: %d %+v", res.Status, draft)
	}

	// The list has both; the state filter narrows it; paging reports the total.
	var page linkPage
	a.do(http.MethodGet, "/api/v1/links", "").decode(t, &page)
	if page.Total != 2 || len(page.Data) != 2 || page.Limit != 50 || page.Offset != 0 {
		t.Fatalf("list: %+v", page)
	}
	page = linkPage{}
	a.do(http.MethodGet, "/api/v1/links?state=draft", "").decode(t, &page)
	if page.Total != 1 || len(page.Data) != 1 || page.Data[0].Slug != "winter-ep" {
		t.Fatalf("list drafts: %+v", page)
	}
	page = linkPage{}
	a.do(http.MethodGet, "/api/v1/links?limit=1&offset=1", "").decode(t, &page)
	if page.Total != 2 || len(page.Data) != 1 || page.Limit != 1 || page.Offset != 1 {
		t.Fatalf("list page 2: %+v", page)
	}

	// PATCH changes only the fields sent.
	app.Clock.Advance(time.Hour)
	path := fmt.Sprintf("/api/v1/links/%d", created.ID)
	res = a.do(http.MethodPatch, path, `{"title": "Night Drive (Deluxe)"}`)
	var patched linkJSON
	res.decode(t, &patched)
	want := created
	want.Title, want.UpdatedAt = "Night Drive (Deluxe)", "2026-11-21T13:00:00Z"
	if res.Status != http.StatusOK || !reflect.DeepEqual(patched, want) {
		t.Fatalf("patch title: %d\n got %+v\nwant %+v", res.Status, patched, want)
	}
	// Changing the zone alone keeps the local wall-clock time and moves the instant.
	patched = linkJSON{}
	a.do(http.MethodPatch, path, `{"time_zone": "America/New_York"}`).decode(t, &patched)
	if patched.ReleaseLocal != "2026-12-05T00:00" || patched.ReleaseAt != "2026-12-05T05:00:00Z" || patched.Title != "Night Drive (Deluxe)" {
		t.Fatalf("patch zone: %+v", patched)
	}
	// release_at is converted to the link's zone; clearing the source with "".
	patched = linkJSON{}
	a.do(http.MethodPatch, path, `{"release_at": "2026-12-06T00:00:00+01:00", "source": ""}`).decode(t, &patched)
	if patched.ReleaseLocal != "2026-12-05T18:00" || patched.ReleaseAt != "2026-12-05T23:00:00Z" || patched.Source != nil {
		t.Fatalf("patch release_at: %+v", patched)
	}
	stored, err := store.LinkByID(context.Background(), app.DB, o.Workspace.ID, created.ID)
	if err != nil || stored.Title != "Night Drive (Deluxe)" || stored.TimeZone != "America/New_York" || stored.SourceKind != "" ||
		!stored.ReleaseAt.Equal(time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC)) || stored.Slug != "mara-lune-night-drive" {
		t.Fatalf("stored after patches: %+v, %v", stored, err)
	}
}

func TestAPILinkValidation(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Label")
	a := newAPI(t, app, app.APIToken(o.Workspace.ID))
	release := time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC)
	existing := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, release)
	app.Link(o.Workspace.ID, "taken-slug", models.LinkDraft, release)
	ctx := context.Background()
	before, err := store.LinkByID(ctx, app.DB, o.Workspace.ID, existing.ID)
	if err != nil {
		t.Fatal(err)
	}
	patchPath := fmt.Sprintf("/api/v1/links/%d", existing.ID)
	valid := `"title": "T", "artist": "A", "time_zone": "Europe/Berlin", "release_local": "2026-12-05T00:00"`

	cases := []struct {
		name        string
		method      string
		body        string
		contentType string
		status      int
		code, field string
	}{
		{"bad slug", "POST", `{"slug": "Not A Slug!", ` + valid + `}`, "", 422, "invalid", "slug"},
		{"reserved slug", "POST", `{"slug": "admin", ` + valid + `}`, "", 422, "invalid", "slug"},
		{"duplicate slug", "POST", `{"slug": "taken-slug", ` + valid + `}`, "", 409, "conflict", "slug"},
		{"missing title", "POST", `{"slug": "no-title", "artist": "A", "time_zone": "Europe/Berlin", "release_local": "2026-12-05T00:00"}`, "", 422, "invalid", "title"},
		{"bad time zone", "POST", `{"title": "T", "artist": "A", "time_zone": "Mars/Olympus", "release_local": "2026-12-05T00:00"}`, "", 422, "invalid", "time_zone"},
		{"bad spotify url", "POST", `{"source": "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M", ` + valid + `}`, "", 422, "invalid", "source"},
		{"bad upc", "POST", `{"source": "123456789013", ` + valid + `}`, "", 422, "invalid", "source"},
		{"bad isrc", "POST", `{"source": "USRC176078AB", ` + valid + `}`, "", 422, "invalid", "source"},
		{"bad state", "POST", `{"state": "published", ` + valid + `}`, "", 422, "invalid", "state"},
		{"no release time", "POST", `{"title": "T", "artist": "A", "time_zone": "Europe/Berlin"}`, "", 422, "invalid", "release_local"},
		{"both release fields", "POST", `{"release_at": "2026-12-04T23:00:00Z", ` + valid + `}`, "", 422, "invalid", "release_at"},
		{"bad release_local", "POST", `{"title": "T", "artist": "A", "time_zone": "Europe/Berlin", "release_local": "05.12.2026"}`, "", 422, "invalid", "release_local"},
		{"release_at without offset", "POST", `{"title": "T", "artist": "A", "time_zone": "Europe/Berlin", "release_at": "2026-12-05T00:00:00"}`, "", 422, "invalid", "release_at"},
		{"skipped DST wall time", "POST", `{"title": "T", "artist": "A", "time_zone": "Europe/Berlin", "release_local": "2027-03-28T02:30"}`, "", 422, "invalid", "release_local"},
		{"malformed JSON", "POST", `{"title": "T",`, "", 400, "bad_request", ""},
		{"unknown field", "POST", `{"titel": "T", ` + valid + `}`, "", 400, "bad_request", "titel"},
		{"wrong type", "POST", `{"title": 7, "artist": "A", "time_zone": "Europe/Berlin", "release_local": "2026-12-05T00:00"}`, "", 400, "bad_request", "title"},
		{"not an object", "POST", `["title"]`, "", 400, "bad_request", ""},
		{"two objects", "POST", `{` + valid + `} {}`, "", 400, "bad_request", ""},
		{"empty body", "POST", ``, "application/json", 400, "bad_request", ""},
		{"wrong content type", "POST", `{` + valid + `}`, "text/plain", 400, "bad_request", ""},
		{"form content type", "POST", `title=T`, "application/x-www-form-urlencoded", 400, "bad_request", ""},
		{"too large", "POST", `{"title": "` + strings.Repeat("x", 70<<10) + `"}`, "", 413, "too_large", ""},
		{"patch bad slug", "PATCH", `{"slug": "-bad-"}`, "", 422, "invalid", "slug"},
		{"patch empty slug", "PATCH", `{"slug": ""}`, "", 422, "invalid", "slug"},
		{"patch duplicate slug", "PATCH", `{"slug": "taken-slug"}`, "", 409, "conflict", "slug"},
		{"patch bad time zone", "PATCH", `{"time_zone": "Berlin"}`, "", 422, "invalid", "time_zone"},
		{"patch bad spotify uri", "PATCH", `{"source": "spotify:artist:4aawyAB9vmqN3uQ7FjRGTy"}`, "", 422, "invalid", "source"},
		{"patch bad upc", "PATCH", `{"source": "12345"}`, "", 422, "invalid", "source"},
		{"patch bad isrc", "PATCH", `{"source": "USRC1760783"}`, "", 422, "invalid", "source"},
		{"patch both release fields", "PATCH", `{"release_at": "2026-12-04T23:00:00Z", "release_local": "2026-12-05T00:00"}`, "", 422, "invalid", "release_at"},
		{"patch release_at seconds", "PATCH", `{"release_at": "2026-12-04T23:00:30Z"}`, "", 422, "invalid", "release_at"},
		{"patch null release", "PATCH", `{"release_local": null}`, "", 422, "invalid", "release_local"},
		{"patch empty title", "PATCH", `{"title": "  "}`, "", 422, "invalid", "title"},
		{"patch title with a tab", "PATCH", `{"title": "a\tb"}`, "", 422, "invalid", "title"},
		{"patch malformed JSON", "PATCH", `{"title": }`, "", 400, "bad_request", ""},
		{"patch unknown field", "PATCH", `{"artwork_url": "https://example.com/a.jpg"}`, "", 400, "bad_request", "artwork_url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/v1/links"
			if tc.method == "PATCH" {
				path = patchPath
			}
			ct := tc.contentType
			if ct == "" {
				ct = "application/json"
			}
			h := http.Header{"Authorization": {"Bearer " + a.token}, "Content-Type": {ct}}
			a.raw(tc.method, path, tc.body, h).wantError(t, tc.status, tc.code, tc.field)
			if n := app.CountRows("links"); n != 2 {
				t.Fatalf("links = %d after a refused request, want 2", n)
			}
			after, err := store.LinkByID(ctx, app.DB, o.Workspace.ID, existing.ID)
			if err != nil || !reflect.DeepEqual(after, before) {
				t.Fatalf("stored link changed:\n got %+v\nwant %+v (%v)", after, before, err)
			}
		})
	}
}

func TestAPIListParams(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Label")
	a := newAPI(t, app, app.APIToken(o.Workspace.ID))
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, testapp.Start.AddDate(0, 1, 0))
	for _, tc := range []struct{ query, field string }{
		{"limit=0", "limit"}, {"limit=201", "limit"}, {"limit=ten", "limit"},
		{"offset=-1", "offset"}, {"offset=x", "offset"}, {"state=published", "state"},
	} {
		a.do(http.MethodGet, "/api/v1/links?"+tc.query, "").wantError(t, http.StatusUnprocessableEntity, "invalid", tc.field)
	}
	a.do(http.MethodGet, fmt.Sprintf("/api/v1/links/%d/subscribers?limit=500", l.ID), "").
		wantError(t, http.StatusUnprocessableEntity, "invalid", "limit")
	var page linkPage
	a.do(http.MethodGet, "/api/v1/links?limit=200&offset=5", "").decode(t, &page)
	if page.Total != 1 || len(page.Data) != 0 || page.Limit != 200 || page.Offset != 5 || page.Data == nil {
		t.Fatalf("past the end: %+v", page)
	}
}

func TestAPIWorkspaceIsolation(t *testing.T) {
	app := testapp.New(t)
	mine := app.CreateOwner("owner@example.com", "Label")
	theirs := app.CreateOwner("other@example.com", "Other label")
	a := newAPI(t, app, app.APIToken(mine.Workspace.ID))
	their := app.Link(theirs.Workspace.ID, "their-single", models.LinkLive, testapp.Start.AddDate(0, 1, 0))
	before, _ := store.LinkByID(context.Background(), app.DB, theirs.Workspace.ID, their.ID)

	for _, tc := range []struct{ method, path, body string }{
		{"GET", fmt.Sprintf("/api/v1/links/%d", their.ID), ""},
		{"PATCH", fmt.Sprintf("/api/v1/links/%d", their.ID), `{"title": "Mine now"}`},
		{"GET", fmt.Sprintf("/api/v1/links/%d/subscribers", their.ID), ""},
		{"GET", "/api/v1/links/abc", ""},
		{"PATCH", "/api/v1/links/-1", `{"title": "x"}`},
		{"GET", "/api/v1/links/999999/subscribers", ""},
	} {
		a.do(tc.method, tc.path, tc.body).wantError(t, http.StatusNotFound, "not_found", "")
	}
	after, _ := store.LinkByID(context.Background(), app.DB, theirs.Workspace.ID, their.ID)
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("another workspace's link changed: %+v", after)
	}
	var page linkPage
	a.do(http.MethodGet, "/api/v1/links", "").decode(t, &page)
	if page.Total != 0 || len(page.Data) != 0 {
		t.Fatalf("list shows another workspace's links: %+v", page)
	}
	// A slug is unique across workspaces (it is the public URL): taken is a 409, not a leak of data.
	a.do(http.MethodPost, "/api/v1/links", `{"slug": "their-single", "title": "T", "artist": "A", "time_zone": "UTC", "release_local": "2026-12-05T00:00"}`).
		wantError(t, http.StatusConflict, "conflict", "slug")
}

func TestAPISubscribers(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Label")
	a := newAPI(t, app, app.APIToken(o.Workspace.ID))
	l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, testapp.Start.AddDate(0, 1, 0))
	other := app.Link(o.Workspace.ID, "other-single", models.LinkLive, testapp.Start.AddDate(0, 1, 0))
	ctx := context.Background()
	signup := func(link *models.Link, email, platform string, at time.Time) {
		t.Helper()
		sub := &models.Subscriber{WorkspaceID: o.Workspace.ID, Email: email, Platform: platform,
			Status: models.SubscriberActive, CreatedAt: at, UpdatedAt: at}
		if err := store.UpsertSubscriber(ctx, app.DB, sub); err != nil {
			t.Fatal(err)
		}
		if err := store.UpsertSignup(ctx, app.DB, &models.Signup{WorkspaceID: o.Workspace.ID, LinkID: link.ID,
			SubscriberID: sub.ID, Platform: platform, IP: "203.0.113.9", UserAgent: "test", ConsentVersion: "v1",
			ConsentedAt: at, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	signup(l, "first@example.com", "amazon_music", testapp.Start)
	signup(l, "second@example.com", "soundcloud", testapp.Start.Add(time.Hour))
	signup(other, "third@example.com", "other", testapp.Start)

	type sub struct {
		Email            string `json:"email"`
		Platform         string `json:"platform"`
		SignedUpAt       string `json:"signed_up_at"`
		ConsentVersion   string `json:"consent_version"`
		SubscriberStatus string `json:"subscriber_status"`
	}
	var page struct {
		Data                 []sub `json:"data"`
		Total, Limit, Offset int
	}
	res := a.do(http.MethodGet, fmt.Sprintf("/api/v1/links/%d/subscribers", l.ID), "")
	res.decode(t, &page)
	want := []sub{
		{"second@example.com", "soundcloud", "2026-11-21T13:00:00Z", "v1", "active"},
		{"first@example.com", "amazon_music", "2026-11-21T12:00:00Z", "v1", "active"},
	}
	if res.Status != http.StatusOK || page.Total != 2 || !reflect.DeepEqual(page.Data, want) {
		t.Fatalf("subscribers: %d %+v\n%s", res.Status, page, res.Body)
	}
	if strings.Contains(res.Body, "203.0.113.9") {
		t.Fatal("the API exposes the fan's IP address")
	}
	page.Data = nil
	a.do(http.MethodGet, fmt.Sprintf("/api/v1/links/%d/subscribers?limit=1&offset=1", l.ID), "").decode(t, &page)
	if page.Total != 2 || len(page.Data) != 1 || page.Data[0].Email != "first@example.com" {
		t.Fatalf("subscribers page 2: %+v", page)
	}
	// The link itself reports its signup count.
	var lj linkJSON
	a.do(http.MethodGet, fmt.Sprintf("/api/v1/links/%d", l.ID), "").decode(t, &lj)
	if lj.SignupCount != 2 {
		t.Fatalf("signup_count = %d, want 2", lj.SignupCount)
	}
}

// When the clocks fall back, 02:30 happens twice in Berlin; release_at names
// one of them and must be kept exactly, not re-derived from the wall time.
func TestAPIReleaseAtInTheRepeatedHour(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Label")
	a := newAPI(t, app, app.APIToken(o.Workspace.ID))
	for _, at := range []string{"2027-10-31T00:30:00Z", "2027-10-31T01:30:00Z"} {
		res := a.do(http.MethodPost, "/api/v1/links", `{"title": "T `+at[11:13]+`", "artist": "A", "time_zone": "Europe/Berlin", "release_at": "`+at+`"}`)
		var l linkJSON
		res.decode(t, &l)
		if res.Status != http.StatusCreated || l.ReleaseAt != at || l.ReleaseLocal != "2027-10-31T02:30" {
			t.Fatalf("release_at %s: %d %+v", at, res.Status, l)
		}
	}
}
