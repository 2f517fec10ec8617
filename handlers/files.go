package handlers

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/static"
)

// static serves embedded assets. URLs carry a content hash (?v=…), so a
// matching version may be cached for a year; anything else must revalidate.
func (s *Server) static(c echo.Context) error {
	name := path.Clean(strings.TrimPrefix(c.Param("*"), "/"))
	data, err := fs.ReadFile(static.FS(), name)
	if err != nil || strings.HasSuffix(name, ".go") {
		return echo.NewHTTPError(http.StatusNotFound, "No such file.")
	}
	v := static.Version(name)
	h := c.Response().Header()
	if c.QueryParam("v") == v {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	h.Set("ETag", `"`+v+`"`)
	if c.Request().Header.Get("If-None-Match") == `"`+v+`"` {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, contentType(name), data)
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".woff2":
		return "font/woff2"
	}
	return "application/octet-stream"
}

// artworkFile serves uploaded artwork. Keys are random and never reused, so
// every file may be cached forever.
func (s *Server) artworkFile(c echo.Context) error {
	p, err := s.Artwork.Path(c.Param("key"), c.Param("file"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "No such image.")
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return echo.NewHTTPError(http.StatusNotFound, "No such image.")
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	return c.File(p)
}

func (s *Server) favicon(c echo.Context) error {
	return c.Redirect(http.StatusMovedPermanently, static.URL("img/favicon.svg"))
}

// robots keeps the admin panel and API out of search engines; landing pages stay indexable.
func (s *Server) robots(c echo.Context) error {
	return c.String(http.StatusOK, "User-agent: *\nDisallow: /admin\nDisallow: /api\nDisallow: /setup\nDisallow: /invite\n")
}
