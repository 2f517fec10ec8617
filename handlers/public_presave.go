package handlers

import (
	"cmp"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/presave"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/public"
)

// stateCookie binds a consent attempt to the browser that started it.
const stateCookie = "dropday_oauth"

// presaveStart sends the fan to the platform's consent screen.
func (s *Server) presaveStart(c echo.Context) error {
	l, err := s.publicLink(c)
	if err != nil {
		return err
	}
	key := c.Param("platform")
	if !presave.Open(l) || !s.Presave.Enabled(key) {
		return noLanding()
	}
	if !s.signupLimit.Allow(c.RealIP()) {
		c.Response().Header().Set("Retry-After", "60")
		if wantsJSON(c) {
			return c.JSON(http.StatusTooManyRequests, map[string]string{"error": "Too many pre-saves from your connection. Please wait a minute, then try again."})
		}
		return s.presaveProblem(c, l, http.StatusTooManyRequests, "Too many tries",
			"Too many pre-saves from your connection. Please wait a minute, then try again.")
	}
	pc, inPage := s.Presave.PageClient(key)
	if inPage && !wantsJSON(c) {
		return s.pageAuthStart(c, pc, "")
	}
	authURL, state, err := s.Presave.Start(c.Request().Context(), l, key, c.FormValue("email_opt_in") != "", c.FormValue("consent_version"))
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: stateCookie, Value: state, Path: "/oauth/", HttpOnly: true,
		Secure: s.Config.Secure(), SameSite: http.SameSiteLaxMode, MaxAge: int(presave.StateTTL.Seconds())})
	c.Response().Header().Set("Cache-Control", "no-store")
	if inPage {
		return s.pageAuthStart(c, pc, state)
	}
	return c.Redirect(http.StatusSeeOther, authURL)
}

// oauthCallback is where the platform sends the fan back. Whatever happens,
// the state cookie is spent; the fan lands on a page that says what to do next.
func (s *Server) oauthCallback(c echo.Context) error {
	cookieState := ""
	if ck, err := c.Cookie(stateCookie); err == nil {
		cookieState = ck.Value
	}
	c.SetCookie(&http.Cookie{Name: stateCookie, Value: "", Path: "/oauth/", HttpOnly: true,
		Secure: s.Config.Secure(), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	c.Response().Header().Set("Cache-Control", "no-store")
	key := c.Param("platform")
	res, err := s.Presave.Complete(c.Request().Context(), presave.Callback{
		Platform: key, CookieState: cookieState, QueryState: c.QueryParam("state"),
		Code: c.QueryParam("code"), Error: cmp.Or(c.QueryParam("error"), c.QueryParam("error_reason")), // Deezer: error_reason=user_denied
		IP: c.RealIP(), UserAgent: c.Request().UserAgent(),
	})
	name := platformName(key)
	var perr *platform.Error
	switch {
	case errors.Is(err, presave.ErrBadState):
		return echo.NewHTTPError(http.StatusBadRequest, "This sign-in has expired or was already used. Go back to the release page and press the pre-save button again.")
	case errors.Is(err, presave.ErrDenied):
		return s.presaveProblem(c, res.Link, http.StatusOK, "Nothing was saved",
			"You didn't give dropday access to "+name+", so nothing was saved. Try again, or get an email when it's out.")
	case errors.Is(err, presave.ErrUnavailable):
		return s.presaveProblem(c, res.Link, http.StatusOK, "Pre-save is closed",
			"Pre-saving on "+name+" is not available for this release any more.")
	case errors.As(err, &perr) && res.Link != nil:
		loggerOf(c, s.Log).Warn("pre-save consent failed at the platform", "platform", key, "kind", perr.Kind.String(), "status", perr.Status)
		msg := name + " didn't answer as expected, so nothing was saved. Please try again in a minute."
		if perr.Kind == platform.NotAllowed {
			msg = name + " doesn't let this account use dropday yet, so nothing was saved. Get an email when it's out instead."
		}
		return s.presaveProblem(c, res.Link, http.StatusBadGateway, "Nothing was saved", msg)
	case err != nil:
		return err
	}
	if res.Enqueued {
		// Out already: the delivery was enqueued with the consent; start it now.
		s.Release.Runner.Notify()
	}
	loggerOf(c, s.Log).Info("pre-save recorded", "platform", key, "link", res.Link.ID, "presave", res.Presave.ID, "email_opt_in", res.Presave.EmailOptIn)
	return c.Redirect(http.StatusSeeOther, "/"+res.Link.Slug+"/presaved?t="+res.RevokeToken)
}

// presaved is the fan's confirmation, addressed by their undo token so a
// reload shows it again instead of replaying the consent.
func (s *Server) presaved(c echo.Context) error {
	privatePage(c)
	p, l, err := presave.Find(c.Request().Context(), s.DB, c.QueryParam("t"))
	if err != nil || l.Slug != c.Param("slug") {
		return noPresave(err)
	}
	now := s.Now()
	v := s.landingView(l, now)
	loc, _ := time.LoadLocation(l.TimeZone)
	if loc == nil {
		loc = time.UTC
	}
	return render(c, http.StatusOK, public.PresavedPage(public.Presaved{
		Landing: v, PlatformName: platformName(p.Platform), PlatformKey: p.Platform, SaveDay: l.ReleaseAt.In(loc).Format("Mon 2 Jan, 15:04") + " (" + loc.String() + ")",
		RevokeURL: "/revoke/" + c.QueryParam("t"), NeedEmail: p.EmailOptIn && p.Email == "" && p.State == models.PresavePending,
	}))
}

// revokePage shows what the undo link will cancel; it changes nothing.
func (s *Server) revokePage(c echo.Context) error {
	privatePage(c)
	p, l, err := presave.Find(c.Request().Context(), s.DB, c.Param("token"))
	if err != nil {
		return noPresave(err)
	}
	return render(c, http.StatusOK, public.RevokePage(s.revokeView(l, p, c.Param("token"), false)))
}

// revokeSubmit cancels the pre-save and destroys its credential; a second press is harmless.
func (s *Server) revokeSubmit(c echo.Context) error {
	privatePage(c)
	r, err := presave.Revoke(c.Request().Context(), s.DB, c.Param("token"), s.Now())
	if err != nil {
		return noPresave(err)
	}
	if r.Changed {
		loggerOf(c, s.Log).Info("pre-save revoked by the fan", "presave", r.Presave.ID, "platform", r.Presave.Platform)
	}
	return render(c, http.StatusOK, public.RevokePage(s.revokeView(r.Link, r.Presave, c.Param("token"), r.Changed)))
}

func (s *Server) revokeView(l *models.Link, p *models.Presave, token string, done bool) public.Revoke {
	pl, _ := models.PlatformByKey(p.Platform)
	return public.Revoke{Landing: s.landingView(l, s.Now()), PlatformName: pl.Name, Token: token,
		State: p.State, Done: done, AppsURL: pl.AppsURL}
}

func (s *Server) presaveProblem(c echo.Context, l *models.Link, status int, heading, msg string) error {
	return render(c, status, public.PresaveProblemPage(public.PresaveProblem{Landing: s.landingView(l, s.Now()), Heading: heading, Message: msg}))
}

// privatePage marks pages addressed by a fan's token: never cached, never
// indexed, and the token never leaves in a Referer header.
func privatePage(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex")
}

func noPresave(err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "This undo link is not valid: check that you copied all of it. If you pre-saved again since, use the newest link.")
	}
	return err
}

func platformName(key string) string {
	if p, ok := models.PlatformByKey(key); ok {
		return p.Name
	}
	return key
}
