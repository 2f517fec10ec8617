package handlers

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/audit"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/admin"
)

const auditPerPage = 50

// actorOf is who makes this request, for the audit log: the signed-in admin,
// or the API token, with the request's IP and user agent.
func actorOf(c echo.Context) audit.Actor {
	ip, ua := c.RealIP(), c.Request().UserAgent()
	if a, ok := c.Get(ctxAdmin).(*adminCtx); ok {
		return audit.User(a.user.ID, a.user.Email, ip, ua)
	}
	if t, ok := c.Get(ctxAPI).(*models.APIToken); ok {
		return audit.Actor{Kind: models.ActorAPI, Name: "API token “" + t.Name + "”", IP: ip, UserAgent: ua}
	}
	return audit.Actor{Kind: models.ActorUser, Name: "unknown", IP: ip, UserAgent: ua}
}

// record writes an audit entry for this request's workspace.
func (s *Server) record(ctx context.Context, c echo.Context, db bun.IDB, workspaceID int64, action, target, detail string) error {
	return audit.Record(ctx, db, actorOf(c), workspaceID, action, target, detail, s.Now())
}

// auditList is the workspace's audit log (owners only, by the route table),
// filtered by ?action= and ?from=/?to= (dates, UTC, inclusive), 50 a page.
// There is no route that changes or deletes an entry.
func (s *Server) auditList(c echo.Context) error {
	f, v := auditFilter(c)
	page := linkPageParam(c)
	f.Limit, f.Offset = auditPerPage, (page-1)*auditPerPage
	rows, total, err := store.AuditLog(c.Request().Context(), s.DB, adminOf(c).workspaceID(), f)
	if err != nil {
		return err
	}
	v.Layout, v.Rows = layoutFor(c, "audit"), rows
	v.Pager = admin.Pager{Page: page, PerPage: auditPerPage, Total: total}
	return render(c, http.StatusOK, admin.AuditPage(v))
}

// auditFilter reads the log's filters; bad values are ignored and said so.
func auditFilter(c echo.Context) (store.AuditFilter, admin.Audit) {
	var f store.AuditFilter
	v := admin.Audit{Actions: audit.Actions, Action: c.QueryParam("action"), From: c.QueryParam("from"), To: c.QueryParam("to")}
	if slices.Contains(audit.Actions, v.Action) {
		f.Action = v.Action
	} else {
		v.Action = ""
	}
	if v.From != "" {
		if t, err := time.Parse(time.DateOnly, v.From); err == nil {
			f.From = t
		} else {
			v.FilterError, v.From = "Dates look like 2026-12-01.", ""
		}
	}
	if v.To != "" {
		if t, err := time.Parse(time.DateOnly, v.To); err == nil {
			f.To = t.AddDate(0, 0, 1)
		} else {
			v.FilterError, v.To = "Dates look like 2026-12-01.", ""
		}
	}
	return f, v
}
