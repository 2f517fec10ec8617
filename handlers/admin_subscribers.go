package handlers

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/audit"
	"github.com/dropday/dropday/internal/csvsafe"
	"github.com/dropday/dropday/internal/signup"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/admin"
)

const (
	subscribersPerPage = 50
	// exportBatch is how many rows the CSV export reads at a time: its memory
	// is one batch, whatever the size of the list.
	exportBatch = 1000
	// exportWriteWindow is the write deadline granted per batch, so a long
	// export outlives the server's WriteTimeout as long as it keeps moving.
	exportWriteWindow = time.Minute
	searchMaxRunes    = 100
	linkChoicesMax    = 200
)

// exportColumns is the CSV header; exportRecord writes the values in this order.
var exportColumns = []string{"email", "status", "platform", "link_slug", "link_title", "signup_platform",
	"consented_at", "ip", "user_agent", "consent_version", "subscribed_at"}

// subscriberFilter reads the list's filters from the query string: unknown
// values are ignored (the unfiltered list), never an error page.
func subscriberFilter(c echo.Context) store.SubscriberFilter {
	f := store.SubscriberFilter{Status: c.QueryParam("status"), Platform: c.QueryParam("platform")}
	if !slices.Contains(models.SubscriberStatuses, f.Status) {
		f.Status = ""
	}
	if _, ok := models.PlatformByKey(f.Platform); !ok {
		f.Platform = ""
	}
	if id, err := strconv.ParseInt(c.QueryParam("link"), 10, 64); err == nil && id > 0 {
		f.LinkID = id
	}
	f.Search = strings.TrimSpace(c.QueryParam("q"))
	if r := []rune(f.Search); len(r) > searchMaxRunes {
		f.Search = string(r[:searchMaxRunes])
	}
	return f
}

// subscriberList is the workspace's subscriber list, filtered by ?status=,
// ?link=, ?platform= and ?q= (email substring), 50 a page.
func (s *Server) subscriberList(c echo.Context) error {
	ctx := c.Request().Context()
	wid := adminOf(c).workspaceID()
	f := subscriberFilter(c)
	page := linkPageParam(c)
	f.Limit, f.Offset = subscribersPerPage, (page-1)*subscribersPerPage
	rows, total, err := store.ListSubscribers(ctx, s.DB, wid, f)
	if err != nil {
		return err
	}
	if len(rows) == 0 && total > 0 {
		last := (total + subscribersPerPage - 1) / subscribersPerPage
		return c.Redirect(http.StatusSeeOther, string(admin.SubscribersURL(f, last)))
	}
	counts, err := store.SubscriberCounts(ctx, s.DB, wid)
	if err != nil {
		return err
	}
	links, err := store.LinkChoices(ctx, s.DB, wid, linkChoicesMax)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, admin.SubscribersPage(admin.Subscribers{
		Layout: layoutFor(c, "subscribers"), Rows: rows, Counts: counts, Links: links, Filter: f,
		Pager: admin.Pager{Page: page, PerPage: subscribersPerPage, Total: total},
	}))
}

// subscriberExport streams the workspace's list as CSV, with the list's filters.
func (s *Server) subscriberExport(c echo.Context) error {
	f := subscriberFilter(c)
	name := fileSlug(adminOf(c).member.Workspace.Name, "workspace")
	return s.streamExport(c, name, "workspace", f)
}

// linkSubscriberExport streams one link's signups as CSV; another workspace's link is a 404.
func (s *Server) linkSubscriberExport(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	return s.streamExport(c, l.Slug, "link", store.SubscriberFilter{LinkID: l.ID})
}

// streamExport writes the export batch by batch (keyset pagination through
// store.ExportBatch), flushing after each, so memory stays one batch however
// long the list. The first batch is read before anything is sent, so a
// database error still becomes an error page; a later one cuts the file short
// and is logged. Every export goes to the workspace's audit log (who, the
// filters, from where) and to the server log with its row count.
func (s *Server) streamExport(c echo.Context, name, scope string, f store.SubscriberFilter) error {
	ctx := c.Request().Context()
	a := adminOf(c)
	wid := a.workspaceID()
	page, err := store.ExportBatch(ctx, s.DB, wid, f, 0, exportBatch)
	if err != nil {
		return err
	}
	// The audit entry is written before the first byte leaves: an export that
	// sends anything is always on record (a failed write sends nothing).
	if err := s.record(ctx, c, s.DB, wid, audit.SubscribersExport, scope+" "+name, audit.Detail("link_id", f.LinkID,
		"status", f.Status, "platform", f.Platform, "search", f.Search)); err != nil {
		return err
	}
	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="dropday-subscribers-%s-%s.csv"`, name, s.Now().UTC().Format("2006-01-02")))
	h.Set("Cache-Control", "no-store")
	res.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(res)
	w := csvsafe.NewWriter(res)
	n, batches := 0, 1
	err = w.Write(exportColumns)
	for err == nil {
		for i := range page.Rows {
			if err = w.Write(exportRecord(&page.Rows[i])); err != nil {
				break
			}
			n++
		}
		if err == nil {
			err = w.Flush()
		}
		if err != nil || page.Done {
			break
		}
		_ = rc.Flush()
		_ = rc.SetWriteDeadline(time.Now().Add(exportWriteWindow))
		page, err = store.ExportBatch(ctx, s.DB, wid, f, page.Last, exportBatch)
		batches++
	}
	log := loggerOf(c, s.Log).With("user_id", a.user.ID, "workspace_id", wid, "scope", scope,
		"link_id", f.LinkID, "status", f.Status, "platform", f.Platform, "search", f.Search,
		"rows", n, "batches", batches)
	if err != nil {
		log.Error("subscriber export cut short", "err", err)
		return nil // the headers are sent: nothing else can be said to the browser
	}
	_ = rc.Flush()
	log.Info("subscriber export")
	return nil
}

// exportRecord is one CSV line; times are RFC 3339 in UTC, empty when unknown.
func exportRecord(r *store.ExportRow) []string {
	return []string{r.Email, r.Status, r.Platform, r.LinkSlug, r.LinkTitle, r.SignupPlatform,
		rfc3339(r.ConsentedAt), r.IP, r.UserAgent, r.ConsentVersion, rfc3339(r.SubscribedAt)}
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// fileSlug makes a name safe for a download's file name: lower-case letters,
// digits and single dashes, at most 40 characters.
func fileSlug(name, fallback string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		return fallback
	}
	return out
}

// linkSignupChart is the link's signups per day for its Subscribers tab.
func (s *Server) linkSignupChart(c echo.Context, l *models.Link) ([]signup.Day, error) {
	loc, err := time.LoadLocation(l.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	now := s.Now()
	first := signup.Window(now, l.CreatedAt, loc)
	slots, err := store.SignupBuckets(c.Request().Context(), s.DB, adminOf(c).workspaceID(), l.ID, first)
	if err != nil {
		return nil, err
	}
	return signup.PerDay(slots, first, now, loc), nil
}
