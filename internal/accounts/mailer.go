package accounts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/mail/driver"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/email"
)

// Mailer sends dropday's own emails to admins: member invitations (on a
// workspace's behalf, so tagged with it) and password resets (no workspace).
type Mailer struct {
	DB      *bun.DB
	Sender  mail.Sender
	From    string
	BaseURL string
	Now     func() time.Time
	Log     *slog.Logger
	// Timeout bounds one background reset (lookup, row, send); default 30 s.
	Timeout time.Duration
	// Outbox: the outbox driver keeps emails here, so a reset reaches nobody.
	Outbox bool

	inflight sync.WaitGroup
}

// NewMailer builds the Mailer on the configured driver, as the broadcast engine does.
func NewMailer(cfg *config.Config, db *bun.DB, now func() time.Time, log *slog.Logger) (*Mailer, error) {
	snd, err := driver.New(cfg.Mail, db, now)
	if err != nil {
		return nil, err
	}
	return &Mailer{DB: db, Sender: snd, From: cfg.Mail.From, BaseURL: strings.TrimRight(cfg.BaseURL.String(), "/"),
		Now: now, Log: log, Outbox: cfg.Mail.Driver == "outbox" || cfg.Mail.Driver == ""}, nil
}

// SendInvite emails an invitation's one-time link. The invitation exists
// already: a failed send loses nothing, the owner still has the link.
func (m *Mailer) SendInvite(ctx context.Context, ws *models.Workspace, inviter *models.User, in *models.Invite, token string) error {
	who := inviter.Name
	if strings.TrimSpace(who) == "" {
		who = inviter.Email
	}
	role := "a member"
	if in.Role == models.RoleOwner {
		role = "an owner"
	}
	v := email.Invite{Subject: who + " invited you to " + ws.Name + " on dropday", Workspace: ws.Name, Inviter: who,
		Role: role, AcceptURL: m.BaseURL + "/invite/" + token, Expires: in.ExpiresAt.UTC().Format("Mon 2 Jan 2006, 15:04 MST")}
	var html bytes.Buffer
	if err := email.InviteHTML(v).Render(ctx, &html); err != nil {
		return fmt.Errorf("accounts: render invite: %w", err)
	}
	text := fmt.Sprintf("%s invited you to the workspace %s on dropday, as %s.\n\nAccept the invitation: %s\n\n"+
		"The link works once, until %s. If you did not expect this, ignore this email: nothing happens without you.\n",
		v.Inviter, v.Workspace, v.Role, v.AcceptURL, v.Expires)
	_, err := m.Sender.Send(ctx, mail.Message{From: m.From, To: []string{in.Email}, Subject: v.Subject,
		HTML: html.String(), Text: text, Tags: []mail.Tag{{Name: "kind", Value: "invite"}, mail.WorkspaceTag(ws.ID)}})
	if err != nil {
		return fmt.Errorf("accounts: send invite: %w", err)
	}
	return nil
}

// RequestReset answers a "forgot your password" at once and does the work
// in the background: a reset row and an email when the address has an
// account, nothing otherwise. The caller's answer and its timing are the same
// either way, so the form does not tell who has an account. Wait waits for
// the work in flight (shutdown, tests).
func (m *Mailer) RequestReset(email string) {
	// The token is made and hashed for every request, account or not.
	token := auth.NewToken("")
	hash := auth.HashToken(token)
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	m.inflight.Add(1)
	go func() {
		defer m.inflight.Done()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := m.sendReset(ctx, email, token, hash); err != nil {
			m.Log.Error("password reset email failed", "err", err)
		}
	}()
}

// Wait returns once every background reset has finished.
func (m *Mailer) Wait() { m.inflight.Wait() }

func (m *Mailer) sendReset(ctx context.Context, addr, token, hash string) error {
	u, err := store.UserByEmail(ctx, m.DB, addr)
	if errors.Is(err, store.ErrNotFound) {
		m.Log.Info("password reset asked for an address without an account")
		return nil
	}
	if err != nil {
		return err
	}
	now := m.Now().UTC()
	r := &models.PasswordReset{UserID: u.ID, TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(ResetTTL)}
	if err := store.CreatePasswordReset(ctx, m.DB, r); err != nil {
		return err
	}
	v := email.Reset{Subject: "Reset your dropday password", Email: u.Email, ResetURL: m.BaseURL + "/password/reset/" + token, Valid: "1 hour"}
	var html bytes.Buffer
	if err := email.ResetHTML(v).Render(ctx, &html); err != nil {
		return fmt.Errorf("accounts: render reset: %w", err)
	}
	text := fmt.Sprintf("Someone (hopefully you) asked to reset the password of the dropday account %s.\n\n"+
		"Choose a new password: %s\n\nThe link works once, for %s; choosing a new password logs you out everywhere. "+
		"If you did not ask for this, ignore this email: your password stays as it is.\n", v.Email, v.ResetURL, v.Valid)
	// No workspace tag: the account is the user's, not a workspace's.
	if _, err := m.Sender.Send(ctx, mail.Message{From: m.From, To: []string{u.Email}, Subject: v.Subject,
		HTML: html.String(), Text: text, Tags: []mail.Tag{{Name: "kind", Value: "password_reset"}}}); err != nil {
		return fmt.Errorf("accounts: send reset: %w", err)
	}
	if m.Outbox {
		m.Log.Warn("a password reset email was kept in the outbox, where nobody can read it: with the outbox driver, set the password with `dropday user password -email ADDRESS`",
			"user_id", u.ID)
	} else {
		m.Log.Info("password reset email sent", "user_id", u.ID)
	}
	return nil
}
