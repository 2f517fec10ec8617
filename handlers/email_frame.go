package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// emailFrameCSP lets an email's HTML render in an <iframe> of the admin panel
// the way a mail client would show it: inline styles and remote images (as
// emails have them), no script, no forms, a sandbox, and framable only by our
// own pages. It replaces the site-wide policy for this one response.
const emailFrameCSP = "default-src 'none'; img-src http: https: data:; style-src 'unsafe-inline'; font-src http: https: data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox allow-popups allow-popups-to-escape-sandbox"

// emailFrame answers an email's HTML for components.EmailFrame (the broadcast
// preview, the Outbox).
func emailFrame(c echo.Context, html string) error {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", emailFrameCSP)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(http.StatusOK, []byte(html))
}
