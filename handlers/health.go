package handlers

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// healthz says the process is up; it touches nothing else.
func (s *Server) healthz(c echo.Context) error { return c.String(http.StatusOK, "ok\n") }

// readyz says the database answers, so a load balancer only sends traffic that can be served.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.PingContext(ctx); err != nil {
		loggerOf(c, s.Log).Warn("not ready: database unreachable", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unreachable\n")
	}
	var one int
	if err := s.DB.NewSelect().ColumnExpr("1").Scan(ctx, &one); err != nil {
		loggerOf(c, s.Log).Warn("not ready: database query failed", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unreachable\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

// metrics serves Prometheus metrics to whoever presents the bearer token
// DROPDAY_METRICS_TOKEN. Without a configured token the route does not exist
// (404), so nothing about the instance is public by default.
func (s *Server) metrics(c echo.Context) error {
	want := s.Config.MetricsToken
	if want == "" {
		return echo.ErrNotFound
	}
	got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want)) != 1 {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="dropday metrics"`)
		return c.String(http.StatusUnauthorized, "a bearer token is required\n")
	}
	s.metricsHandler.ServeHTTP(c.Response(), c.Request())
	return nil
}
