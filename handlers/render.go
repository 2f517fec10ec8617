package handlers

import (
	"bytes"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
)

// render draws c into a buffer first, so a failing template becomes a clean
// 500 page instead of half a page sent with 200.
func render(c echo.Context, status int, comp templ.Component) error {
	var buf bytes.Buffer
	if err := comp.Render(c.Request().Context(), &buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// isHTMX tells whether htmx sent the request (and so wants a fragment).
func isHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// redirect sends the browser to url after a form POST; htmx requests get
// HX-Redirect, since htmx would otherwise swap the next page into the form.
func redirect(c echo.Context, url string) error {
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", url)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, url)
}

// toast asks admin.js to show a short message after an htmx request.
func toast(c echo.Context, msg string) {
	b, _ := jsonMarshal(map[string]string{"toast": msg})
	c.Response().Header().Set("HX-Trigger", string(b))
}
