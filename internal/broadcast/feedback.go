package broadcast

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/mail/webhook"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// rank orders recipient states: a state only moves to a higher rank. Mail
// events arrive out of order (Svix retries, parallel deliveries), so a late
// "delivered" must not undo "opened", and nothing may overwrite a bounce or
// a complaint. A complaint outranks a bounce: it carries more (the fan
// asked to stop).
func rank(state string) int {
	switch state {
	case models.RecipientQueued:
		return 0
	case models.RecipientSent:
		return 1
	case models.RecipientDelivered:
		return 2
	case models.RecipientOpened:
		return 3
	case models.RecipientClicked:
		return 4
	case models.RecipientBounced, models.RecipientFailed:
		return 5
	case models.RecipientComplained:
		return 6
	}
	return -1
}

var recipientStates = []string{models.RecipientQueued, models.RecipientSent, models.RecipientDelivered,
	models.RecipientOpened, models.RecipientClicked, models.RecipientBounced, models.RecipientFailed,
	models.RecipientComplained}

// CanMove reports whether a recipient in state from may move to state to.
func CanMove(from, to string) bool { return rank(to) > rank(from) && rank(from) >= 0 }

// below lists the states a recipient may move to state from.
func below(state string) []string {
	var out []string
	for _, st := range recipientStates {
		if CanMove(st, state) {
			out = append(out, st)
		}
	}
	return out
}

// eventStates maps the mail events dropday acts on to recipient states.
var eventStates = map[string]string{
	webhook.TypeSent:       models.RecipientSent,
	webhook.TypeDelivered:  models.RecipientDelivered,
	webhook.TypeOpened:     models.RecipientOpened,
	webhook.TypeClicked:    models.RecipientClicked,
	webhook.TypeBounced:    models.RecipientBounced,
	webhook.TypeComplained: models.RecipientComplained,
}

// Outcome says what Apply did with an event.
type Outcome string

// Outcomes of Apply.
const (
	Applied   Outcome = "applied"   // the recipient's state or the lists changed
	Duplicate Outcome = "duplicate" // this delivery id was seen before: nothing changed
	Ignored   Outcome = "ignored"   // recorded, but about nothing of ours (unknown email, type, or an old state)
)

// Apply records a verified mail event under its delivery id and acts on it,
// in one transaction: a replay changes nothing, and an effect that fails
// leaves the id unrecorded so the provider's retry applies it.
func (s *Service) Apply(ctx context.Context, ev webhook.Event, deliveryID string) (Outcome, error) {
	now := s.Now().UTC()
	out := Ignored
	var rec *models.Recipient
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		fresh, err := store.RecordWebhookEvent(ctx, tx, deliveryID, ev.Type, now)
		if err != nil {
			return err
		}
		if !fresh {
			out = Duplicate
			return nil
		}
		state, ok := eventStates[ev.Type]
		if !ok {
			return nil
		}
		rec, err = store.RecipientByMessageID(ctx, tx, ev.Data.EmailID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // a test email, or one from before a restore
		}
		if err != nil {
			return err
		}
		detail := ""
		if ev.Data.Bounce != nil {
			detail = ev.Data.Bounce.Type + " bounce: " + ev.Data.Bounce.Message
		}
		moved, err := store.AdvanceRecipient(ctx, tx, rec.ID, state, below(state), detail, now)
		if err != nil {
			return err
		}
		if moved {
			out = Applied
		}
		// The lists change whatever the recipient's state: they are about
		// the address, and repeating them is harmless.
		switch {
		case ev.Type == webhook.TypeBounced && ev.Data.Bounce.Hard():
			err = store.Suppress(ctx, tx, rec.Email, models.SuppressedBounce, ev.Data.Bounce.Message, now)
			out = Applied
		case ev.Type == webhook.TypeComplained:
			if err = store.Suppress(ctx, tx, rec.Email, models.SuppressedComplaint, "marked as spam", now); err != nil {
				return err
			}
			_, err = store.SetSubscriberStatus(ctx, tx, rec.SubscriberID, models.SubscriberUnsubscribed, now)
			out = Applied
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("broadcast: apply %s %s: %w", ev.Type, deliveryID, err)
	}
	if out == Applied && (ev.Type == webhook.TypeBounced || ev.Type == webhook.TypeComplained) {
		s.Log.Info("mail feedback", "type", ev.Type, "recipient", rec.ID, "broadcast", rec.BroadcastID,
			"hard", ev.Data.Bounce.Hard())
	}
	return out, nil
}
