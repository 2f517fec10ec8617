package handlers_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

const evilFormula = `=HYPERLINK("http://evil","x")`

var dbNames = map[bool]string{false: "sqlite", true: "postgres"}

// storeSignup records a fan's signup through a link directly in the store, as
// the signup form does: the subscriber (upserted) and the consent record.
func storeSignup(t *testing.T, app *testapp.App, l *models.Link, email, platform, ua string, at time.Time) *models.Subscriber {
	t.Helper()
	ctx := context.Background()
	s := &models.Subscriber{WorkspaceID: l.WorkspaceID, Email: email, Platform: platform, Status: models.SubscriberActive,
		CreatedAt: at, UpdatedAt: at}
	if err := store.UpsertSubscriber(ctx, app.DB, s); err != nil {
		t.Fatal(err)
	}
	g := &models.Signup{WorkspaceID: l.WorkspaceID, LinkID: l.ID, SubscriberID: s.ID, Platform: platform, IP: "203.0.113.7",
		UserAgent: ua, ConsentVersion: "email-signup-v1", ConsentedAt: at, CreatedAt: at}
	if err := store.UpsertSignup(ctx, app.DB, g); err != nil {
		t.Fatal(err)
	}
	return s
}

func setStatus(t *testing.T, app *testapp.App, email, status string) {
	t.Helper()
	if _, err := app.DB.NewUpdate().Model((*models.Subscriber)(nil)).Set("status = ?", status).Where("email = ?", email).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func suppress(t *testing.T, app *testapp.App, email, reason string) {
	t.Helper()
	s := &models.Suppression{Email: email, Reason: reason, CreatedAt: app.Clock.Now()}
	if _, err := app.DB.NewInsert().Model(s).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

var rowStatusRE = regexp.MustCompile(`data-testid="subscriber-row" data-status="([a-z]+)"`)

// rowStatuses lists the statuses of the list's rows, in order.
func rowStatuses(body string) []string {
	var out []string
	for _, m := range rowStatusRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestSubscriberList(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbNames[pg], func(t *testing.T) {
			app := testapp.New(t, testapp.Options{Postgres: pg})
			o := app.CreateOwner("artist@example.com", "Mara Lune")
			other := app.CreateOwner("label@example.com", "Other Label")
			admin := app.NewClient()
			admin.Login(o)

			// Empty: says what to do first.
			res, body := admin.Get("/admin/subscribers")
			if res.StatusCode != 200 || !strings.Contains(body, "No subscribers yet — share a live link") || strings.Contains(body, `data-testid="export-csv"`) {
				t.Fatalf("empty list: %d\n%s", res.StatusCode, body)
			}
			if !strings.Contains(body, `href="/admin/subscribers" aria-current="page"`) {
				t.Fatal("the sidebar does not mark Subscribers")
			}

			l1 := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
			l2 := app.Link(o.Workspace.ID, "second-single", models.LinkLive, app.Clock.Now().Add(96*time.Hour))
			l2.Title = "Second Single"
			if err := store.UpdateLink(context.Background(), app.DB, l2); err != nil {
				t.Fatal(err)
			}
			foreign := app.Link(other.Workspace.ID, "theirs", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
			storeSignup(t, app, foreign, "stranger@example.net", "spotify", "UA", app.Clock.Now())

			// 60 fans: even ones prefer Spotify, odd ones Deezer.
			for i := 1; i <= 60; i++ {
				platform := "spotify"
				if i%2 == 1 {
					platform = "deezer"
				}
				storeSignup(t, app, l1, fmt.Sprintf("fan%02d@example.net", i), platform, "UA", app.Clock.Now().Add(time.Duration(i)*time.Minute))
			}
			storeSignup(t, app, l2, "fan07@example.net", "deezer", "UA", app.Clock.Now().Add(2*time.Hour)) // fan07 through two links
			setStatus(t, app, "fan03@example.net", models.SubscriberUnsubscribed)
			setStatus(t, app, "fan04@example.net", models.SubscriberUnsubscribed)
			suppress(t, app, "fan05@example.net", models.SuppressedBounce)
			suppress(t, app, "fan06@example.net", models.SuppressedComplaint)
			setStatus(t, app, "fan06@example.net", models.SubscriberUnsubscribed) // a complaint wins over unsubscribed

			res, body = admin.Get("/admin/subscribers")
			if res.StatusCode != 200 {
				t.Fatalf("list: %d", res.StatusCode)
			}
			if n := len(rowStatuses(body)); n != 50 {
				t.Fatalf("page 1 has %d rows, want 50", n)
			}
			if !strings.Contains(body, "1–50 of 60 subscribers") || strings.Contains(body, "stranger@example.net") {
				t.Fatalf("pager or scoping wrong:\n%s", body)
			}
			for testid, want := range map[string]string{"count-active": "56 Active", "count-unsubscribed": "2 Unsubscribed",
				"count-bounced": "1 Bounced", "count-complained": "1 Complained"} {
				if !strings.Contains(body, `data-testid="`+testid+`">`+want+"<") {
					t.Errorf("header count %s is not %q", testid, want)
				}
			}
			if !strings.Contains(body, "<strong>60</strong> subscribers") {
				t.Error("no total in the header")
			}
			// Newest first (fan07, on page 2, shows its latest link and "+1").
			if i, j := strings.Index(body, "fan60@example.net"), strings.Index(body, "fan59@example.net"); i < 0 || j < i {
				t.Fatal("not newest first")
			}
			res, body = admin.Get("/admin/subscribers?page=2")
			if n := len(rowStatuses(body)); res.StatusCode != 200 || n != 10 || !strings.Contains(body, "51–60 of 60") {
				t.Fatalf("page 2: %d, %d rows", res.StatusCode, n)
			}
			row07 := body[strings.Index(body, "fan07@example.net"):]
			row07 = row07[:strings.Index(row07, "</tr>")]
			if !strings.Contains(row07, "Second Single") || !strings.Contains(row07, ">+1<") || !strings.Contains(row07, "Deezer") {
				t.Fatalf("fan07's row: %s", row07)
			}
			res, _ = admin.Get("/admin/subscribers?status=active&page=99")
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/subscribers?page=2&status=active" {
				t.Fatalf("a page past the end: %d %q", res.StatusCode, res.Header.Get("Location"))
			}

			for _, c := range []struct {
				query  string
				n      int
				status string // every row's status, when set
				has    string
			}{
				{"status=bounced", 1, "bounced", "fan05@example.net"},
				{"status=complained", 1, "complained", "fan06@example.net"},
				{"status=unsubscribed", 2, "unsubscribed", "fan03@example.net"},
				{"status=active&platform=deezer", 28, "active", ""},
				{"platform=spotify", 30, "", ""},
				{fmt.Sprintf("link=%d", l2.ID), 1, "", "fan07@example.net"},
				{"q=FAN1", 10, "", "fan19@example.net"},
				{"q=%25", 0, "", ""},                         // a LIKE wildcard is a plain character
				{"q=" + strings.Repeat("x", 500), 0, "", ""}, // bounded, not an error
				{fmt.Sprintf("link=%d", foreign.ID), 0, "", ""},
				{"status=nonsense&platform=myspace&link=abc", 50, "", ""}, // unknown filters are ignored
			} {
				res, body := admin.Get("/admin/subscribers?" + c.query)
				st := rowStatuses(body)
				if res.StatusCode != 200 || len(st) != c.n {
					t.Errorf("%s: %d, %d rows, want %d", c.query, res.StatusCode, len(st), c.n)
					continue
				}
				for _, s := range st {
					if c.status != "" && s != c.status {
						t.Errorf("%s: a row is %s", c.query, s)
					}
				}
				if c.has != "" && !strings.Contains(body, c.has) {
					t.Errorf("%s: %s missing", c.query, c.has)
				}
				if c.n == 0 && !strings.Contains(body, "No subscribers match") {
					t.Errorf("%s: no empty state", c.query)
				}
				if c.n > 0 && c.n < 50 && !strings.Contains(body, `href="/admin/subscribers/export.csv?`) {
					t.Errorf("%s: the export button does not carry the filters", c.query)
				}
			}
			// A filtered view can be bookmarked: the form shows the filters back.
			_, body = admin.Get(fmt.Sprintf("/admin/subscribers?status=active&platform=deezer&link=%d&q=fan", l1.ID))
			for _, want := range []string{`<option value="active" selected>`, `<option value="deezer" selected>`,
				fmt.Sprintf(`<option value="%d" selected>`, l1.ID), `value="fan"`} {
				if !strings.Contains(body, want) {
					t.Errorf("filter form lost %s", want)
				}
			}
		})
	}
}

// syncBuffer collects the server's JSON log lines safely across goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is everything logged so far.
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Len is how many bytes were logged so far.
func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// lines returns the log lines with this message.
func (s *syncBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(s.b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, body)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != "email,status,platform,link_slug,link_title,signup_platform,consented_at,ip,user_agent,consent_version,subscribed_at" {
		t.Fatalf("header: %v", recs)
	}
	return recs
}

func TestSubscriberExport(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbNames[pg], func(t *testing.T) {
			logs := &syncBuffer{}
			app := testapp.New(t, testapp.Options{Postgres: pg, Log: logs})
			o := app.CreateOwner("artist@example.com", "Mara Lune & Friends")
			other := app.CreateOwner("label@example.com", "Other Label")
			l1 := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
			l2 := app.Link(o.Workspace.ID, "second-single", models.LinkLive, app.Clock.Now().Add(96*time.Hour))
			foreign := app.Link(other.Workspace.ID, "theirs", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
			storeSignup(t, app, foreign, "stranger@example.net", "spotify", "UA", app.Clock.Now())
			at := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
			storeSignup(t, app, l1, "ana@example.net", "spotify", evilFormula, at)
			storeSignup(t, app, l1, "+ben@example.net", "deezer", "Mozilla/5.0", at.Add(time.Hour))
			storeSignup(t, app, l2, "ana@example.net", "tidal", "@SUM(1+1)", at.Add(2*time.Hour))
			storeSignup(t, app, l2, "cleo@example.net", "tidal", "Mozilla/5.0", at.Add(3*time.Hour))
			suppress(t, app, "cleo@example.net", models.SuppressedBounce)

			// A member, not only an owner, can export.
			m := app.CreateOwner("member@example.com", "Member's Own")
			if err := store.AddMember(context.Background(), app.DB, &models.Member{WorkspaceID: o.Workspace.ID, UserID: m.User.ID,
				Role: models.RoleMember, CreatedAt: app.Clock.Now()}); err != nil {
				t.Fatal(err)
			}
			c := app.NewClient()
			c.Login(m)
			if res, _ := c.PostForm("/admin/links", fmt.Sprintf("/admin/workspaces/%d/switch", o.Workspace.ID), nil); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("switch: %d", res.StatusCode)
			}

			res, body := c.Get("/admin/subscribers/export.csv")
			if res.StatusCode != 200 {
				t.Fatalf("export: %d\n%s", res.StatusCode, body)
			}
			if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="dropday-subscribers-mara-lune-friends-2026-11-21.csv"` {
				t.Errorf("Content-Disposition %q", cd)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			recs := readCSV(t, body)
			if len(recs) != 5 { // one line per signup: ana twice
				t.Fatalf("%d lines, want header + 4:\n%s", len(recs), body)
			}
			if strings.Contains(body, "stranger@") {
				t.Fatal("another workspace's subscriber in the export")
			}
			byUA := map[string][]string{}
			for _, r := range recs[1:] {
				byUA[r[8]] = r
			}
			ana := byUA["'"+evilFormula]
			if ana == nil {
				t.Fatalf("the formula was not neutralised:\n%s", body)
			}
			if strings.Join(ana, "|") != "ana@example.net|active|tidal|night-drive|Night Drive|spotify|2026-11-20T09:30:00Z|203.0.113.7|'"+evilFormula+"|email-signup-v1|2026-11-20T09:30:00Z" {
				t.Errorf("ana's line: %q", ana)
			}
			if byUA["'@SUM(1+1)"] == nil {
				t.Error("@ not neutralised")
			}
			for _, r := range recs[1:] {
				for _, cell := range r {
					if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
						t.Errorf("a cell starts with a formula character: %q", cell)
					}
				}
				if strings.HasPrefix(r[0], "'+ben") == false && strings.Contains(r[0], "ben") {
					t.Errorf("+ben not neutralised: %q", r[0])
				}
			}
			lines := logs.lines(t, "subscriber export")
			if len(lines) != 1 || lines[0]["rows"] != float64(4) || lines[0]["user_id"] != float64(m.User.ID) ||
				lines[0]["workspace_id"] != float64(o.Workspace.ID) || lines[0]["scope"] != "workspace" {
				t.Fatalf("audit log lines: %v", lines)
			}

			// The same filters as the list.
			for q, want := range map[string]int{
				"status=bounced":                     1,
				fmt.Sprintf("link=%d", l2.ID):        2,
				fmt.Sprintf("link=%d", foreign.ID):   0,
				"q=ANA":                              2,
				"platform=deezer":                    1,
				fmt.Sprintf("link=%d&q=cleo", l2.ID): 1,
				fmt.Sprintf("link=%d&q=cleo", l1.ID): 0,
			} {
				res, body := c.Get("/admin/subscribers/export.csv?" + q)
				if recs := readCSV(t, body); res.StatusCode != 200 || len(recs)-1 != want {
					t.Errorf("export ?%s: %d, %d lines, want %d", q, res.StatusCode, len(recs)-1, want)
				}
			}
			c.Get(fmt.Sprintf("/admin/subscribers/export.csv?status=active&link=%d&q=cleo", l1.ID))
			lines = logs.lines(t, "subscriber export")
			last := lines[len(lines)-1]
			if last["status"] != "active" || last["link_id"] != float64(l1.ID) || last["search"] != "cleo" || last["rows"] != float64(0) {
				t.Errorf("the log does not name the filters: %v", last)
			}

			// One link's export: its signups only, named after its slug.
			res, body = c.Get(fmt.Sprintf("/admin/links/%d/subscribers/export.csv", l1.ID))
			recs = readCSV(t, body)
			if res.StatusCode != 200 || len(recs) != 3 || recs[1][3] != "night-drive" || recs[2][3] != "night-drive" {
				t.Fatalf("link export: %d %v", res.StatusCode, recs)
			}
			if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="dropday-subscribers-night-drive-2026-11-21.csv"` {
				t.Errorf("link Content-Disposition %q", cd)
			}
			lines = logs.lines(t, "subscriber export")
			if last := lines[len(lines)-1]; last["scope"] != "link" || last["link_id"] != float64(l1.ID) || last["rows"] != float64(2) {
				t.Errorf("link export log: %v", last)
			}
			// Another workspace's link is a 404, and so is a malformed id.
			for _, p := range []string{fmt.Sprintf("/admin/links/%d/subscribers/export.csv", foreign.ID), "/admin/links/x/subscribers/export.csv"} {
				if res, body := c.Get(p); res.StatusCode != http.StatusNotFound || strings.Contains(body, "stranger@") {
					t.Errorf("%s: %d", p, res.StatusCode)
				}
			}
			// Signed out: the login, not the file.
			if res, _ := app.NewClient().Get("/admin/subscribers/export.csv"); res.StatusCode != http.StatusSeeOther {
				t.Errorf("signed out: %d", res.StatusCode)
			}

			// The link's Subscribers tab links to its export and draws the chart.
			_, body = c.Get(fmt.Sprintf("/admin/links/%d/subscribers", l1.ID))
			if !strings.Contains(body, fmt.Sprintf(`href="/admin/links/%d/subscribers/export.csv"`, l1.ID)) {
				t.Error("no export button on the link's Subscribers tab")
			}
		})
	}
}

// The link's chart counts signups per day in the link's zone (Europe/Berlin),
// over the link's life when that is shorter than 30 days.
func TestSignupChart(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbNames[pg], func(t *testing.T) {
			app := testapp.New(t, testapp.Options{Postgres: pg})
			o := app.CreateOwner("artist@example.com", "Mara Lune")
			app.Clock.Set(testapp.Start.AddDate(0, 0, -3)) // created on the 18th
			l := app.Link(o.Workspace.ID, "night-drive", models.LinkLive, testapp.Start.Add(72*time.Hour))
			app.Clock.Set(testapp.Start) // now: Sat 21 Nov, 13:00 in Berlin
			old := app.Link(o.Workspace.ID, "old", models.LinkLive, testapp.Start.Add(72*time.Hour))
			if _, err := app.DB.NewUpdate().Model((*models.Link)(nil)).Set("created_at = ?", testapp.Start.AddDate(0, -3, 0)).Where("id = ?", old.ID).Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
			berlin, _ := time.LoadLocation("Europe/Berlin")
			in := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, berlin) }
			storeSignup(t, app, l, "a@example.net", "spotify", "UA", in(18, 10, 0))
			storeSignup(t, app, l, "b@example.net", "spotify", "UA", in(19, 23, 50)) // 22:50 UTC: still the 19th in Berlin
			storeSignup(t, app, l, "c@example.net", "spotify", "UA", in(20, 0, 10))  // 23:10 UTC on the 19th: the 20th in Berlin
			storeSignup(t, app, l, "d@example.net", "spotify", "UA", in(20, 12, 0))
			storeSignup(t, app, l, "e@example.net", "spotify", "UA", in(21, 9, 0))
			storeSignup(t, app, old, "f@example.net", "spotify", "UA", in(21, 9, 0))
			admin := app.NewClient()
			admin.Login(o)
			_, body := admin.Get(fmt.Sprintf("/admin/links/%d/subscribers", l.ID))
			table := body[strings.Index(body, `data-testid="chart-table"`):]
			table = table[:strings.Index(table, "</table>")]
			cells := regexp.MustCompile(`<td>([^<]+)</td><td class="num">(\d+)</td>`).FindAllStringSubmatch(table, -1)
			var got []string
			for _, c := range cells {
				got = append(got, c[1]+"="+c[2])
			}
			if want := "Wed 18 Nov=1,Thu 19 Nov=1,Fri 20 Nov=2,Sat 21 Nov=1"; strings.Join(got, ",") != want {
				t.Fatalf("per day %q, want %q", strings.Join(got, ","), want)
			}
			if n := strings.Count(body, `class="chart-bar"`); n != 4 {
				t.Fatalf("%d bars", n)
			}
			if !strings.Contains(body, `data-testid="chart-total">5<`) || !strings.Contains(body, "days in Europe/Berlin") {
				t.Fatal("chart head wrong")
			}
			// An older link shows 30 days.
			_, body = admin.Get(fmt.Sprintf("/admin/links/%d/subscribers", old.ID))
			if n := strings.Count(body, `class="chart-bar"`); n != 30 || !strings.Contains(body, "Last 30 days") {
				t.Fatalf("old link: %d bars", n)
			}
		})
	}
}
