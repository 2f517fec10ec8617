package mail

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind sorts a failed send by what the sending engine should do next.
type Kind int

const (
	// Unknown is the Kind of an error that is not a *Error.
	Unknown Kind = iota
	// RateLimited: wait RetryAfter (when known), then send the same request
	// again; it is not a failure of the message.
	RateLimited
	// Transient: 5xx, timeouts, lost connections, or a request with the same
	// idempotency key still in flight. Retry with backoff and the same key:
	// the provider may have sent it already, and the key makes that safe.
	Transient
	// Permanent: the provider rejected the message (4xx validation) or it was
	// invalid before it left. Retrying the same request cannot succeed.
	Permanent
	// Conflict: the idempotency key was used before for a different request.
	// A bug in how keys are derived; retrying with that key is useless.
	Conflict
	// Auth: the API key is missing, wrong or restricted, or the account may
	// not send from this address. Nothing will send until an admin acts, so
	// pause rather than fail every recipient.
	Auth
)

func (k Kind) String() string {
	switch k {
	case RateLimited:
		return "rate limited"
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case Conflict:
		return "conflict"
	case Auth:
		return "auth"
	}
	return "unknown"
}

// Error is a failed send.
type Error struct {
	Kind Kind
	// Status is the HTTP status of the provider's answer; 0 when there was
	// none (invalid before sending, timeout, connection lost).
	Status int
	// Name is the provider's error name (Resend's "rate_limit_exceeded",
	// "concurrent_idempotent_requests", ...), for telling apart errors of one
	// Kind; "invalid_message" when Validate refused it before it left.
	Name    string
	Message string
	// RetryAfter is how long the provider asked us to wait; 0 when it did not say.
	RetryAfter time.Duration
	// Err is the underlying error, if any (a timeout, a context error).
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("mail: ")
	b.WriteString(e.Kind.String())
	if e.Status != 0 {
		fmt.Fprintf(&b, " %d", e.Status)
	}
	if e.Name != "" {
		b.WriteString(" " + e.Name)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf is the Kind of the first *Error in err's chain, or Unknown.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Unknown
}
