package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/broadcast"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/views/public"
)

// unsubscribePage shows what the email's unsubscribe link does; it changes
// nothing, because mail scanners fetch every link in a message.
func (s *Server) unsubscribePage(c echo.Context) error {
	privatePage(c)
	sub, err := s.Broadcast.Find(c.Request().Context(), c.Param("token"))
	if err != nil {
		return noSubscription(err)
	}
	step := public.UnsubscribeAsk
	if !sub.Active() {
		step = public.UnsubscribeDone
	}
	return s.unsubscribeAnswer(c, sub, step)
}

// unsubscribeSubmit unsubscribes. It takes no cookie, CSRF token or Origin:
// mail providers POST "List-Unsubscribe=One-Click" from their own servers
// (RFC 8058), and the token in the path is the authority. Our page's form
// and a provider get the same answer; a repeat is harmless.
func (s *Server) unsubscribeSubmit(c echo.Context) error {
	privatePage(c)
	sub, err := s.Broadcast.Unsubscribe(c.Request().Context(), c.Param("token"))
	if err != nil {
		return noSubscription(err)
	}
	return s.unsubscribeAnswer(c, sub, public.UnsubscribeDone)
}

// resubscribeSubmit undoes an unsubscribe from the confirmation page (only
// our page posts it, hence sameOrigin on the route).
func (s *Server) resubscribeSubmit(c echo.Context) error {
	privatePage(c)
	sub, err := s.Broadcast.Resubscribe(c.Request().Context(), c.Param("token"))
	if err != nil {
		return noSubscription(err)
	}
	return s.unsubscribeAnswer(c, sub, public.UnsubscribeResubscribed)
}

func (s *Server) unsubscribeAnswer(c echo.Context, sub broadcast.Subscription, step string) error {
	return render(c, http.StatusOK, public.UnsubscribePage(public.Unsubscribe{
		Landing: s.landingView(sub.Link, s.Now()), Token: c.Param("token"), Email: sub.Subscriber.Email,
		Step: step, Bounced: sub.Bounced,
	}))
}

func noSubscription(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "This unsubscribe link is not valid: check that you copied all of it, or use the link in the newest email. Nothing was changed.")
	}
	return err
}
