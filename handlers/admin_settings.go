package handlers

import "github.com/labstack/echo/v4"

// TODO(helper C): the settings page: workspace name and API tokens.
func (s *Server) settingsPage(c echo.Context) error   { return echo.ErrNotImplemented }
func (s *Server) settingsUpdate(c echo.Context) error { return echo.ErrNotImplemented }
func (s *Server) tokenCreate(c echo.Context) error    { return echo.ErrNotImplemented }
func (s *Server) tokenDelete(c echo.Context) error    { return echo.ErrNotImplemented }
