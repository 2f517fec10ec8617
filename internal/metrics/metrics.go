// Package metrics is what dropday exposes at /metrics, in Prometheus format:
// HTTP requests, jobs, platform calls, and (read from the database at scrape
// time) queue depth and broadcast progress. One Metrics per process, built
// on a registry passed down from main: no package-level registry.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/uptrace/bun"
)

// Metrics holds the instruments the rest of dropday records into.
type Metrics struct {
	Registry *prometheus.Registry

	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	jobs          *prometheus.CounterVec
	jobDuration   *prometheus.HistogramVec
	platformCalls *prometheus.CounterVec
	platformTime  *prometheus.HistogramVec
	leader        prometheus.Gauge
}

// New registers dropday's metrics (and the Go and process collectors) on reg.
func New(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		Registry: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dropday_http_requests_total",
			Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dropday_http_request_duration_seconds",
			Help:    "HTTP request latency by route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dropday_jobs_total",
			Help: "Jobs run on this instance by kind and outcome (completed, retryable, discarded, cancelled, snoozed, released, lost).",
		}, []string{"kind", "outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dropday_job_duration_seconds",
			Help:    "How long a job's handler ran, by kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"kind"}),
		platformCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dropday_platform_requests_total",
			Help: "Calls to streaming platforms by platform and HTTP status (\"error\": no answer, e.g. a timeout). status=\"429\" counts rate limiting.",
		}, []string{"platform", "status"}),
		platformTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dropday_platform_request_duration_seconds",
			Help:    "Latency of calls to streaming platforms.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20},
		}, []string{"platform"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dropday_scheduler_leader",
			Help: "1 while this instance is the one that schedules (holds the scheduler lock), else 0.",
		}),
	}
	reg.MustRegister(m.httpRequests, m.httpDuration, m.jobs, m.jobDuration, m.platformCalls, m.platformTime, m.leader,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveHTTP records one request. route is the route template (/:slug,
// not the slug), so the label set stays bounded.
func (m *Metrics) ObserveHTTP(route, method string, status int, took time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	switch method { // a client may send any token as a method: keep the label set bounded
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(took.Seconds())
}

// JobOutcome counts a job's outcome on this instance.
func (m *Metrics) JobOutcome(kind, outcome string) {
	if m == nil {
		return
	}
	m.jobs.WithLabelValues(kind, outcome).Inc()
}

// JobDuration records how long a handler ran.
func (m *Metrics) JobDuration(kind string, took time.Duration) {
	if m == nil {
		return
	}
	m.jobDuration.WithLabelValues(kind).Observe(took.Seconds())
}

// SetLeader records whether this instance schedules.
func (m *Metrics) SetLeader(on bool) {
	if m == nil {
		return
	}
	if on {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

// Transport counts and times every call made through next, labelled with
// the platform that platformOf names for the request's host.
func (m *Metrics) Transport(platformOf func(host string) string, next http.RoundTripper) http.RoundTripper {
	if m == nil {
		return next
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		platform := platformOf(r.URL.Host)
		start := time.Now()
		res, err := next.RoundTrip(r)
		status := "error"
		if err == nil {
			status = strconv.Itoa(res.StatusCode)
		}
		m.platformCalls.WithLabelValues(platform, status).Inc()
		m.platformTime.WithLabelValues(platform).Observe(time.Since(start).Seconds())
		return res, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// WatchDB registers the collectors that read the database at scrape time:
// the queue's depth by kind and state, and the progress of broadcasts being
// sent. Both are one indexed GROUP BY; a failed query is logged and the
// metric left out of that scrape.
func (m *Metrics) WatchDB(db *bun.DB, log *slog.Logger) {
	m.Registry.MustRegister(&dbCollector{db: db, log: log})
}

var (
	queueDepthDesc = prometheus.NewDesc("dropday_queue_jobs",
		"Jobs waiting or running, by kind and state (available, retryable, running), read at scrape time.",
		[]string{"kind", "state"}, nil)
	broadcastTotalDesc = prometheus.NewDesc("dropday_broadcast_recipients",
		"Recipients of each broadcast being sent or paused.", []string{"broadcast", "state"}, nil)
	broadcastSentDesc = prometheus.NewDesc("dropday_broadcast_progress_ratio",
		"Share (0 to 1) of a sending or paused broadcast's recipients whose batch is recorded as sent.", []string{"broadcast", "state"}, nil)
	scrapeErrDesc = prometheus.NewDesc("dropday_metrics_db_scrape_ok",
		"1 when the scrape-time database queries succeeded, else 0.", nil, nil)
)

type dbCollector struct {
	db  *bun.DB
	log *slog.Logger
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- broadcastTotalDesc
	ch <- broadcastSentDesc
	ch <- scrapeErrDesc
}

// batchSize is the recipients per broadcast batch (broadcast.BatchSize;
// not imported, to keep this package free of the domain).
const batchSize = 100

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ok := 1.0
	var depth []struct {
		Kind  string `bun:"kind"`
		State string `bun:"state"`
		N     int    `bun:"n"`
	}
	// The three unfinished states only: finished rows are most of the table.
	err := c.db.NewSelect().Table("jobs").ColumnExpr("kind, state, count(*) AS n").
		Where("state IN ('available', 'retryable', 'running')").Group("kind", "state").Scan(ctx, &depth)
	if err != nil {
		ok = 0
		c.log.Warn("metrics: queue depth", "err", err)
	}
	for _, d := range depth {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(d.N), d.Kind, d.State)
	}
	var bs []struct {
		ID        int64  `bun:"id"`
		State     string `bun:"state"`
		Total     int    `bun:"total"`
		NextBatch int    `bun:"next_batch"`
	}
	err = c.db.NewSelect().Table("broadcasts").Column("id", "state", "total", "next_batch").
		Where("state IN ('sending', 'paused')").Scan(ctx, &bs)
	if err != nil {
		ok = 0
		c.log.Warn("metrics: broadcast progress", "err", err)
	}
	for _, b := range bs {
		id := strconv.FormatInt(b.ID, 10)
		ch <- prometheus.MustNewConstMetric(broadcastTotalDesc, prometheus.GaugeValue, float64(b.Total), id, b.State)
		ratio := 1.0
		if b.Total > 0 {
			ratio = float64(min(b.NextBatch*batchSize, b.Total)) / float64(b.Total)
		}
		ch <- prometheus.MustNewConstMetric(broadcastSentDesc, prometheus.GaugeValue, ratio, id, b.State)
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, ok)
}
