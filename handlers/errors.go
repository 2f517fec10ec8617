package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/views/public"
)

// apiError is the one JSON error shape of /api/v1.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// apiProblem is an error with its own status, code and field (a 409 on slug,
// a 400 naming a malformed field) for the cases a sentinel cannot express.
type apiProblem struct {
	status           int
	code, msg, field string
}

func (p *apiProblem) Error() string { return fmt.Sprintf("api: %d %s: %s", p.status, p.code, p.msg) }

func apiFail(status int, code, msg, field string) error {
	return &apiProblem{status: status, code: code, msg: msg, field: field}
}

// handleError is the one place errors become responses: a page for browsers,
// JSON for the API. Unknown errors are logged and shown as a plain 500.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, code, msg, field := classify(err)
	log := loggerOf(c, s.Log)
	if status >= 500 {
		log.Error("request failed", "err", err, "status", status)
	}
	if p := c.Request().URL.Path; strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/webhooks/") {
		_ = c.JSON(status, apiError{apiErrorBody{Code: code, Message: msg, Field: field}})
		return
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if rerr := render(c, status, public.ErrorPage(status, msg, requestIDOf(c))); rerr != nil {
		log.Error("error page failed", "err", rerr)
		_ = c.String(status, msg)
	}
}

// classify maps domain and HTTP errors to a status, a machine code and a message for people.
func classify(err error) (status int, code, msg, field string) {
	var verrs validate.Errors
	var he *echo.HTTPError
	var p *apiProblem
	switch {
	case errors.As(err, &p):
		return p.status, p.code, p.msg, p.field
	case errors.As(err, &verrs) && verrs.Has():
		return http.StatusUnprocessableEntity, "invalid", verrs[0].Message, verrs[0].Field
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "not_found", "This page does not exist, or it is not yours to see.", ""
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, "conflict", "That exists already.", ""
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && m != "" {
			msg = m
		}
		return he.Code, codeFor(he.Code), sentence(msg), ""
	}
	return http.StatusInternalServerError, "internal", "Something went wrong on our side. Please try again in a moment.", ""
}

func codeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusTooManyRequests:
		return "rate_limited"
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}

// sentence capitalises echo's lower-case messages for people.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func loggerOf(c echo.Context, fallback *slog.Logger) *slog.Logger {
	if l, ok := c.Get(ctxLogger).(*slog.Logger); ok {
		return l
	}
	return fallback
}
