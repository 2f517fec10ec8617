package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/artwork"
	"github.com/dropday/dropday/internal/links"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/admin"
)

const (
	linksPerPage   = 50
	signupsPerPage = 50
	defaultZone    = "Europe/London"
	slugTakenMsg   = "That address is taken; choose another."
)

// commonZones are offered in the time zone field; any other IANA name can be typed.
var commonZones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin",
	"Europe/Amsterdam", "Europe/Brussels", "Europe/Madrid", "Europe/Rome", "Europe/Stockholm",
	"Europe/Oslo", "Europe/Copenhagen", "Europe/Warsaw", "Europe/Vienna", "Europe/Zurich",
	"Europe/Athens", "Europe/Helsinki", "Europe/Istanbul", "Europe/Kyiv", "Africa/Lagos",
	"Africa/Johannesburg", "Africa/Nairobi", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore",
	"Asia/Jakarta", "Asia/Manila", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Seoul", "Asia/Tokyo",
	"Australia/Perth", "Australia/Sydney", "Pacific/Auckland", "America/Sao_Paulo",
	"America/Argentina/Buenos_Aires", "America/Bogota", "America/Mexico_City", "America/Toronto",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
	"America/Anchorage", "Pacific/Honolulu",
}

// adminHome opens the panel on the link list.
func (s *Server) adminHome(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/admin/links")
}

func (s *Server) linkList(c echo.Context) error {
	state := c.QueryParam("state")
	if !slices.Contains(models.LinkStates, state) {
		state = "" // an unknown filter shows everything rather than an error page
	}
	page := linkPageParam(c)
	ls, total, err := store.ListLinks(c.Request().Context(), s.DB, adminOf(c).workspaceID(),
		store.LinkFilter{State: state, Limit: linksPerPage, Offset: (page - 1) * linksPerPage})
	if err != nil {
		return err
	}
	if len(ls) == 0 && total > 0 {
		// Past the last page (a stale bookmark): go to the last one.
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/links?%s", lastPageQuery(state, total, linksPerPage)))
	}
	return render(c, http.StatusOK, admin.LinkListPage(admin.LinkList{
		Layout: layoutFor(c, "links"), Links: ls, State: state, BaseURL: s.baseURL(),
		Pager: admin.Pager{Page: page, PerPage: linksPerPage, Total: total},
	}))
}

func (s *Server) linkNew(c echo.Context) error {
	in := links.Input{TimeZone: defaultZone, ReleaseTime: "00:00", State: models.LinkDraft}
	return render(c, http.StatusOK, admin.LinkFormPage(s.linkForm(c, nil, in, nil, "")))
}

// linkCreate: parse → validate the fields and the image without writing →
// store the image → insert the row (removing the image again if that fails).
func (s *Server) linkCreate(c echo.Context) error {
	if err := s.parseLinkForm(c); err != nil {
		return s.uploadTooLarge(c, nil, err)
	}
	in := linkInput(c)
	l := models.Link{WorkspaceID: adminOf(c).workspaceID()}
	errs := links.Apply(&l, in)
	data, aerr := s.readArtwork(c)
	if aerr != "" {
		errs.Add("artwork", aerr)
	}
	if errs.Has() {
		return render(c, http.StatusUnprocessableEntity, admin.LinkFormPage(s.linkForm(c, nil, in, errs, "")))
	}
	if data != nil {
		key, err := s.Artwork.Save(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("handlers: save artwork: %w", err)
		}
		l.Artwork = key
	}
	now := s.Now().UTC()
	l.CreatedAt, l.UpdatedAt = now, now
	err := store.CreateLink(c.Request().Context(), s.DB, &l)
	if err != nil {
		s.dropArtwork(c, l.Artwork)
	}
	if errors.Is(err, store.ErrConflict) {
		// Show the slug that was tried (it may have been derived), so it can be edited.
		in.Slug = l.Slug
		errs.Add("slug", slugTakenMsg)
		return render(c, http.StatusUnprocessableEntity, admin.LinkFormPage(s.linkForm(c, nil, in, errs, "")))
	}
	if err != nil {
		return err
	}
	loggerOf(c, s.Log).Info("link created", "link_id", l.ID)
	return redirect(c, fmt.Sprintf("/admin/links/%d?saved=1", l.ID))
}

func (s *Server) linkEdit(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	notice := ""
	switch {
	case c.QueryParam("saved") != "":
		notice = "Link saved."
	case c.QueryParam("archived") != "":
		notice = "Link archived. Fans now see that it is no longer available."
	}
	return render(c, http.StatusOK, admin.LinkFormPage(s.linkForm(c, l, links.FromLink(l), nil, notice)))
}

func (s *Server) linkUpdate(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	if err := s.parseLinkForm(c); err != nil {
		return s.uploadTooLarge(c, l, err)
	}
	in := linkInput(c)
	// Apply works on a copy: the stored link stays as it was until the update succeeds.
	next := *l
	errs := links.Apply(&next, in)
	data, aerr := s.readArtwork(c)
	if aerr != "" {
		errs.Add("artwork", aerr)
	}
	if errs.Has() {
		return render(c, http.StatusUnprocessableEntity, admin.LinkFormPage(s.linkForm(c, l, in, errs, "")))
	}
	newKey := ""
	if data != nil {
		if newKey, err = s.Artwork.Save(bytes.NewReader(data)); err != nil {
			return fmt.Errorf("handlers: save artwork: %w", err)
		}
		next.Artwork = newKey
	}
	next.UpdatedAt = s.Now().UTC()
	err = store.UpdateLink(c.Request().Context(), s.DB, &next)
	if err != nil {
		s.dropArtwork(c, newKey)
	}
	if errors.Is(err, store.ErrConflict) {
		errs.Add("slug", slugTakenMsg)
		return render(c, http.StatusUnprocessableEntity, admin.LinkFormPage(s.linkForm(c, l, in, errs, "")))
	}
	if err != nil {
		return err
	}
	// The replaced image's files stay: its URLs may sit in caches and shared
	// posts, and they cost little. See the report for a clean-up job.
	loggerOf(c, s.Log).Info("link updated", "link_id", l.ID)
	toast(c, "Link saved")
	return redirect(c, fmt.Sprintf("/admin/links/%d?saved=1", l.ID))
}

func (s *Server) linkArchive(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	if l.State != models.LinkArchived {
		l.State = models.LinkArchived
		l.UpdatedAt = s.Now().UTC()
		if err := store.UpdateLink(c.Request().Context(), s.DB, l); err != nil {
			return err
		}
		loggerOf(c, s.Log).Info("link archived", "link_id", l.ID)
	}
	toast(c, "Link archived")
	return redirect(c, fmt.Sprintf("/admin/links/%d?archived=1", l.ID))
}

func (s *Server) linkSubscribers(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	page := linkPageParam(c)
	ss, total, err := store.LinkSignups(c.Request().Context(), s.DB, adminOf(c).workspaceID(), l.ID,
		store.SignupFilter{Limit: signupsPerPage, Offset: (page - 1) * signupsPerPage})
	if err != nil {
		return err
	}
	if len(ss) == 0 && total > 0 {
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/links/%d/subscribers?%s", l.ID, lastPageQuery("", total, signupsPerPage)))
	}
	days, err := s.linkSignupChart(c, l)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, admin.LinkSubscribersPage(admin.LinkSubscribers{
		Layout: layoutFor(c, "links"), Link: l, Signups: ss, BaseURL: s.baseURL(), Days: days,
		Pager: admin.Pager{Page: page, PerPage: signupsPerPage, Total: total},
	}))
}

// linkParam loads the :id link from the session's workspace; a malformed id
// or another workspace's link is the same 404.
func (s *Server) linkParam(c echo.Context) (*models.Link, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, store.ErrNotFound
	}
	return store.LinkByID(c.Request().Context(), s.DB, adminOf(c).workspaceID(), id)
}

func (s *Server) linkForm(c echo.Context, l *models.Link, in links.Input, errs validate.Errors, notice string) admin.LinkForm {
	zones := commonZones
	if in.TimeZone != "" && !slices.Contains(zones, in.TimeZone) {
		zones = append([]string{in.TimeZone}, zones...)
	}
	return admin.LinkForm{Layout: layoutFor(c, "links"), Link: l, In: in, Errors: errs,
		BaseURL: s.baseURL(), Zones: zones, MaxMB: s.Config.MaxArtworkBytes >> 20, Notice: notice}
}

func (s *Server) baseURL() string { return strings.TrimSuffix(s.Config.BaseURL.String(), "/") }

// bodyLimit is the largest link form accepted: the artwork plus room for the fields.
func (s *Server) bodyLimit() int64 { return s.Config.MaxArtworkBytes + 1<<20 }

// parseLinkForm reads the (multipart or urlencoded) form within bodyLimit.
// Browsers send same-origin Fetch-Metadata, so the body is still unread here;
// a form checked by its _csrf field was parsed by the CSRF middleware already,
// and then the declared length is what can be checked.
func (s *Server) parseLinkForm(c echo.Context) error {
	req := c.Request()
	if req.ContentLength > s.bodyLimit() {
		return &http.MaxBytesError{Limit: s.bodyLimit()}
	}
	req.Body = http.MaxBytesReader(c.Response(), req.Body, s.bodyLimit())
	err := req.ParseMultipartForm(4 << 20)
	if errors.Is(err, http.ErrNotMultipart) {
		err = req.ParseForm()
	}
	return err
}

// uploadTooLarge answers a form whose body could not be read: 413 with the
// form and the limit when it was too big, 400 otherwise. The fields cannot be
// kept (they were never read), so an edit shows the stored link again.
func (s *Server) uploadTooLarge(c echo.Context, l *models.Link, err error) error {
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read. Reload the page and try again.")
	}
	in := links.Input{TimeZone: defaultZone, ReleaseTime: "00:00"}
	if l != nil {
		in = links.FromLink(l)
	}
	var errs validate.Errors
	errs.Add("artwork", s.tooLargeMsg())
	return render(c, http.StatusRequestEntityTooLarge, admin.LinkFormPage(s.linkForm(c, l, in, errs, "")))
}

func (s *Server) tooLargeMsg() string {
	return fmt.Sprintf("The image is larger than the %d MB limit.", s.Config.MaxArtworkBytes>>20)
}

func linkInput(c echo.Context) links.Input {
	return links.Input{
		Slug: c.FormValue("slug"), Title: c.FormValue("title"), Artist: c.FormValue("artist"),
		Subtitle: c.FormValue("subtitle"), ReleaseDate: c.FormValue("release_date"),
		ReleaseTime: c.FormValue("release_time"), TimeZone: c.FormValue("time_zone"),
		Source: c.FormValue("source"), State: c.FormValue("state"),
	}
}

// readArtwork returns the uploaded image (nil when no file was chosen) after
// checking it without writing anything, or a message for the artwork field.
func (s *Server) readArtwork(c echo.Context) ([]byte, string) {
	fh, err := c.FormFile("artwork")
	if errors.Is(err, http.ErrMissingFile) || (err == nil && fh.Size == 0 && fh.Filename == "") {
		return nil, ""
	}
	if err != nil {
		return nil, "The image could not be read; choose it again."
	}
	data, err := readPart(fh, s.Config.MaxArtworkBytes)
	if err != nil {
		return nil, "The image could not be read; choose it again."
	}
	if err := s.Artwork.Check(data); err != nil {
		return nil, s.artworkMsg(err)
	}
	return data, ""
}

func readPart(fh *multipart.FileHeader, max int64) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max+1))
}

// artworkMsg turns the artwork store's errors into sentences for the form.
func (s *Server) artworkMsg(err error) string {
	switch {
	case errors.Is(err, artwork.ErrTooLarge):
		return s.tooLargeMsg()
	case errors.Is(err, artwork.ErrNotImage), errors.Is(err, artwork.ErrTooSmall), errors.Is(err, artwork.ErrTooBig):
		return sentence(err.Error())
	}
	return "The image could not be read; choose it again."
}

// dropArtwork removes files saved for a link that was then not stored.
func (s *Server) dropArtwork(c echo.Context, key string) {
	if key == "" {
		return
	}
	if err := s.Artwork.Delete(key); err != nil {
		loggerOf(c, s.Log).Error("remove unused artwork", "err", err)
	}
}

// linkPageParam is the 1-based ?page=, defaulting to 1 for anything unusable.
func linkPageParam(c echo.Context) int {
	p, err := strconv.Atoi(c.QueryParam("page"))
	if err != nil || p < 1 || p > 1_000_000 {
		return 1
	}
	return p
}

func lastPageQuery(state string, total, per int) string {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	q.Set("page", strconv.Itoa((total+per-1)/per))
	return q.Encode()
}
