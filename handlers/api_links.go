package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/apitokens"
	"github.com/dropday/dropday/internal/artwork"
	"github.com/dropday/dropday/internal/links"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
)

const (
	// apiMaxBody bounds a JSON request: a link is well under 2 KB, so 64 KB
	// leaves room for any honest client and none for a memory attack.
	apiMaxBody = 64 << 10
	// apiTouchEvery spaces out last_used_at writes: an integration polling
	// every second must not turn every read into a write.
	apiTouchEvery = time.Minute
	apiLimitMax   = 200
	apiLimitDef   = 50
	// apiLocalLayout is release_local: a wall-clock time in the link's time zone.
	apiLocalLayout = "2006-01-02T15:04"
)

const apiAuthHelp = "Send a workspace API token as 'Authorization: Bearer dd_…'. Owners create tokens in the admin panel under Settings → API tokens."

// requireAPIToken authenticates /api/v1 calls by bearer token and scopes them
// to the token's workspace. The token itself is never logged.
func (s *Server) requireAPIToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Cache-Control", "no-store")
		presented, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			h.Set("WWW-Authenticate", `Bearer realm="dropday"`)
			return echo.NewHTTPError(http.StatusUnauthorized, "Missing or malformed Authorization header. "+apiAuthHelp)
		}
		ctx := c.Request().Context()
		t, err := apitokens.Authenticate(ctx, s.DB, presented)
		if errors.Is(err, store.ErrNotFound) {
			h.Set("WWW-Authenticate", `Bearer realm="dropday", error="invalid_token"`)
			return echo.NewHTTPError(http.StatusUnauthorized, "This API token is not valid: it was mistyped or deleted. "+apiAuthHelp)
		}
		if err != nil {
			return err
		}
		if now := s.Now(); t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= apiTouchEvery {
			if err := store.TouchAPIToken(ctx, s.DB, t.ID, now); err != nil {
				// Bookkeeping only: the call itself can still be served.
				loggerOf(c, s.Log).Warn("could not record API token use", "err", err, "api_token_id", t.ID)
			}
		}
		c.Set(ctxAPI, t)
		c.Set(ctxLogger, loggerOf(c, s.Log).With("api_token_id", t.ID, "workspace_id", t.WorkspaceID))
		return next(c)
	}
}

// bearerToken extracts the credentials of an RFC 6750 Authorization header.
func bearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

func apiTokenOf(c echo.Context) *models.APIToken { return c.Get(ctxAPI).(*models.APIToken) }

// apiLink is a link as the API shows it.
type apiLink struct {
	ID           int64      `json:"id"`
	Slug         string     `json:"slug"`
	URL          string     `json:"url"`
	Title        string     `json:"title"`
	Artist       string     `json:"artist"`
	Subtitle     string     `json:"subtitle"`
	ArtworkURL   *string    `json:"artwork_url"`
	ReleaseAt    string     `json:"release_at"`
	TimeZone     string     `json:"time_zone"`
	ReleaseLocal string     `json:"release_local"`
	Source       *apiSource `json:"source"`
	State        string     `json:"state"`
	SignupCount  int        `json:"signup_count"`
	CreatedAt    string     `json:"created_at"`
	UpdatedAt    string     `json:"updated_at"`
}

type apiSource struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

func (s *Server) apiLinkJSON(l *models.Link) apiLink {
	out := apiLink{ID: l.ID, Slug: l.Slug, URL: s.Config.URL("/" + l.Slug), Title: l.Title, Artist: l.Artist,
		Subtitle: l.Subtitle, ReleaseAt: utc(l.ReleaseAt), TimeZone: l.TimeZone, State: l.State,
		SignupCount: l.SignupCount, CreatedAt: utc(l.CreatedAt), UpdatedAt: utc(l.UpdatedAt)}
	if l.Artwork != "" {
		u := s.Config.URL(artwork.URL(l.Artwork, 640))
		out.ArtworkURL = &u
	}
	if l.SourceKind != models.SourceNone {
		out.Source = &apiSource{Kind: l.SourceKind, Value: l.SourceValue}
	}
	if loc, err := time.LoadLocation(l.TimeZone); err == nil {
		out.ReleaseLocal = l.ReleaseAt.In(loc).Format(apiLocalLayout)
	}
	return out
}

func utc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// apiPage is the envelope of every list.
type apiPage[T any] struct {
	Data   []T `json:"data"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// pageParams reads limit and offset from the query string.
func pageParams(c echo.Context) (limit, offset int, errs validate.Errors) {
	limit, offset = apiLimitDef, 0
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > apiLimitMax {
			errs.Add("limit", fmt.Sprintf("limit must be a whole number from 1 to %d.", apiLimitMax))
		}
		limit = n
	}
	if v := c.QueryParam("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs.Add("offset", "offset must be a whole number, 0 or more.")
		}
		offset = n
	}
	return limit, offset, errs
}

func (s *Server) apiLinkList(c echo.Context) error {
	limit, offset, errs := pageParams(c)
	state := c.QueryParam("state")
	if state != "" && !validLinkState(state) {
		errs.Add("state", "state must be one of: "+strings.Join(models.LinkStates, ", ")+".")
	}
	if errs.Has() {
		return errs
	}
	ls, total, err := store.ListLinks(c.Request().Context(), s.DB, apiTokenOf(c).WorkspaceID,
		store.LinkFilter{State: state, Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	page := apiPage[apiLink]{Data: make([]apiLink, 0, len(ls)), Total: total, Limit: limit, Offset: offset}
	for i := range ls {
		page.Data = append(page.Data, s.apiLinkJSON(&ls[i]))
	}
	return c.JSON(http.StatusOK, page)
}

func validLinkState(s string) bool {
	for _, st := range models.LinkStates {
		if s == st {
			return true
		}
	}
	return false
}

// apiLinkByID loads the link the URL names, within the token's workspace;
// a malformed id and another workspace's id look the same: 404.
func (s *Server) apiLinkByID(c echo.Context) (*models.Link, error) {
	notFound := echo.NewHTTPError(http.StatusNotFound, "There is no link with id "+strconv.Quote(c.Param("id"))+" in this token's workspace.")
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, notFound
	}
	ctx := c.Request().Context()
	l, err := store.LinkByID(ctx, s.DB, apiTokenOf(c).WorkspaceID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if err := s.fillSignupCount(c, l); err != nil {
		return nil, err
	}
	return l, nil
}

// fillSignupCount counts a single link's signups; the list query counts them in bulk.
func (s *Server) fillSignupCount(c echo.Context, l *models.Link) error {
	_, total, err := store.LinkSignups(c.Request().Context(), s.DB, l.WorkspaceID, l.ID, store.SignupFilter{Limit: 1})
	if err != nil {
		return err
	}
	l.SignupCount = total
	return nil
}

func (s *Server) apiLinkGet(c echo.Context) error {
	l, err := s.apiLinkByID(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.apiLinkJSON(l))
}

func (s *Server) apiLinkCreate(c echo.Context) error {
	var body apiLinkInput
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	in := links.Input{}
	body.overlay(&in)
	if !body.ReleaseAt.given() && !body.ReleaseLocal.given() {
		var errs validate.Errors
		errs.Add("release_local", `Give the release time, either as release_local ("2026-12-05T00:00", in time_zone) or as release_at (RFC 3339, like "2026-12-04T23:00:00Z").`)
		return errs
	}
	if errs := body.releaseInto(&in); errs.Has() {
		return errs
	}
	now := s.Now()
	l := &models.Link{WorkspaceID: apiTokenOf(c).WorkspaceID, CreatedAt: now, UpdatedAt: now}
	if errs := links.Apply(l, in); errs.Has() {
		return body.rename(errs)
	}
	body.exact(l)
	if err := store.CreateLink(c.Request().Context(), s.DB, l); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return apiFail(http.StatusConflict, "conflict", "The slug "+strconv.Quote(l.Slug)+" is taken; choose another.", "slug")
		}
		return err
	}
	loggerOf(c, s.Log).Info("link created through the API", "link_id", l.ID)
	c.Response().Header().Set(echo.HeaderLocation, s.Config.URL(fmt.Sprintf("/api/v1/links/%d", l.ID)))
	return c.JSON(http.StatusCreated, s.apiLinkJSON(l))
}

func (s *Server) apiLinkUpdate(c echo.Context) error {
	l, err := s.apiLinkByID(c)
	if err != nil {
		return err
	}
	var body apiLinkInput
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if body.Slug.set && strings.TrimSpace(body.Slug.v) == "" {
		var errs validate.Errors
		errs.Add("slug", "A link's slug can be changed but not removed; give the new slug.")
		return errs
	}
	if !body.any() {
		return c.JSON(http.StatusOK, s.apiLinkJSON(l))
	}
	in := links.FromLink(l)
	body.overlay(&in)
	if errs := body.releaseInto(&in); errs.Has() {
		return errs
	}
	// Apply into a copy: on any error the stored link stays exactly as it was.
	updated := *l
	if errs := links.Apply(&updated, in); errs.Has() {
		return body.rename(errs)
	}
	body.exact(&updated)
	updated.UpdatedAt = s.Now()
	if err := store.UpdateLink(c.Request().Context(), s.DB, &updated); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return apiFail(http.StatusConflict, "conflict", "The slug "+strconv.Quote(updated.Slug)+" is taken; choose another.", "slug")
		}
		return err
	}
	loggerOf(c, s.Log).Info("link updated through the API", "link_id", l.ID)
	return c.JSON(http.StatusOK, s.apiLinkJSON(&updated))
}

// apiSignup is one subscriber's signup through a link.
type apiSignup struct {
	Email            string `json:"email"`
	Platform         string `json:"platform"`
	SignedUpAt       string `json:"signed_up_at"`
	ConsentVersion   string `json:"consent_version"`
	SubscriberStatus string `json:"subscriber_status"`
}

func (s *Server) apiLinkSubscribers(c echo.Context) error {
	l, err := s.apiLinkByID(c)
	if err != nil {
		return err
	}
	limit, offset, errs := pageParams(c)
	if errs.Has() {
		return errs
	}
	ss, total, err := store.LinkSignups(c.Request().Context(), s.DB, l.WorkspaceID, l.ID,
		store.SignupFilter{Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	page := apiPage[apiSignup]{Data: make([]apiSignup, 0, len(ss)), Total: total, Limit: limit, Offset: offset}
	for _, sg := range ss {
		out := apiSignup{Platform: sg.Platform, SignedUpAt: utc(sg.ConsentedAt), ConsentVersion: sg.ConsentVersion}
		if sg.Subscriber != nil {
			out.Email, out.SubscriberStatus = sg.Subscriber.Email, sg.Subscriber.Status
		}
		page.Data = append(page.Data, out)
	}
	return c.JSON(http.StatusOK, page)
}

// optString is a JSON string field that remembers whether it was sent, so a
// PATCH changes only what is present. null counts as sent and empty.
type optString struct {
	set bool
	v   string
}

func (o *optString) UnmarshalJSON(b []byte) error {
	o.set = true
	if string(b) == "null" {
		o.v = ""
		return nil
	}
	return json.Unmarshal(b, &o.v)
}

func (o optString) given() bool { return o.set && strings.TrimSpace(o.v) != "" }

// apiLinkInput is the body of POST and PATCH /api/v1/links.
type apiLinkInput struct {
	Slug         optString `json:"slug"`
	Title        optString `json:"title"`
	Artist       optString `json:"artist"`
	Subtitle     optString `json:"subtitle"`
	TimeZone     optString `json:"time_zone"`
	State        optString `json:"state"`
	Source       optString `json:"source"`
	ReleaseLocal optString `json:"release_local"`
	ReleaseAt    optString `json:"release_at"`

	// instant is release_at parsed, kept because a wall time in the hour
	// the clocks fall back names two moments and links.Apply can pick either.
	instant time.Time
}

// exact restores the moment release_at named after links.Apply validated it.
func (b *apiLinkInput) exact(l *models.Link) {
	if !b.instant.IsZero() {
		l.ReleaseAt = b.instant.UTC()
	}
}

func (b *apiLinkInput) any() bool {
	for _, f := range []optString{b.Slug, b.Title, b.Artist, b.Subtitle, b.TimeZone, b.State, b.Source, b.ReleaseLocal, b.ReleaseAt} {
		if f.set {
			return true
		}
	}
	return false
}

// overlay copies the fields present in the body onto in.
func (b *apiLinkInput) overlay(in *links.Input) {
	for _, f := range []struct {
		src optString
		dst *string
	}{{b.Slug, &in.Slug}, {b.Title, &in.Title}, {b.Artist, &in.Artist}, {b.Subtitle, &in.Subtitle},
		{b.TimeZone, &in.TimeZone}, {b.State, &in.State}, {b.Source, &in.Source}} {
		if f.src.set {
			*f.dst = f.src.v
		}
	}
}

// releaseInto turns release_local or release_at into the date and time
// links.Apply reads, in in.TimeZone (already overlaid).
func (b *apiLinkInput) releaseInto(in *links.Input) validate.Errors {
	var errs validate.Errors
	switch {
	case b.ReleaseAt.given() && b.ReleaseLocal.given():
		errs.Add("release_at", "Give release_at or release_local, not both.")
	case b.ReleaseLocal.given():
		t, err := time.Parse(apiLocalLayout, strings.TrimSpace(b.ReleaseLocal.v))
		if err != nil {
			errs.Add("release_local", `release_local is a wall-clock time in time_zone, written "YYYY-MM-DDTHH:MM", like "2026-12-05T00:00".`)
			break
		}
		in.ReleaseDate, in.ReleaseTime = t.Format("2006-01-02"), t.Format("15:04")
	case b.ReleaseAt.given():
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(b.ReleaseAt.v))
		if err != nil {
			errs.Add("release_at", `release_at is an RFC 3339 time with its offset, like "2026-12-04T23:00:00Z" or "2026-12-05T00:00:00+01:00".`)
			break
		}
		if t.Second() != 0 || t.Nanosecond() != 0 {
			errs.Add("release_at", "Releases are scheduled to the minute; set the seconds to 00.")
			break
		}
		// An unknown zone is reported by links.Apply as time_zone; convert in UTC meanwhile.
		loc := time.UTC
		if l, msg := links.LoadZone(strings.TrimSpace(in.TimeZone)); msg == "" {
			loc = l
		}
		local := t.In(loc)
		b.instant = t
		in.ReleaseDate, in.ReleaseTime = local.Format("2006-01-02"), local.Format("15:04")
	case b.ReleaseAt.set || b.ReleaseLocal.set:
		// Sent but empty or null: a release time can be changed, not removed.
		field := "release_local"
		if b.ReleaseAt.set {
			field = "release_at"
		}
		errs.Add(field, "A link needs a release time; it can be changed but not removed.")
	}
	return errs
}

// rename maps links.Apply's form field names to the JSON fields the client sent.
func (b *apiLinkInput) rename(errs validate.Errors) validate.Errors {
	out := make(validate.Errors, len(errs))
	for i, e := range errs {
		if e.Field == "release_date" || e.Field == "release_time" {
			e.Field = "release_local"
			if b.ReleaseAt.given() {
				e.Field = "release_at"
			}
		}
		out[i] = e
	}
	return out
}

// decodeJSON reads one JSON object into v: the right content type, at most
// apiMaxBody bytes, no unknown fields, nothing after it. Errors are 400s (413
// for size) whose messages say what to fix, naming the field when there is one.
func decodeJSON(c echo.Context, v any) error {
	req := c.Request()
	if mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType)); err != nil || (mt != echo.MIMEApplicationJSON && mt != "application/merge-patch+json") {
		return apiFail(http.StatusBadRequest, "bad_request", "Send the body as JSON with 'Content-Type: application/json'.", "")
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, apiMaxBody+1))
	if err != nil {
		return apiFail(http.StatusBadRequest, "bad_request", "The request body could not be read.", "")
	}
	if len(data) > apiMaxBody {
		return apiFail(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("The request body is larger than %d KB.", apiMaxBody>>10), "")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg, field := jsonErrorMessage(err)
		return apiFail(http.StatusBadRequest, "bad_request", msg, field)
	}
	if dec.More() {
		return apiFail(http.StatusBadRequest, "bad_request", "The body must be exactly one JSON object; there is more after it.", "")
	}
	return nil
}

func jsonErrorMessage(err error) (msg, field string) {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "The request body is empty; send a JSON object.", ""
	case errors.As(err, &syn):
		return fmt.Sprintf("The body is not valid JSON (at byte %d): %v.", syn.Offset, err), ""
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "The body is not valid JSON: it ends too early.", ""
	case errors.As(err, &typ):
		if typ.Field == "" {
			return "The body must be a JSON object.", ""
		}
		return fmt.Sprintf("%s must be a JSON string, not a %s.", typ.Field, typ.Value), typ.Field
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this one; its message names the field.
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fmt.Sprintf("Unknown field %q. Links accept: slug, title, artist, subtitle, time_zone, release_local, release_at, source, state.", name), name
	}
	return "The body is not a JSON object dropday can read: " + err.Error() + ".", ""
}
