package handlers

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/analytics"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/views/admin"
)

// insightsLinks caps the workspace page's per-link table.
const insightsLinks = 200

// linkInsights is a link's Insights tab, over ?days= (7, 30 or 90).
func (s *Server) linkInsights(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	days := analytics.Period(c.QueryParam("days"))
	rep, err := s.insights(c, store.Scope{WorkspaceID: adminOf(c).workspaceID(), LinkID: l.ID}, days)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, admin.LinkInsightsView(admin.Insights{
		Layout: layoutFor(c, "links"), Link: l, BaseURL: s.baseURL(), Days: days, Report: rep,
	}))
}

// workspaceInsights is every link of the workspace together, and a row per link.
func (s *Server) workspaceInsights(c echo.Context) error {
	wid := adminOf(c).workspaceID()
	days := analytics.Period(c.QueryParam("days"))
	rep, err := s.insights(c, store.Scope{WorkspaceID: wid}, days)
	if err != nil {
		return err
	}
	ls, _, err := store.ListLinks(c.Request().Context(), s.DB, wid, store.LinkFilter{Limit: insightsLinks})
	if err != nil {
		return err
	}
	rows := make([]admin.InsightsLink, 0, len(ls))
	for _, l := range ls {
		rows = append(rows, admin.InsightsLink{Link: l, Totals: rep.Links[l.ID]})
	}
	// Most viewed first; the list's own order (next release first) breaks ties.
	slices.SortStableFunc(rows, func(a, b admin.InsightsLink) int { return cmp.Compare(b.Totals.Views, a.Totals.Views) })
	return render(c, http.StatusOK, admin.WorkspaceInsightsView(admin.Insights{
		Layout: layoutFor(c, "insights"), Days: days, Report: rep, Links: rows,
	}))
}

// insights flushes this instance's last seconds of counts first, so the
// page includes the views just made here; other instances' follow within
// analytics.FlushEvery.
func (s *Server) insights(c echo.Context, sc store.Scope, days int) (*analytics.Report, error) {
	ctx := c.Request().Context()
	if err := s.Analytics.Flush(ctx); err != nil {
		loggerOf(c, s.Log).Warn("insights: flush failed; showing the counts stored so far", "err", err)
	}
	return analytics.Build(ctx, s.DB, sc, days, s.Now())
}
