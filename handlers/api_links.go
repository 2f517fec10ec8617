package handlers

import "github.com/labstack/echo/v4"

// TODO(helper C): the JSON API.
func (s *Server) requireAPIToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error { return echo.ErrUnauthorized }
}
func (s *Server) apiLinkList(c echo.Context) error        { return echo.ErrNotImplemented }
func (s *Server) apiLinkCreate(c echo.Context) error      { return echo.ErrNotImplemented }
func (s *Server) apiLinkGet(c echo.Context) error         { return echo.ErrNotImplemented }
func (s *Server) apiLinkUpdate(c echo.Context) error      { return echo.ErrNotImplemented }
func (s *Server) apiLinkSubscribers(c echo.Context) error { return echo.ErrNotImplemented }
