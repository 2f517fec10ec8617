package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/layouts"
)

const sessionCookie = "dropday_session"

// adminCtx is who is signed in and in which workspace; every admin query uses
// workspace.ID from here, never an id from the request.
type adminCtx struct {
	user       *models.User
	session    *models.Session
	member     *models.Member
	workspaces []models.Member
	// outbox: the outbox mail driver is on, so the sidebar offers the Outbox.
	outbox bool
}

func (a *adminCtx) workspaceID() int64 { return a.member.WorkspaceID }

func adminOf(c echo.Context) *adminCtx { return c.Get(ctxAdmin).(*adminCtx) }

// layoutFor is the data every admin page draws its shell with.
func layoutFor(c echo.Context, nav string) layouts.Admin {
	a := adminOf(c)
	return layouts.Admin{CSRF: csrfToken(c), User: a.user, Workspace: a.member.Workspace,
		Role: a.member.Role, Workspaces: a.workspaces, Nav: nav, Outbox: a.outbox}
}

// requireAdmin loads the session from its cookie, or sends the browser to /login.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, err := s.loadSession(c)
		if errors.Is(err, store.ErrNotFound) {
			s.clearSessionCookie(c)
			if isHTMX(c) {
				// A partial (a polling panel, a form) must not swap the login page
				// into itself: send the whole window to the login instead.
				c.Response().Header().Set("HX-Redirect", "/login")
				return c.NoContent(http.StatusUnauthorized)
			}
			if c.Request().Method != http.MethodGet {
				return echo.NewHTTPError(http.StatusUnauthorized, "Your session ended. Log in again and repeat the change.")
			}
			return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		if err != nil {
			return err
		}
		a.outbox = s.Config.Mail.Driver == "outbox"
		c.Set(ctxAdmin, a)
		c.Set(ctxLogger, loggerOf(c, s.Log).With("user_id", a.user.ID, "workspace_id", a.workspaceID()))
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// requireOwner refuses owner-only actions to members.
func (s *Server) requireOwner(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if adminOf(c).member.Role != models.RoleOwner {
			return echo.NewHTTPError(http.StatusForbidden, "Only the workspace's owners can do this.")
		}
		return next(c)
	}
}

func (s *Server) loadSession(c echo.Context) (*adminCtx, error) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, store.ErrNotFound
	}
	ctx := c.Request().Context()
	now := s.Now()
	sess, err := store.SessionByToken(ctx, s.DB, auth.HashToken(ck.Value), now)
	if err != nil {
		return nil, err
	}
	user, err := store.UserByID(ctx, s.DB, sess.UserID)
	if err != nil {
		return nil, err
	}
	workspaces, err := store.WorkspacesOf(ctx, s.DB, user.ID)
	if err != nil {
		return nil, err
	}
	var member *models.Member
	for i := range workspaces {
		if workspaces[i].WorkspaceID == sess.WorkspaceID {
			member = &workspaces[i]
		}
	}
	if member == nil {
		// Removed from the session's workspace: fall back to another, or end the session.
		if len(workspaces) == 0 {
			_ = store.DeleteSession(ctx, s.DB, sess.ID)
			return nil, store.ErrNotFound
		}
		member = &workspaces[0]
		if err := store.SwitchSessionWorkspace(ctx, s.DB, sess.ID, member.WorkspaceID); err != nil {
			return nil, err
		}
	}
	// Slide the expiry at most every few minutes, not on every request.
	if now.Sub(sess.LastSeenAt) > 5*time.Minute {
		if err := store.TouchSession(ctx, s.DB, sess.ID, now, now.Add(s.Config.SessionTTL)); err != nil {
			return nil, err
		}
	}
	return &adminCtx{user: user, session: sess, member: member, workspaces: workspaces}, nil
}

// startSession creates a brand-new session (a new token at every login, so a
// token planted before login is worthless) and ends the browser's previous one.
func (s *Server) startSession(c echo.Context, userID, workspaceID int64) error {
	ctx := c.Request().Context()
	if old, err := c.Cookie(sessionCookie); err == nil && old.Value != "" {
		if prev, err := store.SessionByToken(ctx, s.DB, auth.HashToken(old.Value), s.Now()); err == nil {
			_ = store.DeleteSession(ctx, s.DB, prev.ID)
		}
	}
	now := s.Now()
	// Housekeeping rides on logins until the scheduler exists: they are rare and cheap.
	if _, err := store.DeleteExpiredSessions(ctx, s.DB, now); err != nil {
		return err
	}
	token := auth.NewToken("")
	ua := c.Request().UserAgent()
	if len(ua) > 400 {
		ua = ua[:400]
	}
	sess := &models.Session{TokenHash: auth.HashToken(token), UserID: userID, WorkspaceID: workspaceID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.Config.SessionTTL), IP: c.RealIP(), UserAgent: ua}
	if err := store.CreateSession(ctx, s.DB, sess); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: s.Config.Secure(), SameSite: http.SameSiteLaxMode, MaxAge: int(s.Config.SessionTTL.Seconds())})
	return nil
}

func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: s.Config.Secure(), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// safeNext keeps post-login redirects inside the admin panel (no open redirect).
func safeNext(next string) string {
	if strings.HasPrefix(next, "/admin") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/admin/links"
}
