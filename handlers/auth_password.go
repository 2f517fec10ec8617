package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/accounts"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/views/admin"
)

// passwordChangedMsg greets someone back at the login page after a reset.
const passwordChangedMsg = "Your password is changed, and every browser that was logged in to your account is logged out. Log in with the new password."

func (s *Server) forgotPage(c echo.Context) error {
	return render(c, http.StatusOK, admin.Forgot(admin.ForgotForm{CSRF: csrfToken(c)}))
}

// forgotSubmit answers every well-formed address with the same page, the same
// status and at the same speed: the lookup, the reset row and the email happen
// in the background (accounts.Mailer.RequestReset).
func (s *Server) forgotSubmit(c echo.Context) error {
	form := admin.ForgotForm{CSRF: csrfToken(c), Email: c.FormValue("email")}
	if !s.loginLimit.Allow(c.RealIP()) {
		form.Error = "Too many attempts from your network. Wait a minute and try again."
		return render(c, http.StatusTooManyRequests, admin.Forgot(form))
	}
	email, msg := validate.Email(form.Email)
	if msg != "" {
		form.Errors.Add("email", msg)
		return render(c, http.StatusUnprocessableEntity, admin.Forgot(form))
	}
	s.AccountMail.RequestReset(email)
	loggerOf(c, s.Log).Info("password reset requested")
	return render(c, http.StatusOK, admin.ForgotSent(s.AccountMail.Outbox))
}

// openReset finds the reset the address names and its account's email; an
// unknown, expired or used link answers the "ask for a new one" page.
func (s *Server) openReset(c echo.Context) (string, bool, error) {
	privatePage(c) // the token is in the address
	ctx := c.Request().Context()
	r, err := accounts.OpenReset(ctx, s.DB, c.Param("token"), s.Now())
	if errors.Is(err, accounts.ErrResetInvalid) {
		return "", false, render(c, http.StatusNotFound, admin.ResetInvalid())
	}
	if err != nil {
		return "", false, err
	}
	u, err := store.UserByID(ctx, s.DB, r.UserID)
	if err != nil {
		return "", false, err
	}
	return u.Email, true, nil
}

func (s *Server) resetPage(c echo.Context) error {
	email, ok, err := s.openReset(c)
	if !ok {
		return err
	}
	return render(c, http.StatusOK, admin.Reset(admin.ResetForm{CSRF: csrfToken(c), Token: c.Param("token"), Email: email}))
}

// resetSubmit sets the new password, uses up the link and ends every session
// of the account; the person then logs in with the new password, which proves
// it works (and the login picks their workspace as usual).
func (s *Server) resetSubmit(c echo.Context) error {
	email, ok, err := s.openReset(c)
	if !ok {
		return err
	}
	token := c.Param("token")
	u, errs, err := accounts.ResetPassword(c.Request().Context(), s.DB, s.Hasher, token, c.FormValue("password"), s.Now())
	if errors.Is(err, accounts.ErrResetInvalid) { // used by a racing submit in between
		return render(c, http.StatusNotFound, admin.ResetInvalid())
	}
	if err != nil {
		return err
	}
	if errs.Has() {
		return render(c, http.StatusUnprocessableEntity, admin.Reset(admin.ResetForm{CSRF: csrfToken(c), Token: token, Email: email, Errors: errs}))
	}
	loggerOf(c, s.Log).Info("password reset: password changed, every session ended", "user_id", u.ID)
	s.clearSessionCookie(c)
	return redirect(c, "/login?reset=1")
}
