package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/broadcast"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/admin"
)

const (
	broadcastsPerPage = 50
	// previewRecipient is the made-up fan the preview is addressed to.
	previewRecipient = "fan@example.com"
)

// Form values of "when".
const (
	whenRelease = "release"
	whenLater   = "later"
)

// Form values of "action": the button pressed.
const (
	actionDraft    = "draft"
	actionSchedule = "schedule"
	actionSend     = "send"
)

// broadcastList is the workspace's broadcasts, one per link, with their numbers.
func (s *Server) broadcastList(c echo.Context) error {
	ctx := c.Request().Context()
	wid := adminOf(c).workspaceID()
	page := linkPageParam(c)
	rows, total, err := store.ListBroadcasts(ctx, s.DB, wid, broadcastsPerPage, (page-1)*broadcastsPerPage)
	if err != nil {
		return err
	}
	if len(rows) == 0 && total > 0 {
		last := (total + broadcastsPerPage - 1) / broadcastsPerPage
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/broadcasts?page=%d", last))
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	counts, err := store.RecipientCountsByBroadcast(ctx, s.DB, ids)
	if err != nil {
		return err
	}
	items := make([]admin.BroadcastItem, len(rows))
	for i, r := range rows {
		items[i] = admin.BroadcastItem{Row: r, Stats: broadcast.Tally(r.Total, counts[r.ID])}
	}
	return render(c, http.StatusOK, admin.BroadcastListPage(admin.BroadcastList{
		Layout: layoutFor(c, "broadcasts"), Items: items,
		Pager: admin.Pager{Page: page, PerPage: broadcastsPerPage, Total: total},
	}))
}

// linkBroadcast is the link's Broadcast tab: the composer while the email is
// a draft or scheduled, its live status and insights once sending started.
func (s *Server) linkBroadcast(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	d, err := s.broadcastPage(c, l)
	if err != nil {
		return err
	}
	switch c.QueryParam("done") {
	case actionDraft:
		d.Notice = "Draft saved. It is not scheduled: nothing goes out until you schedule or send it."
	case actionSchedule:
		if d.B != nil && d.B.State == models.BroadcastScheduled {
			d.Notice = "Scheduled for " + admin.BroadcastSendTime(d.B, l) + "."
		}
	case actionSend:
		d.Notice = "Sending started."
	case "test":
		d.Notice = "Test sent to " + adminOf(c).user.Email + "."
	case "pause":
		d.Notice = "Paused. Nothing more goes out until you resume."
	case "resume":
		d.Notice = "Resumed: sending goes on where it stopped."
	case "cancel":
		d.Notice = "Cancelled. What was sent stays sent; nothing more goes out."
	}
	return render(c, http.StatusOK, admin.BroadcastPageView(d))
}

// broadcastPage gathers the tab's data with the form filled from the stored broadcast.
func (s *Server) broadcastPage(c echo.Context, l *models.Link) (admin.BroadcastPage, error) {
	ctx := c.Request().Context()
	b, err := store.BroadcastForLink(ctx, s.DB, l.WorkspaceID, l.ID)
	if errors.Is(err, store.ErrNotFound) {
		b, err = nil, nil
	}
	if err != nil {
		return admin.BroadcastPage{}, err
	}
	audience, err := store.CountBroadcastAudience(ctx, s.DB, l.ID)
	if err != nil {
		return admin.BroadcastPage{}, err
	}
	d := admin.BroadcastPage{Layout: layoutFor(c, "links"), Link: l, BaseURL: s.baseURL(), B: b,
		Audience: audience, Outbox: s.Config.Mail.Driver == "outbox", TestTo: adminOf(c).user.Email,
		Now: s.Now(), In: admin.BroadcastInputOf(b, l), Errors: map[string]string{}}
	if b == nil {
		return d, nil
	}
	msg, err := s.Broadcast.Render(ctx, previewLetter(b, l))
	if err != nil {
		return admin.BroadcastPage{}, err
	}
	d.PreviewText = msg.Text
	if admin.BroadcastStarted(b.State) {
		if d.Status, err = s.broadcastStatus(ctx, c, l, b); err != nil {
			return admin.BroadcastPage{}, err
		}
	}
	return d, nil
}

// broadcastStatus is the polled part: state, progress and insights.
func (s *Server) broadcastStatus(ctx context.Context, c echo.Context, l *models.Link, b *models.Broadcast) (admin.BroadcastStatus, error) {
	p, err := s.Broadcast.Progress(ctx, b)
	if err != nil {
		return admin.BroadcastStatus{}, err
	}
	return admin.BroadcastStatus{Link: l, B: b, Stats: broadcast.Tally(p.Total, p.Counts),
		Poll: b.State == models.BroadcastSending, CSRF: csrfToken(c)}, nil
}

// linkBroadcastStatus answers the polled partial. When the state changed
// since the page asked (?state=), the controls (pause, resume, cancel, the
// pause reason) come along out of band; otherwise they are left alone, so an
// open confirmation is not swept away every two seconds.
func (s *Server) linkBroadcastStatus(c echo.Context) error {
	l, b, err := s.broadcastParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	st, err := s.broadcastStatus(ctx, c, l, b)
	if err != nil {
		return err
	}
	st.ControlsOOB = c.QueryParam("state") != b.State
	return render(c, http.StatusOK, admin.BroadcastStatusPartial(st))
}

// linkBroadcastSave saves the draft, schedules it, or saves and sends it now
// (the "action" button). Bad input re-renders the form with inline messages
// and writes nothing.
func (s *Server) linkBroadcastSave(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	in := admin.BroadcastInput{Subject: c.FormValue("subject"), Body: c.FormValue("body"),
		Format: c.FormValue("format"), When: c.FormValue("when"),
		SendDate: strings.TrimSpace(c.FormValue("send_date")), SendTime: strings.TrimSpace(c.FormValue("send_time"))}
	action := c.FormValue("action")
	if action != actionDraft && action != actionSchedule && action != actionSend {
		return echo.NewHTTPError(http.StatusBadRequest, "Press Save draft, Schedule or Send now.")
	}
	draft := broadcast.Draft{Subject: in.Subject, Body: in.Body, Format: in.Format}
	errs := draft.Validate()
	switch in.When {
	case whenRelease:
	case whenLater:
		at, msg := broadcast.SendAt(in.SendDate, in.SendTime, l.TimeZone, s.Now())
		if msg != "" {
			errs["send_at"] = msg
		} else {
			draft.SendAt = &at
		}
	default:
		errs["when"] = "Choose when it goes out: at the release time or at a later time."
	}
	var audience int
	if action == actionSend {
		if audience, err = store.CountBroadcastAudience(ctx, s.DB, l.ID); err != nil {
			return err
		}
		if audience == 0 && len(errs) == 0 {
			return s.broadcastFormError(c, l, in, errs, http.StatusUnprocessableEntity,
				"This link has no subscribers yet, so there is no one to send to. Save it as a draft or schedule it instead.")
		}
	}
	if len(errs) > 0 {
		return s.broadcastFormError(c, l, in, errs, http.StatusUnprocessableEntity, "")
	}
	b, err := s.Broadcast.Save(ctx, l, adminOf(c).user.ID, draft, action == actionSchedule)
	if errors.Is(err, broadcast.ErrStarted) {
		return s.broadcastFormError(c, l, in, nil, http.StatusConflict,
			"This email has started going out, so it can no longer change or start again.")
	}
	if err != nil {
		return err
	}
	if action == actionSend {
		err := s.Broadcast.Start(ctx, b)
		if errors.Is(err, broadcast.ErrStarted) {
			return s.broadcastFormError(c, l, in, nil, http.StatusConflict, "This email has already started going out.")
		}
		if err != nil {
			return err
		}
		loggerOf(c, s.Log).Info("broadcast send now", "link_id", l.ID, "broadcast_id", b.ID, "audience", audience)
	}
	return redirect(c, fmt.Sprintf("/admin/links/%d/broadcast?done=%s", l.ID, action))
}

// broadcastFormError answers the tab again with what was typed and why it
// was not saved.
func (s *Server) broadcastFormError(c echo.Context, l *models.Link, in admin.BroadcastInput, errs map[string]string, status int, alert string) error {
	d, err := s.broadcastPage(c, l)
	if err != nil {
		return err
	}
	if in != (admin.BroadcastInput{}) && (d.B == nil || !admin.BroadcastStarted(d.B.State)) {
		d.In = in // keep what was typed; a started broadcast shows what went out
	}
	if errs != nil {
		d.Errors = errs
	}
	d.Alert = alert
	return render(c, status, admin.BroadcastPageView(d))
}

// broadcastParam is the link of the URL (scoped to the session's workspace)
// and its broadcast; l is set when only the broadcast is missing.
func (s *Server) broadcastParam(c echo.Context) (*models.Link, *models.Broadcast, error) {
	l, err := s.linkParam(c)
	if err != nil {
		return nil, nil, err
	}
	b, err := store.BroadcastForLink(c.Request().Context(), s.DB, l.WorkspaceID, l.ID)
	if err != nil {
		return l, nil, err
	}
	return l, b, nil
}

// linkBroadcastPreview is the saved email's HTML part, for the sandboxed frame.
func (s *Server) linkBroadcastPreview(c echo.Context) error {
	l, b, err := s.broadcastParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	msg, err := s.Broadcast.Render(ctx, previewLetter(b, l))
	if err != nil {
		return err
	}
	return emailFrame(c, msg.HTML)
}

// previewLetter addresses the saved email to a made-up fan who pre-saved on
// Spotify, so the preview shows every part (the button, the undo link); its
// links carry no working tokens.
func previewLetter(b *models.Broadcast, l *models.Link) broadcast.Letter {
	return broadcast.Letter{Broadcast: b, Link: l, To: previewRecipient, Platform: "spotify",
		Unsubscribe: "preview", Revoke: "preview"}
}

// linkBroadcastTest sends the saved email to the signed-in admin.
func (s *Server) linkBroadcastTest(c echo.Context) error {
	l, b, err := s.broadcastParam(c)
	ctx := c.Request().Context()
	if errors.Is(err, store.ErrNotFound) && l != nil {
		msg := "Save the draft first: the test is the saved email."
		if isHTMX(c) {
			toast(c, msg)
		}
		return echo.NewHTTPError(http.StatusConflict, msg)
	}
	if err != nil {
		return err
	}
	to := adminOf(c).user.Email
	if err := s.Broadcast.SendTest(ctx, b, l, to); err != nil {
		return err
	}
	loggerOf(c, s.Log).Info("broadcast test sent", "link_id", l.ID, "broadcast_id", b.ID)
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/links/%d/broadcast?done=test", l.ID))
	}
	toast(c, "Test sent to "+to)
	return c.NoContent(http.StatusNoContent)
}

// linkBroadcastControl pauses, resumes or cancels (the "op" in the route).
func (s *Server) linkBroadcastControl(op string) echo.HandlerFunc {
	return func(c echo.Context) error {
		l, b, err := s.broadcastParam(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		var ok bool
		switch op {
		case "pause":
			ok, err = s.Broadcast.Pause(ctx, b, "Paused by "+adminOf(c).user.Email+".")
		case "resume":
			ok, err = s.Broadcast.Resume(ctx, b)
		case "cancel":
			ok, err = s.Broadcast.Cancel(ctx, b)
		}
		if err != nil {
			return err
		}
		if !ok {
			return s.broadcastFormError(c, l, admin.BroadcastInput{}, nil, http.StatusConflict,
				"That no longer applies: the email moved on in the meantime. Here is where it stands now.")
		}
		loggerOf(c, s.Log).Info("broadcast "+op, "link_id", l.ID, "broadcast_id", b.ID)
		return redirect(c, fmt.Sprintf("/admin/links/%d/broadcast?done=%s", l.ID, op))
	}
}
