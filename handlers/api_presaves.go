package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/audit"
	"github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// apiPresaveCounts is a link's pre-saves by state.
type apiPresaveCounts struct {
	Pending   int `json:"pending"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Revoked   int `json:"revoked"`
	Total     int `json:"total"`
}

// apiLinkPresaves: GET /api/v1/links/:id/presaves, the four counts.
func (s *Server) apiLinkPresaves(c echo.Context) error {
	l, err := s.apiLinkByID(c)
	if err != nil {
		return err
	}
	n, err := store.PresaveCounts(c.Request().Context(), s.DB, l.WorkspaceID, l.ID)
	if err != nil {
		return err
	}
	out := apiPresaveCounts{Pending: n[models.PresavePending], Delivered: n[models.PresaveDelivered],
		Failed: n[models.PresaveFailed], Revoked: n[models.PresaveRevoked]}
	out.Total = out.Pending + out.Delivered + out.Failed + out.Revoked
	return c.JSON(http.StatusOK, out)
}

// apiLinkDeliver: POST /api/v1/links/:id/deliver, "deliver now"; 202 with how
// many deliveries were queued (0 when every pending one is queued already).
func (s *Server) apiLinkDeliver(c echo.Context) error {
	l, err := s.apiLinkByID(c)
	if err != nil {
		return err
	}
	added, err := s.Release.DeliverNow(c.Request().Context(), l, func(ctx context.Context, tx bun.IDB, added int) error {
		return s.record(ctx, c, tx, l.WorkspaceID, audit.DeliverNow, "link "+l.Slug, audit.Detail("link_id", l.ID, "enqueued", added))
	})
	if errors.Is(err, release.ErrNotDeliverable) {
		return apiFail(http.StatusConflict, "not_deliverable",
			"Only live or released links can deliver; this link is "+l.State+". Set its state to live first.", "state")
	}
	if err != nil {
		return err
	}
	loggerOf(c, s.Log).Info("deliver now", "link_id", l.ID, "enqueued", added)
	return c.JSON(http.StatusAccepted, map[string]int{"enqueued": added})
}
