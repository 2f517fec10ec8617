package handlers

import "github.com/labstack/echo/v4"

// TODO(helper C): API tokens in the settings page.
func (s *Server) tokenCreate(c echo.Context) error { return echo.ErrNotImplemented }
func (s *Server) tokenDelete(c echo.Context) error { return echo.ErrNotImplemented }
