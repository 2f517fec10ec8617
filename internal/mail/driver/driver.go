// Package driver builds the mail driver the operator configured.
package driver

import (
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/mail/outbox"
	"github.com/dropday/dropday/internal/mail/resend"
)

// New returns the outbox (emails kept in the database) or Resend.
func New(cfg config.Mail, db *bun.DB, now func() time.Time) (mail.Sender, error) {
	switch cfg.Driver {
	case "resend":
		s, err := resend.New(resend.Config{APIKey: cfg.ResendAPIKey, BaseURL: cfg.ResendBaseURL})
		if err != nil {
			return nil, fmt.Errorf("mail: %w", err)
		}
		return s, nil
	case "outbox", "":
		return &outbox.Sender{DB: db, Now: now}, nil
	}
	return nil, fmt.Errorf("mail: unknown driver %q", cfg.Driver)
}
