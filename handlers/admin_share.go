package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"
	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/analytics"
	"github.com/dropday/dropday/internal/audit"
	"github.com/dropday/dropday/internal/jobs"
	"github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/admin"
)

const (
	presavesPerPage = 50
	// grantLifetimeMonths is how long a Spotify authorization can be used after consent.
	grantLifetimeMonths = 6
	qrSize              = 512
)

var presaveStates = []string{models.PresavePending, models.PresaveDelivered, models.PresaveFailed, models.PresaveRevoked}

// linkShare is the Share tab: the address, the QR code, deliver now, the live
// KPIs and the pre-save list (paged, filtered by ?state= and ?q=).
func (s *Server) linkShare(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	wid := adminOf(c).workspaceID()
	state := c.QueryParam("state")
	if !slices.Contains(presaveStates, state) {
		state = ""
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	if r := []rune(q); len(r) > 100 {
		q = string(r[:100])
	}
	page := linkPageParam(c)
	ps, total, err := store.LinkPresaves(ctx, s.DB, wid, l.ID,
		store.PresaveFilter{State: state, Search: q, Limit: presavesPerPage, Offset: (page - 1) * presavesPerPage})
	if err != nil {
		return err
	}
	if len(ps) == 0 && total > 0 {
		last := (total + presavesPerPage - 1) / presavesPerPage
		return c.Redirect(http.StatusSeeOther, shareQuery(l.ID, state, q, last))
	}
	stats, err := s.shareStats(ctx, wid, l)
	if err != nil {
		return err
	}
	expiring, err := store.CountConsentedBefore(ctx, s.DB, wid, l.ID, "spotify", l.ReleaseAt.AddDate(0, -grantLifetimeMonths, 0))
	if err != nil {
		return err
	}
	keys := make([]string, len(ps))
	for i, p := range ps {
		keys[i] = release.DeliveryKey(p.ID, p.ConsentedAt)
	}
	byKey, err := store.DeliveryAttempts(ctx, s.DB, keys)
	if err != nil {
		return err
	}
	attempts := make(map[int64]int, len(byKey))
	for i, p := range ps {
		if n, ok := byKey[keys[i]]; ok {
			attempts[p.ID] = n
		}
	}
	notice := ""
	if n := c.QueryParam("enqueued"); n != "" {
		notice = deliverMsg(atoi(n)) + "."
	}
	quota, err := s.youtubeQuotaUntil(ctx)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, admin.SharePageView(admin.SharePage{
		Layout: layoutFor(c, "links"), Link: l, BaseURL: s.baseURL(), ShareURL: s.Config.URL("/" + l.Slug),
		Stats: stats, Expiring: expiring, Presaves: ps, Attempts: attempts, State: state, Query: q,
		Pager: admin.Pager{Page: page, PerPage: presavesPerPage, Total: total}, Notice: notice,
		YouTubeQuotaUntil: quota,
	}))
}

// linkShareStats is the polled partial: the KPIs and the progress bar.
func (s *Server) linkShareStats(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	stats, err := s.shareStats(c.Request().Context(), adminOf(c).workspaceID(), l)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, admin.ShareStatsPartial(stats))
}

// linkQR is the share URL as a PNG QR code; ?download=1 makes it a download.
func (s *Server) linkQR(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(s.Config.URL("/"+l.Slug), qrcode.Medium, qrSize)
	if err != nil {
		return fmt.Errorf("handlers: qr code: %w", err)
	}
	if c.QueryParam("download") != "" {
		c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-qr.png"`, l.Slug))
	}
	return c.Blob(http.StatusOK, "image/png", png)
}

// linkDeliver is "deliver now": enqueue every pending pre-save at once. htmx
// gets the refreshed (polling) KPIs and a toast; a plain form gets the tab again.
func (s *Server) linkDeliver(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	added, err := s.Release.DeliverNow(ctx, l, func(ctx context.Context, tx bun.IDB, added int) error {
		return s.record(ctx, c, tx, l.WorkspaceID, audit.DeliverNow, "link "+l.Slug, audit.Detail("link_id", l.ID, "enqueued", added))
	})
	if errors.Is(err, release.ErrNotDeliverable) {
		msg := "Only live links can deliver: this link is a draft. Set it to Live first."
		if l.State == models.LinkArchived {
			msg = "This link is archived, so it delivers nothing."
		}
		if isHTMX(c) {
			toast(c, msg)
		}
		return echo.NewHTTPError(http.StatusConflict, msg)
	}
	if err != nil {
		return err
	}
	loggerOf(c, s.Log).Info("deliver now", "link_id", l.ID, "enqueued", added)
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/links/%d/share?enqueued=%d", l.ID, added))
	}
	stats, err := s.shareStats(ctx, adminOf(c).workspaceID(), l)
	if err != nil {
		return err
	}
	if added > 0 {
		stats.Poll, stats.PollEvery = true, "2s" // the jobs were just queued: watch them finish
	}
	toast(c, deliverMsg(added))
	return render(c, http.StatusOK, admin.ShareStatsPartial(stats))
}

func deliverMsg(n int) string {
	switch n {
	case 0:
		return "Nothing new to deliver"
	case 1:
		return "Delivering 1 pre-save"
	}
	return fmt.Sprintf("Delivering %d pre-saves", n)
}

// shareStats counts the link's pre-saves; the partial keeps polling while any
// is pending or a delivery job is still queued or running.
func (s *Server) shareStats(ctx context.Context, wid int64, l *models.Link) (admin.ShareStats, error) {
	n, err := store.PresaveCounts(ctx, s.DB, wid, l.ID)
	if err != nil {
		return admin.ShareStats{}, err
	}
	st := admin.ShareStats{LinkID: l.ID, Pending: n[models.PresavePending], Delivered: n[models.PresaveDelivered],
		Failed: n[models.PresaveFailed], Revoked: n[models.PresaveRevoked]}
	byPlatform, err := store.PresaveStatesByPlatform(ctx, s.DB, store.Scope{WorkspaceID: wid, LinkID: l.ID}, time.Time{}, time.Time{})
	if err != nil {
		return admin.ShareStats{}, err
	}
	st.Platforms = analytics.Platforms(byPlatform, nil, nil)
	jc, err := s.Release.Queue.Counts(ctx, release.KindDeliver)
	if err != nil {
		return admin.ShareStats{}, err
	}
	delivering := jc[jobs.StateAvailable]+jc[jobs.StateRunning]+jc[jobs.StateRetryable] > 0
	st.Poll = st.Pending > 0 || delivering
	// Fast while deliveries run; slow while the page only waits for new pre-saves.
	st.PollEvery = "30s"
	if delivering || !s.Now().Before(l.ReleaseAt) {
		st.PollEvery = "2s"
	}
	return st, nil
}

// shareQuery is the tab's URL with its list filters and page.
func shareQuery(id int64, state, q string, page int) string {
	v := url.Values{}
	if state != "" {
		v.Set("state", state)
	}
	if q != "" {
		v.Set("q", q)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	u := fmt.Sprintf("/admin/links/%d/share", id)
	if len(v) == 0 {
		return u
	}
	return u + "?" + v.Encode()
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
