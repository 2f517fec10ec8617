package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/dropday/dropday/handlers"
	"github.com/dropday/dropday/internal/broadcast"
	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/seed"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/internal/testdb"
)

// logLines parses every JSON log line written so far (syncBuffer is in
// admin_subscribers_test.go).
func logLines(t *testing.T, s *syncBuffer) []map[string]any {
	t.Helper()
	s.mu.Lock()
	text := s.b.String()
	s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// Every request's log line carries the id the response names in
// X-Request-Id; the error page shows it so a fan can quote it. An
// X-Request-Id from a client that is not a trusted proxy is replaced.
func TestRequestIDsInLogsAndErrorPages(t *testing.T) {
	logs := &syncBuffer{}
	app := testapp.New(t, testapp.Options{Log: logs})
	c := app.NewClient()

	res, body := c.Do(http.MethodGet, "/no-such-link", nil, http.Header{"X-Request-Id": {"forged-by-client"}})
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d", res.StatusCode)
	}
	id := res.Header.Get("X-Request-Id")
	if id == "" || id == "forged-by-client" {
		t.Fatalf("X-Request-Id = %q: want a fresh id (the client is not a trusted proxy)", id)
	}
	if !strings.Contains(body, `data-testid="error-request-id"`) || !strings.Contains(body, id) {
		t.Errorf("the error page does not show the request id %s", id)
	}
	res, _ = c.Get("/healthz")
	id2 := res.Header.Get("X-Request-Id")
	if id2 == "" || id2 == id {
		t.Fatalf("second request id %q (first %q)", id2, id)
	}

	found := map[string]bool{}
	for _, l := range logLines(t, logs) {
		if l["msg"] != "http" {
			continue
		}
		rid, _ := l["request_id"].(string)
		if rid == "" {
			t.Errorf("request log line without request_id: %v", l)
		}
		found[rid] = true
		if l["route"] == "/:slug" && rid != id {
			t.Errorf("the 404's log line has request_id %q, the response said %q", rid, id)
		}
	}
	if !found[id] || !found[id2] {
		t.Errorf("log lines for %s and %s missing (have %v)", id, id2, found)
	}
}

// A proxy listed in DROPDAY_TRUSTED_PROXIES (here loopback, where the test
// client connects from) may set the id, so its logs and ours match; junk is
// still replaced.
func TestRequestIDFromTrustedProxy(t *testing.T) {
	app := testapp.New(t, testapp.Options{Env: map[string]string{"DROPDAY_TRUSTED_PROXIES": "127.0.0.1,::1"}})
	c := app.NewClient()
	res, _ := c.Do(http.MethodGet, "/healthz", nil, http.Header{"X-Request-Id": {"caddy-4f1c2b"}})
	if got := res.Header.Get("X-Request-Id"); got != "caddy-4f1c2b" {
		t.Errorf("X-Request-Id = %q, want the trusted proxy's caddy-4f1c2b", got)
	}
	res, _ = c.Do(http.MethodGet, "/healthz", nil, http.Header{"X-Request-Id": {"bad id\" with quotes"}})
	if got := res.Header.Get("X-Request-Id"); got == "" || strings.ContainsAny(got, "\" ") {
		t.Errorf("X-Request-Id = %q, want a fresh id instead of junk", got)
	}
}

// /metrics does not exist without DROPDAY_METRICS_TOKEN.
func TestMetricsHiddenWithoutToken(t *testing.T) {
	app := testapp.New(t)
	res, _ := app.NewClient().Do(http.MethodGet, "/metrics", nil, http.Header{"Authorization": {"Bearer anything-at-all-here"}})
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /metrics without a configured token: %d, want 404", res.StatusCode)
	}
}

// With a token: 401 without or with a wrong one; with it, the request
// counters by route template and status, the latency histogram and the
// queue depth read from the database.
func TestMetricsWithToken(t *testing.T) {
	const token = "metrics-token-0123456789"
	app := testapp.New(t, testapp.Options{Env: map[string]string{"DROPDAY_METRICS_TOKEN": token}})
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	l := app.Link(o.Workspace.ID, "night-drive", "live", release)
	ctx := context.Background()
	// Queue depth and broadcast progress are read from the database at scrape time.
	if _, err := jobs.EnqueueMany(ctx, app.DB, app.Clock.Now(), []jobs.Item{{Kind: "test.kind"}, {Kind: "test.kind"}}); err != nil {
		t.Fatal(err)
	}
	b, err := seed.Broadcast(ctx, app.DB, l, app.Clock.Now(), app.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.DB.NewUpdate().Table("broadcasts").Set("state = 'sending', total = 250, next_batch = 1").Where("id = ?", b.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	c := app.NewClient()
	for range 3 {
		if res, _ := c.Get("/night-drive"); res.StatusCode != http.StatusOK {
			t.Fatalf("landing: %d", res.StatusCode)
		}
	}
	c.Get("/no-such-link")
	for _, h := range []http.Header{nil, {"Authorization": {"Bearer wrong-token-0123456789"}}, {"Authorization": {"Basic " + token}}} {
		res, _ := c.Do(http.MethodGet, "/metrics", nil, h)
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET /metrics with %v: %d (WWW-Authenticate %q), want 401", h, res.StatusCode, res.Header.Get("WWW-Authenticate"))
		}
	}
	res, body := c.Do(http.MethodGet, "/metrics", nil, http.Header{"Authorization": {"Bearer " + token}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics with the token: %d", res.StatusCode)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^dropday_http_requests_total\{method="GET",route="/:slug",status="200"\} 3$`),
		regexp.MustCompile(`(?m)^dropday_http_requests_total\{method="GET",route="/:slug",status="404"\} 1$`),
		regexp.MustCompile(`(?m)^dropday_http_request_duration_seconds_bucket\{method="GET",route="/:slug",le="\+Inf"\} 4$`),
		regexp.MustCompile(`(?m)^dropday_metrics_db_scrape_ok 1$`),
		regexp.MustCompile(`(?m)^dropday_queue_jobs\{kind="test.kind",state="available"\} 2$`),
		regexp.MustCompile(`(?m)^dropday_broadcast_recipients\{broadcast="\d+",state="sending"\} 250$`),
		regexp.MustCompile(`(?m)^dropday_broadcast_progress_ratio\{broadcast="\d+",state="sending"\} 0.4$`),
		regexp.MustCompile(`(?m)^go_goroutines \d+`),
	} {
		if !want.MatchString(body) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "night-drive") {
		t.Error("/metrics names a slug: routes must be templates")
	}
}

// /readyz is 503 when the database does not answer; /healthz stays 200.
func TestReadyzWhenDatabaseUnreachable(t *testing.T) {
	app := testapp.New(t)
	db, _ := testdb.SQLite(t)
	h := handlers.New(handlers.Deps{Config: app.Config, DB: db, Log: testdb.Logger()})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	get := func(path string) int {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := get("/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz with the database up: %d", got)
	}
	db.Close()
	if got := get("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database gone: %d, want 503", got)
	}
	if got := get("/healthz"); got != http.StatusOK {
		t.Errorf("/healthz with the database gone: %d, want 200", got)
	}
}

// The progress metric assumes the broadcast's batch size.
func TestMetricsBatchSize(t *testing.T) {
	if broadcast.BatchSize != 100 {
		t.Fatalf("broadcast.BatchSize is %d: update batchSize in internal/metrics", broadcast.BatchSize)
	}
}
