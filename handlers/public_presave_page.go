package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/presave"
)

// Apple Music's pre-add runs in the fan's page: the landing page's
// musickit.js asks presaveStart (as JSON) for a one-time state and the
// developer token, loads MusicKit JS, calls authorize(), and posts the
// Music User Token to presaveToken.

// browserCookie names the fan's browser for a platform that gives no account
// id (Apple Music): the same browser pre-adding twice is one pre-save.
// MusicKit keeps one Music User Token per browser and site, so this is the
// same granularity Apple itself has.
const browserCookie = "dropday_fan"

// pageAuthStart answers the landing page's JSON request for a consent that
// runs in the page; a form POST without JavaScript gets a page that says so.
func (s *Server) pageAuthStart(c echo.Context, pc presave.PageAuthorized, state string) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if !wantsJSON(c) {
		l, err := s.publicLink(c)
		if err != nil {
			return err
		}
		return s.presaveProblem(c, l, http.StatusOK, "Turn on JavaScript",
			"Pre-adding on "+platformName(pc.Key())+" runs in your browser and needs JavaScript. Turn it on and try again, or get an email when it's out.")
	}
	dev, err := pc.DeveloperToken()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{
		"state": state, "developerToken": dev, "musicKitURL": pc.MusicKitURL(),
		"tokenURL": "/oauth/" + pc.Key() + "/token", "app": "dropday",
	})
}

// presaveToken takes the token the platform's SDK gave the page, with the
// state presaveStart issued (bound to this browser by its cookie), and
// answers where the page goes next: the confirmation.
func (s *Server) presaveToken(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	key := c.Param("platform")
	cookieState := ""
	if ck, err := c.Cookie(stateCookie); err == nil {
		cookieState = ck.Value
	}
	c.SetCookie(&http.Cookie{Name: stateCookie, Value: "", Path: "/oauth/", HttpOnly: true,
		Secure: s.Config.Secure(), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	browser := ""
	if ck, err := c.Cookie(browserCookie); err == nil && validBrowserID(ck.Value) {
		browser = ck.Value
	} else {
		browser = auth.NewToken("")
	}
	res, err := s.Presave.AcceptToken(c.Request().Context(), presave.TokenGrant{
		// From the body only: a token in a URL would end up in logs.
		Platform: key, CookieState: cookieState, FormState: c.Request().PostFormValue("state"),
		UserToken: c.Request().PostFormValue("music_user_token"), BrowserID: browser,
		IP: c.RealIP(), UserAgent: c.Request().UserAgent(),
	})
	name := platformName(key)
	var perr *platform.Error
	switch {
	case errors.Is(err, presave.ErrBadState):
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "This pre-add has expired or was already used. Reload the page and press the button again."})
	case errors.Is(err, presave.ErrUnavailable):
		return c.JSON(http.StatusConflict, map[string]string{"error": "Pre-saving on " + name + " is not available for this release any more."})
	case errors.As(err, &perr):
		loggerOf(c, s.Log).Warn("pre-add refused by the platform", "platform", key, "kind", perr.Kind.String(), "status", perr.Status)
		msg := name + " didn't answer as expected, so nothing was saved. Please try again in a minute."
		if perr.Kind == platform.AuthExpired {
			msg = name + " didn't accept the authorization, so nothing was saved. Please try again."
		}
		return c.JSON(http.StatusBadGateway, map[string]string{"error": msg})
	case err != nil:
		return err
	}
	if res.Presave.PlatformUserID == "browser:"+browser {
		c.SetCookie(&http.Cookie{Name: browserCookie, Value: browser, Path: "/oauth/" + key + "/", HttpOnly: true,
			Secure: s.Config.Secure(), SameSite: http.SameSiteStrictMode, MaxAge: 365 * 24 * 3600})
	}
	if res.Enqueued {
		s.Release.Runner.Notify()
	}
	loggerOf(c, s.Log).Info("pre-save recorded", "platform", key, "link", res.Link.ID, "presave", res.Presave.ID, "email_opt_in", res.Presave.EmailOptIn)
	return c.JSON(http.StatusOK, map[string]string{"location": "/" + res.Link.Slug + "/presaved?t=" + res.RevokeToken})
}

// wantsJSON: the landing page's script asked (a plain form POST did not).
func wantsJSON(c echo.Context) bool {
	return strings.Contains(c.Request().Header.Get("Accept"), "application/json")
}

// validBrowserID accepts only what auth.NewToken makes (43 base64url characters).
func validBrowserID(v string) bool {
	if len(v) != 43 {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
