package handlers

import "github.com/labstack/echo/v4"

// TODO(helper A): the fan's landing page and email signup.
func (s *Server) landing(c echo.Context) error { return echo.ErrNotImplemented }
func (s *Server) signup(c echo.Context) error  { return echo.ErrNotImplemented }
