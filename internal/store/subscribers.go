package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// UpsertSubscriber inserts the subscriber or, when the email is already in the
// workspace, records the new preference and fresh consent on the existing row.
// s.ID and s.CreatedAt are filled from the stored row either way.
func UpsertSubscriber(ctx context.Context, db bun.IDB, s *models.Subscriber) error {
	_, err := db.NewInsert().Model(s).
		On("CONFLICT (workspace_id, email) DO UPDATE").
		Set("platform = EXCLUDED.platform").
		Set("status = EXCLUDED.status").
		Set("updated_at = EXCLUDED.updated_at").
		Returning("id, created_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: upsert subscriber: %w", err)
	}
	return nil
}

// UpsertSignup records the consent of a subscriber through a link; signing up
// again through the same link refreshes the consent record instead of adding one.
func UpsertSignup(ctx context.Context, db bun.IDB, s *models.Signup) error {
	_, err := db.NewInsert().Model(s).
		On("CONFLICT (link_id, subscriber_id) DO UPDATE").
		Set("platform = EXCLUDED.platform").
		Set("ip = EXCLUDED.ip").
		Set("user_agent = EXCLUDED.user_agent").
		Set("consent_version = EXCLUDED.consent_version").
		Set("consented_at = EXCLUDED.consented_at").
		Returning("id, created_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: upsert signup: %w", err)
	}
	return nil
}

// SignupFilter pages a link's subscribers.
type SignupFilter struct {
	Limit  int // default 50, at most 500
	Offset int
}

// LinkSignups lists the signups of a link in a workspace with their subscribers, newest first.
func LinkSignups(ctx context.Context, db bun.IDB, workspaceID, linkID int64, f SignupFilter) ([]models.Signup, int, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	var ss []models.Signup
	total, err := db.NewSelect().Model(&ss).Relation("Subscriber").
		Where("signup.workspace_id = ? AND signup.link_id = ?", workspaceID, linkID).
		OrderExpr("signup.consented_at DESC, signup.id DESC").
		Limit(int64(f.Limit)).Offset(int64(f.Offset)).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list signups: %w", err)
	}
	return ss, int(total), nil
}

// CountSubscribers counts a workspace's subscribers (all statuses).
func CountSubscribers(ctx context.Context, db bun.IDB, workspaceID int64) (int, error) {
	n, err := db.NewSelect().Model((*models.Subscriber)(nil)).Where("workspace_id = ?", workspaceID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: count subscribers: %w", err)
	}
	return int(n), nil
}

// SubscriberByID returns one subscriber.
func SubscriberByID(ctx context.Context, db bun.IDB, id int64) (*models.Subscriber, error) {
	s := new(models.Subscriber)
	if err := db.NewSelect().Model(s).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound("subscriber", err)
	}
	return s, nil
}

// SetSubscriberStatus moves a subscriber to status and reports whether it
// changed (false when it was there already, so a repeat is harmless).
func SetSubscriberStatus(ctx context.Context, db bun.IDB, id int64, status string, now time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*models.Subscriber)(nil)).
		Set("status = ?", status).Set("updated_at = ?", now).
		Where("id = ? AND status <> ?", id, status).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: set subscriber status: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
