package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/fans"
	"github.com/dropday/dropday/views/admin"
)

// fanSearch is the Fans page: ?q= an email or a platform account id, within
// the session's workspace only.
func (s *Server) fanSearch(c echo.Context) error {
	v := admin.Fans{Layout: layoutFor(c, "fans"), Query: c.QueryParam("q")}
	if v.Query == "" {
		return render(c, http.StatusOK, admin.FansPage(v))
	}
	id, msg, err := fans.Search(c.Request().Context(), s.DB, adminOf(c).workspaceID(), v.Query)
	if err != nil {
		return err
	}
	if msg != "" {
		v.Error = msg
		return render(c, http.StatusUnprocessableEntity, admin.FansPage(v))
	}
	d, err := fans.Collect(c.Request().Context(), s.DB, id)
	if err != nil {
		return err
	}
	v.Searched, v.Emails, v.Reference = true, d.Identity.Emails, s.Fans.Target(d.Identity)
	if len(v.Emails) == 0 {
		v.Emails = []string{"(no email)"}
	}
	if !d.Empty() {
		v.Items = fanItems(d)
	}
	return render(c, http.StatusOK, admin.FansPage(v))
}

// fanExport downloads the fan's data as JSON (the fan's own export), logged.
func (s *Server) fanExport(c echo.Context) error {
	id, msg, err := fans.Search(c.Request().Context(), s.DB, adminOf(c).workspaceID(), c.QueryParam("q"))
	if err != nil {
		return err
	}
	if msg != "" {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, msg)
	}
	d, err := s.Fans.Export(c.Request().Context(), id, actorOf(c))
	if err != nil {
		return err
	}
	return sendFanJSON(c, d, s.Now())
}

// fanEraseAdmin erases a fan (owners only, by the route table) through the
// same code path as the fan's own erasure.
func (s *Server) fanEraseAdmin(c echo.Context) error {
	q := c.FormValue("q")
	id, msg, err := fans.Search(c.Request().Context(), s.DB, adminOf(c).workspaceID(), q)
	if err != nil {
		return err
	}
	if msg != "" {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, msg)
	}
	res, err := s.Fans.Erase(c.Request().Context(), id, actorOf(c))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, admin.FansPage(admin.Fans{Layout: layoutFor(c, "fans"), Erased: true,
		ErasedRows: res.Total(), Reference: res.Target}))
}
