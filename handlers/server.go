// Package handlers is dropday's HTTP layer: one route table (routes.go), thin
// handlers (parse, validate, call, render) and one error handler (errors.go).
package handlers

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/accounts"
	"github.com/dropday/dropday/internal/analytics"
	"github.com/dropday/dropday/internal/artwork"
	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/broadcast"
	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/fans"
	"github.com/dropday/dropday/internal/keys"
	"github.com/dropday/dropday/internal/metrics"
	"github.com/dropday/dropday/internal/pagecache"
	"github.com/dropday/dropday/internal/presave"
	"github.com/dropday/dropday/internal/ratelimit"
	"github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/signup"
)

// Deps is everything the HTTP layer needs, built by cmd/dropday (or a test).
type Deps struct {
	Config  *config.Config
	DB      *bun.DB
	Log     *slog.Logger
	Now     func() time.Time
	Hasher  *auth.Hasher
	Secret  keys.Secret
	Artwork *artwork.Store
	// Presave runs direct pre-saves on the configured platforms.
	Presave *presave.Flow
	// Release is release day: the panel's "deliver now" and its progress.
	Release *release.Engine
	// Broadcast is the release-day email.
	Broadcast *broadcast.Service
	// AccountMail sends invitations and password resets through the configured driver.
	AccountMail *accounts.Mailer
	// Analytics counts views and clicks in memory (its Run flushes them); nil counts nothing.
	Analytics *analytics.Recorder
	// Fans is the fans' data rights: their data page, export, erasure, retention.
	Fans *fans.Service
	// Metrics records requests and serves /metrics; nil makes a fresh one
	// (tests), watching DB.
	Metrics *metrics.Metrics
	// Limits are the login and signup rate limits; nil makes per-process ones
	// (right for one process; cmd/dropday shares them through PostgreSQL).
	LoginLimit, SignupLimit ratelimit.Limiter
}

// Server holds the dependencies and the limiters.
type Server struct {
	Deps
	loginLimit     ratelimit.Limiter
	signupLimit    ratelimit.Limiter
	metricsHandler http.Handler
	// pages holds rendered landing pages (landingPage).
	pages *pagecache.Cache
	// signups groups concurrent email signups into shared commits.
	signups *signup.Batcher
}

// New builds the echo router with every route and middleware in place.
func New(d Deps) *echo.Echo {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New(prometheus.NewRegistry())
		d.Metrics.WatchDB(d.DB, d.Log)
	}
	if d.LoginLimit == nil {
		d.LoginLimit = ratelimit.New(d.Config.LoginRate, d.Now)
	}
	if d.SignupLimit == nil {
		d.SignupLimit = ratelimit.New(d.Config.SignupRate, d.Now)
	}
	s := &Server{
		Deps:           d,
		loginLimit:     d.LoginLimit,
		signupLimit:    d.SignupLimit,
		pages:          pagecache.New(d.Now),
		signups:        signup.NewBatcher(d.DB),
		metricsHandler: promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(d.Log.Handler(), slog.LevelWarn)}),
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = ipExtractor(d.Config.TrustedProxies)
	s.routes(e)
	return e
}

// ipExtractor believes X-Forwarded-For only from the configured proxies.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
