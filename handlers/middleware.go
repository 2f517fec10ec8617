package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/dropday/dropday/views/layouts"
)

const (
	ctxLogger    = "logger"
	ctxRequestID = "request_id"
	ctxAdmin     = "admin"
	ctxAPI       = "api_token"
	headerReqID  = "X-Request-Id"
)

// demoMark lets every page of `dropday demo` draw its ribbon.
func (s *Server) demoMark(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.SetRequest(c.Request().WithContext(layouts.WithDemo(c.Request().Context())))
		return next(c)
	}
}

// requestID gives every request an id, echoed in the response as
// X-Request-Id, carried by its logger and shown on its error page. An id sent
// by a trusted proxy (DROPDAY_TRUSTED_PROXIES) is kept, so the proxy's log
// and ours name the same request; anyone else's is replaced, so a client
// cannot forge ids into our logs.
func (s *Server) requestID() echo.MiddlewareFunc {
	rid := middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		TargetHeader: headerReqID,
		Generator:    newRequestID,
		RequestIDHandler: func(c echo.Context, id string) {
			c.Set(ctxRequestID, id)
			c.Set(ctxLogger, s.Log.With("request_id", id))
		},
	})
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		h := rid(next)
		return func(c echo.Context) error {
			r := c.Request()
			if id := r.Header.Get(headerReqID); id != "" && (!validRequestID(id) || !s.fromTrustedProxy(r)) {
				r.Header.Del(headerReqID)
			}
			return h(c)
		}
	}
}

// newRequestID is 64 random bits in hex: short enough to read out, unique
// enough across instances.
func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// validRequestID accepts what proxies generate (UUIDs, hex, Caddy's and
// nginx's ids): 1 to 64 of A-Z a-z 0-9 . _ -.
func validRequestID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// fromTrustedProxy tells whether the connection's peer is a configured proxy.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range s.Config.TrustedProxies {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// requestIDOf is the request's id ("" before the middleware ran).
func requestIDOf(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// recoverPanics turns a panic into a logged 500 instead of a dropped connection.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				loggerOf(c, s.Log).Error("panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

// logRequests writes one line per request. Paths only: query strings can hold tokens.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		took := time.Since(start)
		s.Metrics.ObserveHTTP(c.Path(), c.Request().Method, status, took)
		lvl := slog.LevelInfo
		if strings.HasPrefix(c.Path(), "/static/") || c.Path() == "/healthz" || c.Path() == "/readyz" {
			lvl = slog.LevelDebug
		}
		loggerOf(c, s.Log).Log(c.Request().Context(), lvl, "http",
			"method", c.Request().Method, "route", c.Path(), "status", status,
			"ms", took.Milliseconds(), "ip", c.RealIP())
		return nil
	}
}

// secureHeaders sets the CSP (no inline script or style), framing and sniffing rules.
// form-action names the configured platforms' consent origins too: browsers
// apply it to the redirect that follows the pre-save button's POST.
func (s *Server) secureHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	hsts := 0
	if s.Config.Secure() {
		hsts = 31536000
	}
	formAction, scriptSrc, connectSrc := "'self'", "'self'", "'self'"
	if s.Presave != nil {
		keys := make([]string, 0, len(s.Presave.Clients))
		for k := range s.Presave.Clients {
			keys = append(keys, k)
		}
		sort.Strings(keys) // one header, the same on every instance
		for _, k := range keys {
			if o := s.Presave.Clients[k].ConsentOrigin(); o != "" && !strings.Contains(formAction, " "+o) {
				formAction += " " + o
			}
			// A consent that runs in the page (MusicKit JS) needs its script
			// and the API it calls; only configured platforms add any.
			if ps, ok := s.Presave.Clients[k].(pageScripts); ok {
				scriptSrc = addOrigins(scriptSrc, ps.ScriptOrigins())
				connectSrc = addOrigins(connectSrc, ps.ConnectOrigins())
			}
		}
	}
	return middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection:         "0",
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		HSTSMaxAge:            hsts,
		ReferrerPolicy:        "strict-origin-when-cross-origin",
		ContentSecurityPolicy: "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src " + scriptSrc + "; connect-src " + connectSrc + "; frame-ancestors 'none'; base-uri 'none'; form-action " + formAction + "; object-src 'none'",
	})(next)
}

// pageScripts is a direct platform whose consent runs in the landing page
// (Apple Music's MusicKit JS).
type pageScripts interface {
	ScriptOrigins() []string
	ConnectOrigins() []string
}

func addOrigins(src string, origins []string) string {
	for _, o := range origins {
		if o != "" && !slices.Contains(strings.Fields(src), o) {
			src += " " + o
		}
	}
	return src
}

// csrf guards admin forms: a same-origin Fetch-Metadata header passes, and
// otherwise the double-submit token (form field _csrf or header X-CSRF-Token) must match.
func (s *Server) csrf() echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "header:X-CSRF-Token,form:_csrf",
		CookieName:     "dropday_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   s.Config.Secure(),
		CookieSameSite: http.SameSiteStrictMode,
		ErrorHandler: func(err error, c echo.Context) error {
			return echo.NewHTTPError(http.StatusForbidden, "This form expired or came from another site. Go back, reload the page and try again.")
		},
	})
}

// csrfToken is the token to put in forms ("" when the request was judged by Fetch-Metadata alone).
func csrfToken(c echo.Context) string {
	t, _ := c.Get("csrf").(string)
	if t == middleware.CSRFUsingSecFetchSite {
		return ""
	}
	return t
}

// sameOrigin protects the fans' public POSTs without a per-visitor token, so the
// landing page stays the same for every visitor (and cacheable): a browser's
// Fetch-Metadata or Origin header must say the request came from our own page.
func (s *Server) sameOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Header.Get("Sec-Fetch-Site") {
		case "", "same-origin", "none":
		default:
			return echo.NewHTTPError(http.StatusForbidden, "This form can only be sent from its own page.")
		}
		if o := r.Header.Get("Origin"); o != "" && o != "null" {
			u, err := url.Parse(o)
			if err != nil || (o != s.Config.Origin() && u.Host != r.Host) {
				return echo.NewHTTPError(http.StatusForbidden, "This form can only be sent from its own page.")
			}
		}
		return next(c)
	}
}

// formLimit bounds every request body that is not an artwork upload.
const formLimit = 1 << 20

// limitBody caps request bodies before anything reads them (the CSRF check
// parses forms), so no route can be made to buffer an unbounded upload. Only
// the link form, which carries artwork, gets more room.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return next(c)
		}
		limit, msg := int64(formLimit), "This form is larger than the 1 MB it may be."
		if p := c.Path(); p == "/admin/links" || p == "/admin/links/:id" {
			limit, msg = s.bodyLimit(), s.tooLargeMsg()
		}
		if r.ContentLength > limit {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, msg)
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
		return next(c)
	}
}
