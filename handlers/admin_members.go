package handlers

import "github.com/labstack/echo/v4"

// TODO(me): members, workspaces, settings.
func (s *Server) memberList(c echo.Context) error      { return echo.ErrNotImplemented }
func (s *Server) memberAdd(c echo.Context) error       { return echo.ErrNotImplemented }
func (s *Server) memberRemove(c echo.Context) error    { return echo.ErrNotImplemented }
func (s *Server) inviteDelete(c echo.Context) error    { return echo.ErrNotImplemented }
func (s *Server) workspaceCreate(c echo.Context) error { return echo.ErrNotImplemented }
func (s *Server) workspaceSwitch(c echo.Context) error { return echo.ErrNotImplemented }
