package broadcast

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// Subscription is what an unsubscribe link is about: the fan, and the link
// whose email carried it (its artist names the list on the page).
type Subscription struct {
	Subscriber *models.Subscriber
	Link       *models.Link
	// Changed: this call changed the subscriber's status.
	Changed bool
	// Bounced: the address bounced for good; no email can reach it, even
	// after resubscribing.
	Bounced bool
}

// Active reports whether the fan gets the workspace's emails.
func (s Subscription) Active() bool { return s.Subscriber.Status == models.SubscriberActive }

// Find resolves an unsubscribe token without changing anything (the GET
// page: mail scanners fetch links). An unknown token is store.ErrNotFound.
func (s *Service) Find(ctx context.Context, token string) (Subscription, error) {
	return s.find(ctx, s.DB, token)
}

func (s *Service) find(ctx context.Context, db bun.IDB, token string) (Subscription, error) {
	if token == "" {
		return Subscription{}, fmt.Errorf("broadcast: unsubscribe token: %w", store.ErrNotFound)
	}
	r, err := store.RecipientByUnsubscribeToken(ctx, db, auth.HashToken(token))
	if err != nil {
		return Subscription{}, err
	}
	sub, err := store.SubscriberByID(ctx, db, r.SubscriberID)
	if err != nil {
		return Subscription{}, err
	}
	b, err := store.BroadcastByID(ctx, db, r.BroadcastID)
	if err != nil {
		return Subscription{}, err
	}
	l, err := store.LinkForFan(ctx, db, b.LinkID)
	if err != nil {
		return Subscription{}, err
	}
	out := Subscription{Subscriber: sub, Link: l}
	sp, err := store.SuppressionFor(ctx, db, sub.Email)
	switch {
	case err == nil:
		out.Bounced = sp.Reason == models.SuppressedBounce
	case !errors.Is(err, store.ErrNotFound):
		return Subscription{}, err
	}
	return out, nil
}

// Unsubscribe takes the fan off every later email of the workspace (they
// are one subscriber per workspace address). A second call changes nothing.
func (s *Service) Unsubscribe(ctx context.Context, token string) (Subscription, error) {
	var out Subscription
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if out, err = s.find(ctx, tx, token); err != nil {
			return err
		}
		out.Changed, err = store.SetSubscriberStatus(ctx, tx, out.Subscriber.ID, models.SubscriberUnsubscribed, s.Now().UTC())
		out.Subscriber.Status = models.SubscriberUnsubscribed
		return err
	})
	if err != nil {
		return Subscription{}, fmt.Errorf("broadcast: unsubscribe: %w", err)
	}
	if out.Changed {
		s.Log.Info("fan unsubscribed", "subscriber", out.Subscriber.ID, "workspace", out.Subscriber.WorkspaceID)
	}
	return out, nil
}

// Resubscribe undoes an unsubscribe. The fan asked for the emails, so a
// complaint suppression of their address (a "spam" press, which also
// unsubscribed them) is lifted; a bounce suppression is not: the address is
// dead, and Bounced says so.
func (s *Service) Resubscribe(ctx context.Context, token string) (Subscription, error) {
	var out Subscription
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if out, err = s.find(ctx, tx, token); err != nil {
			return err
		}
		if out.Changed, err = store.SetSubscriberStatus(ctx, tx, out.Subscriber.ID, models.SubscriberActive, s.Now().UTC()); err != nil {
			return err
		}
		out.Subscriber.Status = models.SubscriberActive
		lifted, err := store.Unsuppress(ctx, tx, out.Subscriber.Email, models.SuppressedComplaint)
		out.Changed = out.Changed || lifted
		return err
	})
	if err != nil {
		return Subscription{}, fmt.Errorf("broadcast: resubscribe: %w", err)
	}
	if out.Changed {
		s.Log.Info("fan resubscribed", "subscriber", out.Subscriber.ID, "workspace", out.Subscriber.WorkspaceID, "bounced", out.Bounced)
	}
	return out, nil
}
