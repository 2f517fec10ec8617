package fans

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/email"
)

// Lifetimes of the proof tokens.
const (
	// EmailLinkTTL: the emailed link is short-lived and works once.
	EmailLinkTTL = 30 * time.Minute
	// SessionTTL: the data page it opens stays usable this long.
	SessionTTL = time.Hour
)

// PrivacyURL is a workspace's privacy page, named by one of its release pages.
func (s *Service) PrivacyURL(slug string) string {
	if slug == "" {
		return ""
	}
	return s.BaseURL + "/privacy/" + url.PathEscape(slug)
}

// RequestAccess answers a fan's "email me a link to my data" at once and
// does the work in the background: a token and an email only when the
// address is known in the link's workspace, nothing otherwise. The caller's
// answer and its timing are the same either way (no enumeration).
func (s *Service) RequestAccess(l *models.Link, addr string) {
	token := auth.NewToken("")
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.sendAccess(ctx, l, addr, token); err != nil {
			s.Log.Error("fan data link email failed", "err", err, "workspace", l.WorkspaceID)
		}
	}()
}

func (s *Service) sendAccess(ctx context.Context, l *models.Link, addr, token string) error {
	d, err := Collect(ctx, s.DB, Identity{WorkspaceID: l.WorkspaceID, Emails: []string{addr}})
	if err != nil {
		return err
	}
	if d.Empty() {
		s.Log.Info("fan data link asked for an address this workspace does not hold", "workspace", l.WorkspaceID)
		return nil
	}
	now := s.Now().UTC()
	if err := store.CreateFanToken(ctx, s.DB, &models.FanToken{TokenHash: auth.HashToken(token), Kind: models.FanTokenEmail,
		WorkspaceID: l.WorkspaceID, Email: addr, CreatedAt: now, ExpiresAt: now.Add(EmailLinkTTL)}); err != nil {
		return err
	}
	v := email.FanAccess{Subject: "Your data with " + d.Workspace.Name, Workspace: d.Workspace.Name,
		AccessURL: s.BaseURL + "/privacy/" + url.PathEscape(l.Slug) + "/verify/" + token, Valid: "30 minutes",
		PrivacyURL: s.PrivacyURL(l.Slug)}
	var html bytes.Buffer
	if err := email.FanAccessHTML(v).Render(ctx, &html); err != nil {
		return fmt.Errorf("fans: render access email: %w", err)
	}
	text := fmt.Sprintf("You (or someone with your address) asked to see what %s holds about you through dropday.\n\n"+
		"See, download or erase it: %s\n\nThe link works once, for %s. If you did not ask for this, ignore this email.\n\nPrivacy: %s\n",
		v.Workspace, v.AccessURL, v.Valid, v.PrivacyURL)
	// Tagged with the workspace: it is sent on the artist's behalf, like their other fan emails.
	_, err = s.Sender.Send(ctx, mail.Message{From: s.From, To: []string{addr}, Subject: v.Subject, HTML: html.String(), Text: text,
		Tags: []mail.Tag{{Name: "kind", Value: "fan_access"}, mail.WorkspaceTag(l.WorkspaceID)}})
	if err != nil {
		return fmt.Errorf("fans: send access email: %w", err)
	}
	return nil
}

// OpenSession spends an emailed link and opens a short data session for its
// address; it returns the session token (the data page's proof).
func (s *Service) OpenSession(ctx context.Context, token string) (string, int64, error) {
	now := s.Now().UTC()
	t, err := store.TakeFanEmailToken(ctx, s.DB, auth.HashToken(token), now)
	if errors.Is(err, store.ErrNotFound) {
		return "", 0, ErrNoProof
	}
	if err != nil {
		return "", 0, err
	}
	session := auth.NewToken("")
	err = store.CreateFanToken(ctx, s.DB, &models.FanToken{TokenHash: auth.HashToken(session), Kind: models.FanTokenSession,
		WorkspaceID: t.WorkspaceID, Email: t.Email, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)})
	if err != nil {
		return "", 0, err
	}
	return session, t.WorkspaceID, nil
}

// sendErased confirms an erasure to one address. It goes out without the
// workspace tag: the workspace holds nothing about the fan any more, not
// even the confirmation (only the outbox driver, a development driver,
// keeps a copy, instance-wide like password resets).
func (s *Service) sendErased(ctx context.Context, ws *models.Workspace, slug, addr string) error {
	v := email.FanErased{Subject: "Your data with " + ws.Name + " is erased", Workspace: ws.Name, Email: addr,
		PrivacyURL: s.PrivacyURL(slug)}
	var html bytes.Buffer
	if err := email.FanErasedHTML(v).Render(ctx, &html); err != nil {
		return fmt.Errorf("fans: render erasure email: %w", err)
	}
	text := fmt.Sprintf("We deleted everything %s held about %s through dropday: pre-saves and the access your music service gave us, "+
		"your subscription, your consent records and the emails we sent you.\n\nWe keep only a scrambled fingerprint of your address, "+
		"so that it is not added back to the list without you signing up again. This is the last email you get from this list.\n",
		v.Workspace, addr)
	if v.PrivacyURL != "" {
		text += "\nPrivacy: " + v.PrivacyURL + "\n"
	}
	_, err := s.Sender.Send(ctx, mail.Message{From: s.From, To: []string{addr}, Subject: v.Subject, HTML: html.String(), Text: text,
		Tags: []mail.Tag{{Name: "kind", Value: "fan_erased"}}})
	if err != nil {
		return fmt.Errorf("fans: send erasure email: %w", err)
	}
	return nil
}
