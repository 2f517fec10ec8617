package handlers

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/accounts"
	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/admin"
)

const setupClosedMsg = "This setup link was used already or replaced by a newer one. If nobody has set up dropday yet, restart it and open the new link from its log."

// home sends people to the admin panel (or setup/login from there).
func (s *Server) home(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/admin/links") }

func (s *Server) setupPage(c echo.Context) error {
	token := c.QueryParam("token")
	ok, err := accounts.SetupTokenValid(c.Request().Context(), s.DB, token)
	if err != nil {
		return err
	}
	if !ok {
		return render(c, http.StatusNotFound, admin.SetupClosed(setupClosedMsg))
	}
	return render(c, http.StatusOK, admin.Setup(admin.SetupForm{CSRF: csrfToken(c), Token: token}))
}

func (s *Server) setupSubmit(c echo.Context) error {
	in := accounts.OwnerInput{Name: c.FormValue("name"), Email: c.FormValue("email"),
		Password: c.FormValue("password"), Workspace: c.FormValue("workspace")}
	token := c.FormValue("token")
	ok, err := accounts.SetupTokenValid(c.Request().Context(), s.DB, token)
	if err != nil {
		return err
	}
	if !ok {
		return render(c, http.StatusNotFound, admin.SetupClosed(setupClosedMsg))
	}
	u, w, errs, err := accounts.CreateOwner(c.Request().Context(), s.DB, s.Hasher, in, token, s.Now())
	if errors.Is(err, accounts.ErrSetupClosed) {
		return render(c, http.StatusNotFound, admin.SetupClosed(setupClosedMsg))
	}
	if err != nil {
		return err
	}
	if errs.Has() {
		return render(c, http.StatusUnprocessableEntity, admin.Setup(admin.SetupForm{CSRF: csrfToken(c), Token: token,
			Name: in.Name, Email: in.Email, Workspace: in.Workspace, Errors: errs}))
	}
	loggerOf(c, s.Log).Info("first owner created through setup", "user_id", u.ID, "workspace_id", w.ID)
	if err := s.startSession(c, u.ID, w.ID); err != nil {
		return err
	}
	return redirect(c, "/admin/links")
}

func (s *Server) loginPage(c echo.Context) error {
	if _, err := s.loadSession(c); err == nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	form := admin.LoginForm{CSRF: csrfToken(c), Next: c.QueryParam("next")}
	if c.QueryParam("reset") != "" {
		form.Notice = passwordChangedMsg
	}
	return render(c, http.StatusOK, admin.Login(form))
}

func (s *Server) loginSubmit(c echo.Context) error {
	email := strings.ToLower(strings.TrimSpace(c.FormValue("email")))
	form := admin.LoginForm{CSRF: csrfToken(c), Email: email, Next: c.FormValue("next")}
	if !s.loginLimit.Allow(c.RealIP()) {
		form.Error = "Too many login attempts from your network. Wait a minute and try again."
		return render(c, http.StatusTooManyRequests, admin.Login(form))
	}
	ctx := c.Request().Context()
	u, err := store.UserByEmail(ctx, s.DB, email)
	hash := ""
	if err == nil {
		hash = u.PasswordHash
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := s.Hasher.Check(hash, c.FormValue("password")); err != nil {
		loggerOf(c, s.Log).Info("login failed")
		form.Error = "Wrong email or password."
		return render(c, http.StatusUnauthorized, admin.Login(form))
	}
	ws, err := store.WorkspacesOf(ctx, s.DB, u.ID)
	if err != nil {
		return err
	}
	if len(ws) == 0 {
		form.Error = "Your account is not in any workspace any more. Ask an owner to invite you again."
		return render(c, http.StatusForbidden, admin.Login(form))
	}
	if err := s.startSession(c, u.ID, ws[0].WorkspaceID); err != nil {
		return err
	}
	loggerOf(c, s.Log).Info("login", "user_id", u.ID)
	return redirect(c, safeNext(form.Next))
}

func (s *Server) logout(c echo.Context) error {
	if err := store.DeleteSession(c.Request().Context(), s.DB, adminOf(c).session.ID); err != nil {
		return err
	}
	s.clearSessionCookie(c)
	return redirect(c, "/login")
}

func (s *Server) invitePage(c echo.Context) error {
	in, ws, err := s.openInvite(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, admin.Invite(admin.InviteForm{CSRF: csrfToken(c), Token: c.Param("token"), Email: in.Email, Workspace: ws.Name}))
}

// inviteAccept creates the invitee's account and membership, marking the invite used in the same transaction.
func (s *Server) inviteAccept(c echo.Context) error {
	in, ws, err := s.openInvite(c)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(c.FormValue("name"))
	pw := c.FormValue("password")
	var errs validate.Errors
	if len([]rune(name)) > 100 {
		errs.Add("name", "Keep your name under 100 characters.")
	}
	hash, herr := s.Hasher.Hash(pw)
	if herr != nil {
		errs.Add("password", "Password: "+herr.Error()+".")
	}
	form := admin.InviteForm{CSRF: csrfToken(c), Token: c.Param("token"), Email: in.Email, Workspace: ws.Name, Name: name, Errors: errs}
	if errs.Has() {
		return render(c, http.StatusUnprocessableEntity, admin.Invite(form))
	}
	now := s.Now()
	u := &models.User{Email: in.Email, Name: name, PasswordHash: hash, CreatedAt: now}
	err = s.DB.RunInTx(c.Request().Context(), &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if err := store.AcceptInvite(ctx, tx, in.ID, now); err != nil {
			return err
		}
		if err := store.CreateUser(ctx, tx, u); err != nil {
			return err
		}
		return store.AddMember(ctx, tx, &models.Member{WorkspaceID: in.WorkspaceID, UserID: u.ID, Role: in.Role, CreatedAt: now})
	})
	if errors.Is(err, store.ErrConflict) {
		form.Errors.Add("password", "An account with this email exists already; log in, and ask the owner to add that account.")
		return render(c, http.StatusConflict, admin.Invite(form))
	}
	if err != nil {
		return err
	}
	if err := s.startSession(c, u.ID, in.WorkspaceID); err != nil {
		return err
	}
	return redirect(c, "/admin/links")
}

func (s *Server) openInvite(c echo.Context) (*models.Invite, *models.Workspace, error) {
	ctx := c.Request().Context()
	in, err := store.InviteByToken(ctx, s.DB, auth.HashToken(c.Param("token")), s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, echo.NewHTTPError(http.StatusNotFound, "This invitation was used already, withdrawn or has expired. Ask the owner for a new one.")
	}
	if err != nil {
		return nil, nil, err
	}
	ws, err := store.WorkspaceByID(ctx, s.DB, in.WorkspaceID)
	if err != nil {
		return nil, nil, err
	}
	return in, ws, nil
}
