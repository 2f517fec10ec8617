package handlers

import "github.com/labstack/echo/v4"

// TODO(helper B): the admin link pages.
func (s *Server) adminHome(c echo.Context) error       { return c.Redirect(303, "/admin/links") }
func (s *Server) linkList(c echo.Context) error        { return echo.ErrNotImplemented }
func (s *Server) linkNew(c echo.Context) error         { return echo.ErrNotImplemented }
func (s *Server) linkCreate(c echo.Context) error      { return echo.ErrNotImplemented }
func (s *Server) linkEdit(c echo.Context) error        { return echo.ErrNotImplemented }
func (s *Server) linkUpdate(c echo.Context) error      { return echo.ErrNotImplemented }
func (s *Server) linkArchive(c echo.Context) error     { return echo.ErrNotImplemented }
func (s *Server) linkSubscribers(c echo.Context) error { return echo.ErrNotImplemented }
