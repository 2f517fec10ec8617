package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// Suppress puts an address on the list dropday never mails (every
// workspace's broadcast audience leaves it out). A bounce is never replaced:
// a complaint lifted later must not make a dead address mailable again; a
// complaint is replaced by a bounce.
func Suppress(ctx context.Context, db bun.IDB, email, reason, detail string, now time.Time) error {
	sp := &models.Suppression{Email: email, Reason: reason, Detail: detail, CreatedAt: now}
	_, err := db.NewInsert().Model(sp).
		On("CONFLICT (email) DO UPDATE").
		Set("reason = EXCLUDED.reason").
		Set("detail = EXCLUDED.detail").
		Set("created_at = EXCLUDED.created_at").
		Where("?TableAlias.reason <> ?", models.SuppressedBounce).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: suppress: %w", err)
	}
	return nil
}

// Unsuppress takes an address off the list, only if it is there for reason;
// it reports whether it was.
func Unsuppress(ctx context.Context, db bun.IDB, email, reason string) (bool, error) {
	res, err := db.NewDelete().Model((*models.Suppression)(nil)).
		Where("email = ? AND reason = ?", email, reason).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: unsuppress: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// SuppressionFor returns an address's suppression (ErrNotFound: it may be mailed).
func SuppressionFor(ctx context.Context, db bun.IDB, email string) (*models.Suppression, error) {
	sp := new(models.Suppression)
	if err := db.NewSelect().Model(sp).Where("email = ?", email).Scan(ctx); err != nil {
		return nil, notFound("suppression", err)
	}
	return sp, nil
}
