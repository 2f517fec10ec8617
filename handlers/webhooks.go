package handlers

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/mail/webhook"
)

// webhookLimit bounds a webhook body: Resend's events are a few KB.
const webhookLimit = 256 << 10

// resendWebhook takes Resend's signed delivery events (Svix). No CSRF and
// no Origin: the caller is a server, and the signature is the authority.
// Without a configured secret every delivery is refused with 503, so Svix
// keeps retrying (for days) until the operator sets it, instead of dropping
// events a 4xx would end.
func (s *Server) resendWebhook(c echo.Context) error {
	log := loggerOf(c, s.Log)
	secret := s.Config.Mail.ResendWebhookSecret
	if secret == "" {
		log.Warn("resend webhook refused: DROPDAY_RESEND_WEBHOOK_SECRET is not set")
		return apiFail(http.StatusServiceUnavailable, "not_configured",
			"Webhooks are off: set DROPDAY_RESEND_WEBHOOK_SECRET to the webhook's signing secret.", "")
	}
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		log.Warn("resend webhook refused: the configured secret is unusable", "err", err)
		return apiFail(http.StatusServiceUnavailable, "not_configured",
			"Webhooks are off: DROPDAY_RESEND_WEBHOOK_SECRET is not a valid whsec_ secret.", "")
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, webhookLimit+1))
	if err != nil {
		return err
	}
	if len(body) > webhookLimit {
		return apiFail(http.StatusRequestEntityTooLarge, "too_large", "The webhook body is larger than 256 KB.", "")
	}
	id, err := v.Verify(c.Request().Header, body, s.Now())
	if err != nil {
		log.Warn("resend webhook refused", "err", err)
		return apiFail(http.StatusUnauthorized, "bad_signature",
			"The webhook's signature or timestamp did not verify.", "")
	}
	ev, err := webhook.Parse(body)
	if err != nil {
		log.Warn("resend webhook unreadable", "svix_id", id, "err", err)
		return apiFail(http.StatusBadRequest, "bad_request", "The webhook body is not an event dropday can read.", "")
	}
	out, err := s.Broadcast.Apply(c.Request().Context(), ev, id)
	if err != nil {
		return err // 500: the event is not recorded, and Svix retries it
	}
	log.Debug("resend webhook", "svix_id", id, "type", ev.Type, "outcome", string(out))
	return c.JSON(http.StatusOK, map[string]string{"outcome": string(out)})
}
