package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/crypto/bcrypt"

	"github.com/dropday/dropday/internal/accounts"
	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/platform/registry"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
	"github.com/dropday/dropday/internal/seed"
	"github.com/dropday/dropday/models"
)

// roundRobin is the smallest load balancer: each request goes to the next
// backend in turn, with X-Forwarded-For and its own X-Request-Id, and it
// remembers which backend served what.
type roundRobin struct {
	mu       sync.Mutex
	backends []*url.URL
	next     int
	served   []served
}

type served struct {
	backend   int
	method    string
	path      string
	requestID string
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rr.mu.Lock()
	i := rr.next % len(rr.backends)
	rr.next++
	id := fmt.Sprintf("rr-%d", rr.next)
	rr.served = append(rr.served, served{backend: i, method: r.Method, path: r.URL.Path, requestID: id})
	target := rr.backends[i]
	rr.mu.Unlock()
	(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.SetXForwarded()
		pr.Out.Host = pr.In.Host // the public host, as Caddy and nginx pass it
		pr.Out.Header.Set("X-Request-Id", id)
	}}).ServeHTTP(w, r)
}

// backendOf is the backend that served the last request to path.
func (rr *roundRobin) backendOf(method, path string) (int, string) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for i := len(rr.served) - 1; i >= 0; i-- {
		if s := rr.served[i]; s.method == method && s.path == path {
			return s.backend, s.requestID
		}
	}
	return -1, ""
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// TestRoundRobinTwoInstances puts two `dropday serve` on one PostgreSQL
// behind a round-robin balancer, so consecutive requests land on different
// instances: an admin logs in and makes a CSRF-protected POST, a fan runs
// the Spotify pre-save consent (the OAuth state cookie set by one instance
// is checked by the other), and the login rate limit is one budget for
// both. Nothing may depend on which instance a request reaches.
func TestRoundRobinTwoInstances(t *testing.T) {
	onPostgres(t, func(t *testing.T, db *bun.DB, dbURL string) {
		ctx := context.Background()
		rr := &roundRobin{}
		front := httptest.NewServer(rr)
		t.Cleanup(front.Close)
		sp := spotifytest.New(spotifytest.Options{RedirectURL: front.URL + registry.CallbackPath("spotify")})
		t.Cleanup(sp.Close)

		now := time.Now()
		owner, _, errs, err := accounts.CreateOwner(ctx, db, auth.NewHasher(bcrypt.MinCost),
			accounts.OwnerInput{Name: "Owner", Email: "owner@example.com", Password: "correct horse battery", Workspace: "Mara Lune"}, "", now)
		if err != nil || errs.Has() {
			t.Fatalf("create owner: %v %v", err, errs)
		}
		link, err := seed.Link(ctx, db, "night-drive", now.Add(72*time.Hour), now)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := seed.MasterKeys()
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{
			"DROPDAY_BASE_URL":              front.URL,
			"DROPDAY_DATABASE_URL":          dbURL,
			"DROPDAY_TRUSTED_PROXIES":       "127.0.0.1",
			"DROPDAY_SECRET_KEY":            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			"DROPDAY_MASTER_KEYS":           keys,
			"DROPDAY_SPOTIFY_CLIENT_ID":     sp.ClientID(),
			"DROPDAY_SPOTIFY_CLIENT_SECRET": sp.ClientSecret(),
			"DROPDAY_SPOTIFY_ACCOUNTS_URL":  sp.URL,
			"DROPDAY_SPOTIFY_API_URL":       sp.URL,
			"DROPDAY_LOGIN_RATE":            "3",
			"DROPDAY_LOG_FORMAT":            "json",
		}
		c := newCluster(t, env, 2)
		for _, p := range c.procs {
			u, _ := url.Parse("http://" + p.Addr)
			rr.backends = append(rr.backends, u)
		}

		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		do := func(method, path string, form url.Values) (*http.Response, string) {
			t.Helper()
			var body io.Reader
			if form != nil {
				body = strings.NewReader(form.Encode())
			}
			req, _ := http.NewRequest(method, front.URL+path, body)
			if form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res, string(b)
		}
		csrfOf := func(page string) string {
			t.Helper()
			m := csrfField.FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("no _csrf field in the page")
			}
			return m[1]
		}

		// The admin: the login form from one instance, posted to the other;
		// the session cookie then works on both.
		_, page := do(http.MethodGet, "/login", nil)
		res, page := do(http.MethodPost, "/login", url.Values{"email": {"owner@example.com"}, "password": {"correct horse battery"}, "_csrf": {csrfOf(page)}})
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Request.URL.Path, "/admin") {
			t.Fatalf("login through the balancer: %d at %s", res.StatusCode, res.Request.URL.Path)
		}
		getLogin, _ := rr.backendOf(http.MethodGet, "/login")
		postLogin, _ := rr.backendOf(http.MethodPost, "/login")
		if getLogin == postLogin {
			t.Fatalf("the login form and its POST reached the same instance (%d): the balancer did not alternate", getLogin)
		}
		_, page = do(http.MethodGet, "/admin/settings", nil)
		token := csrfOf(page)
		// Without the token the POST is refused, wherever it lands.
		if res, _ := do(http.MethodPost, "/admin/tokens", url.Values{"token_name": {"no csrf"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("POST without the CSRF token: %d, want 403", res.StatusCode)
		}
		settingsAt, _ := rr.backendOf(http.MethodGet, "/admin/settings")
		for range 2 { // once on each instance
			res, body := do(http.MethodPost, "/admin/tokens", url.Values{"token_name": {"round robin"}, "_csrf": {token}})
			if res.StatusCode != http.StatusCreated || !strings.Contains(body, "dd_") {
				t.Fatalf("CSRF-protected POST: %d", res.StatusCode)
			}
		}
		if tokens, err := db.NewSelect().Table("api_tokens").Where("workspace_id = (SELECT workspace_id FROM members WHERE user_id = ?)", owner.ID).Count(ctx); err != nil || tokens != 2 {
			t.Errorf("API tokens created: %d, %v; want 2", tokens, err)
		}
		tokenAt, reqID := rr.backendOf(http.MethodPost, "/admin/tokens")
		t.Logf("login form on %d, login POST on %d, settings on %d, last token POST on %d", getLogin, postLogin, settingsAt, tokenAt)
		// The balancer's request id reached that instance's log line.
		if logs := c.procs[tokenAt].Logs(); !strings.Contains(logs, `"request_id":"`+reqID+`"`) {
			t.Errorf("instance %d's log has no line with the balancer's request id %s", tokenAt, reqID)
		}

		// The fan: start on one instance, come back from Spotify to the other.
		fan := &http.Client{Timeout: 10 * time.Second}
		fan.Jar, _ = cookiejar.New(nil)
		client = fan
		res, page = do(http.MethodPost, "/"+link.Slug+"/presave/spotify", url.Values{})
		if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/"+link.Slug+"/presaved" {
			t.Fatalf("pre-save through the balancer ended %d at %s", res.StatusCode, res.Request.URL)
		}
		startAt, _ := rr.backendOf(http.MethodPost, "/"+link.Slug+"/presave/spotify")
		callbackAt, _ := rr.backendOf(http.MethodGet, registry.CallbackPath("spotify"))
		if startAt == callbackAt || callbackAt < 0 {
			t.Errorf("pre-save started on %d and came back to %d: want the other instance", startAt, callbackAt)
		}
		var p models.Presave
		if err := db.NewSelect().Model(&p).Where("link_id = ?", link.ID).Scan(ctx); err != nil {
			t.Fatalf("the pre-save was not stored: %v", err)
		}
		if p.State != models.PresavePending || p.PlatformUserID != "fan1" {
			t.Errorf("pre-save %+v", p)
		}

		// The login limit (3 a minute) is one budget across both instances:
		// the successful login spent one, two wrong passwords the rest.
		client.Jar, _ = cookiejar.New(nil)
		var statuses []int
		for range 3 {
			_, page := do(http.MethodGet, "/login", nil)
			res, _ := do(http.MethodPost, "/login", url.Values{"email": {"owner@example.com"}, "password": {"wrong password!"}, "_csrf": {csrfOf(page)}})
			statuses = append(statuses, res.StatusCode)
		}
		if fmt.Sprint(statuses) != "[401 401 429]" {
			t.Errorf("wrong-password logins through both instances: %v, want [401 401 429] (a shared limit of 3 a minute)", statuses)
		}
	})
}
