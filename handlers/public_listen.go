package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// listenClick is a smart-link "listen" button: count the click, then send the
// fan to the release on that platform. The target is only ever the URL stored
// for the link and platform (found by a look-up or pasted by the artist),
// never anything from the request. Any published link redirects while it has a
// URL: the URL is public on the platform, and a button shared before an
// archive or ahead of the release still leads somewhere useful.
func (s *Server) listenClick(c echo.Context) error {
	l, err := s.publicLink(c)
	if err != nil {
		return err
	}
	p, ok := models.PlatformByKey(c.Param("platform"))
	if !ok {
		return noListen()
	}
	target, err := store.ListenURL(c.Request().Context(), s.DB, l.ID, p.Key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return noListen()
	case err != nil:
		return err
	}
	if u, err := url.Parse(target); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// Stored URLs are validated when saved; this only keeps a bad row from becoming an open redirect.
		loggerOf(c, s.Log).Error("listen: stored URL is not http(s); not redirecting", "link_id", l.ID, "platform", p.Key)
		return noListen()
	}
	s.Analytics.Click(c.Request(), l.ID, p.Key)
	c.Response().Header().Set("Cache-Control", "no-store") // every click reaches us and is counted
	return c.Redirect(http.StatusFound, target)
}

func noListen() error {
	return echo.NewHTTPError(http.StatusNotFound, "This release is not on that platform (yet). Go back to the release page for the platforms it is on.")
}
