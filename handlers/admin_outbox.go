package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/admin"
)

const outboxPerPage = 50

// outboxList is the workspace's Outbox, newest first, filtered by ?to= and
// paged by ?page=. htmx's poll gets the list alone (OutboxListPartial).
func (s *Server) outboxList(c echo.Context) error {
	a := adminOf(c)
	p := admin.OutboxPage{Layout: layoutFor(c, "outbox"), Enabled: a.outbox}
	if !p.Enabled {
		return render(c, http.StatusOK, admin.OutboxView(p))
	}
	to := strings.TrimSpace(c.QueryParam("to"))
	if len(to) > 254 {
		to = to[:254]
	}
	page := linkPageParam(c)
	ms, total, err := store.ListOutbox(c.Request().Context(), s.DB, a.workspaceID(),
		store.OutboxFilter{Recipient: to, Limit: outboxPerPage, Offset: (page - 1) * outboxPerPage})
	if err != nil {
		return err
	}
	if len(ms) == 0 && total > 0 { // past the last page
		last := (total + outboxPerPage - 1) / outboxPerPage
		return c.Redirect(http.StatusSeeOther, admin.OutboxURL(to, last))
	}
	p.List = admin.OutboxList{Messages: ms, To: to, Pager: admin.Pager{Page: page, PerPage: outboxPerPage, Total: total}}
	if isHTMX(c) {
		return render(c, http.StatusOK, admin.OutboxListPartial(p.List))
	}
	return render(c, http.StatusOK, admin.OutboxView(p))
}

// outboxMessage shows one email of the workspace's Outbox; another
// workspace's id is a 404 like every foreign id.
func (s *Server) outboxMessage(c echo.Context) error {
	m, err := s.outboxParam(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, admin.OutboxMessageView(admin.OutboxMessagePage{Layout: layoutFor(c, "outbox"), Message: m}))
}

// outboxHTML is the email's HTML part for the sandboxed frame of outboxMessage.
func (s *Server) outboxHTML(c echo.Context) error {
	m, err := s.outboxParam(c)
	if err != nil {
		return err
	}
	return emailFrame(c, m.HTML)
}

// outboxParam is the message of the URL, in the session's workspace's Outbox.
func (s *Server) outboxParam(c echo.Context) (*models.OutboxMessage, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return nil, store.ErrNotFound
	}
	return store.WorkspaceOutboxMessage(c.Request().Context(), s.DB, adminOf(c).workspaceID(), id)
}
