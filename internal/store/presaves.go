package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// CreateOAuthState stores a consent attempt in flight.
func CreateOAuthState(ctx context.Context, db bun.IDB, s *models.OAuthState) error {
	if _, err := db.NewInsert().Model(s).Exec(ctx); err != nil {
		return fmt.Errorf("store: create oauth state: %w", err)
	}
	return nil
}

// TakeOAuthState deletes and returns the state with this hash: a state can be
// used once, however many callbacks race for it. Expired is ErrNotFound.
func TakeOAuthState(ctx context.Context, db bun.IDB, stateHash string, now time.Time) (*models.OAuthState, error) {
	s := new(models.OAuthState)
	res, err := db.NewDelete().Model(s).Where("state_hash = ?", stateHash).Returning("*").Exec(ctx)
	if err := mustAffect("take oauth state", res, err); err != nil {
		return nil, err
	}
	if !s.ExpiresAt.After(now) {
		return nil, fmt.Errorf("store: take oauth state: expired: %w", ErrNotFound)
	}
	return s, nil
}

// DeleteExpiredOAuthStates is housekeeping.
func DeleteExpiredOAuthStates(ctx context.Context, db bun.IDB, now time.Time) (int64, error) {
	res, err := db.NewDelete().Model((*models.OAuthState)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: delete expired oauth states: %w", err)
	}
	return res.RowsAffected()
}

// UpsertPresave records a fan's consent. The same fan pre-saving the same link
// on the same platform again refreshes the consent record on the one row
// (and makes a revoked pre-save pending again: that is fresh consent).
// p.ID and p.CreatedAt are filled from the stored row.
func UpsertPresave(ctx context.Context, db bun.IDB, p *models.Presave) error {
	_, err := db.NewInsert().Model(p).
		On("CONFLICT (link_id, platform, platform_user_id) DO UPDATE").
		Set("display_name = EXCLUDED.display_name").
		Set("email = EXCLUDED.email").
		Set("email_opt_in = EXCLUDED.email_opt_in").
		Set("ip = EXCLUDED.ip").
		Set("user_agent = EXCLUDED.user_agent").
		Set("consent_version = EXCLUDED.consent_version").
		Set("consent_text_id = EXCLUDED.consent_text_id").
		Set("consented_at = EXCLUDED.consented_at").
		Set("scope = EXCLUDED.scope").
		Set("state = EXCLUDED.state").
		Set("revoke_token_hash = EXCLUDED.revoke_token_hash").
		Set("storefront = EXCLUDED.storefront").
		Set("last_error = ''").
		Set("revoked_at = NULL").
		Set("updated_at = EXCLUDED.updated_at").
		Returning("id, created_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: upsert presave: %w", err)
	}
	return nil
}

// SetPresaveCredential stores the sealed credential of a pre-save.
func SetPresaveCredential(ctx context.Context, db bun.IDB, id int64, sealed []byte, keyVersion int) error {
	res, err := db.NewUpdate().Model((*models.Presave)(nil)).
		Set("credential = ?", sealed).Set("credential_key_version = ?", keyVersion).
		Where("id = ?", id).Exec(ctx)
	return mustAffect("set presave credential", res, err)
}

// PresaveByRevokeToken finds the pre-save a fan's undo link points at.
// The token is the one shown at consent, or one a release-day email carried
// (each email has its own, because the consent's is stored only hashed).
func PresaveByRevokeToken(ctx context.Context, db bun.IDB, tokenHash string) (*models.Presave, error) {
	p := new(models.Presave)
	err := db.NewSelect().Model(p).Where("revoke_token_hash = ?", tokenHash).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		err = db.NewSelect().Model(p).
			Where("id = (SELECT r.presave_id FROM broadcast_recipients AS r WHERE r.revoke_token_hash = ? AND r.revoke_token_hash <> '')", tokenHash).
			Scan(ctx)
	}
	if err != nil {
		return nil, notFound("presave by revoke token", err)
	}
	return p, nil
}

// PresaveByID finds a pre-save.
func PresaveByID(ctx context.Context, db bun.IDB, id int64) (*models.Presave, error) {
	p := new(models.Presave)
	if err := db.NewSelect().Model(p).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound("presave", err)
	}
	return p, nil
}

// RevokePresave cancels a pending pre-save and destroys its credential at once.
// It reports whether it changed anything (a second revoke changes nothing).
func RevokePresave(ctx context.Context, db bun.IDB, id int64, now time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*models.Presave)(nil)).
		Set("state = ?", models.PresaveRevoked).
		Set("credential = NULL").Set("credential_key_version = NULL").
		Set("revoked_at = ?", now).Set("updated_at = ?", now).
		Where("id = ? AND state = ?", id, models.PresavePending).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: revoke presave: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: revoke presave: %w", err)
	}
	return n == 1, nil
}

// SealedCredential is one stored credential, for key rotation.
type SealedCredential struct {
	ID         int64  `bun:"id"`
	Credential []byte `bun:"credential"`
	KeyVersion int    `bun:"credential_key_version"`
}

// CredentialsNotUnder pages (by id, after afterID) through credentials wrapped
// under another key than primary.
func CredentialsNotUnder(ctx context.Context, db bun.IDB, primary int, afterID int64, limit int) ([]SealedCredential, error) {
	var out []SealedCredential
	err := db.NewSelect().Model((*models.Presave)(nil)).Column("id", "credential", "credential_key_version").
		Where("credential IS NOT NULL AND credential_key_version <> ? AND id > ?", primary, afterID).
		Order("id").Limit(int64(limit)).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("store: credentials to rewrap: %w", err)
	}
	return out, nil
}

// ReplaceCredential swaps a rewrapped credential in, only if the row still
// holds the one that was read (a revoke in between wins).
func ReplaceCredential(ctx context.Context, db bun.IDB, id int64, old, sealed []byte, keyVersion int) (bool, error) {
	res, err := db.NewUpdate().Model((*models.Presave)(nil)).
		Set("credential = ?", sealed).Set("credential_key_version = ?", keyVersion).
		Where("id = ? AND credential = ?", id, old).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: replace credential: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: replace credential: %w", err)
	}
	return n == 1, nil
}

// PresaveCounts counts a link's pre-saves by state (every state present, zero or not).
func PresaveCounts(ctx context.Context, db bun.IDB, workspaceID, linkID int64) (map[string]int, error) {
	var rows []struct {
		State string `bun:"state"`
		N     int    `bun:"n"`
	}
	err := db.NewSelect().Model((*models.Presave)(nil)).ColumnExpr("state, COUNT(*) AS n").
		Where("workspace_id = ? AND link_id = ?", workspaceID, linkID).Group("state").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("store: count presaves: %w", err)
	}
	out := map[string]int{models.PresavePending: 0, models.PresaveDelivered: 0, models.PresaveFailed: 0, models.PresaveRevoked: 0}
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// PresaveFilter narrows LinkPresaves. Zero values mean "any".
type PresaveFilter struct {
	State string
	// Search matches the display name or email, case-insensitively.
	Search string
	Limit  int // default 50, at most 200
	Offset int
}

// LinkPresaves lists a link's pre-saves within its workspace, newest consent first.
func LinkPresaves(ctx context.Context, db bun.IDB, workspaceID, linkID int64, f PresaveFilter) ([]models.Presave, int, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var ps []models.Presave
	q := db.NewSelect().Model(&ps).ExcludeColumn("credential").
		Where("workspace_id = ? AND link_id = ?", workspaceID, linkID)
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	if s := strings.TrimSpace(f.Search); s != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(s)) + "%"
		q = q.Where(`(LOWER(display_name) LIKE ? ESCAPE '\' OR LOWER(email) LIKE ? ESCAPE '\')`, like, like)
	}
	total, err := q.OrderExpr("consented_at DESC, id DESC").Limit(int64(f.Limit)).Offset(int64(f.Offset)).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list presaves: %w", err)
	}
	return ps, int(total), nil
}

// CountConsentedBefore counts a link's pending pre-saves whose consent is older
// than t: with t = release time minus the platform's grant lifetime, those
// whose authorization will expire before the release.
func CountConsentedBefore(ctx context.Context, db bun.IDB, workspaceID, linkID int64, platform string, t time.Time) (int, error) {
	n, err := db.NewSelect().Model((*models.Presave)(nil)).
		Where("workspace_id = ? AND link_id = ? AND platform = ? AND state = ? AND consented_at < ?",
			workspaceID, linkID, platform, models.PresavePending, t).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: count expiring presaves: %w", err)
	}
	return int(n), nil
}

// PendingPresave names one pending pre-save and its consent (a re-consent is a new delivery).
type PendingPresave struct {
	ID          int64     `bun:"id"`
	ConsentedAt time.Time `bun:"consented_at"`
}

// PendingPresaves pages (by id, after afterID) through a link's pending pre-saves.
func PendingPresaves(ctx context.Context, db bun.IDB, linkID, afterID int64, limit int) ([]PendingPresave, error) {
	var out []PendingPresave
	err := db.NewSelect().Model((*models.Presave)(nil)).Column("id", "consented_at").
		Where("link_id = ? AND state = ? AND id > ?", linkID, models.PresavePending, afterID).
		Order("id").Limit(int64(limit)).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("store: pending presaves: %w", err)
	}
	return out, nil
}

// FinishPresave moves a pending pre-save to a final state and destroys its
// credential in the same statement. It reports false when the pre-save was
// not pending any more (revoked by the fan meanwhile, or finished already).
func FinishPresave(ctx context.Context, db bun.IDB, id int64, state, lastError string, now time.Time) (bool, error) {
	n, err := FinishPresaves(ctx, db, []int64{id}, state, lastError, now)
	return n == 1, err
}

// FinishPresaves is FinishPresave for many pre-saves in one statement; it
// returns how many were still pending.
func FinishPresaves(ctx context.Context, db bun.IDB, ids []int64, state, lastError string, now time.Time) (int, error) {
	q := db.NewUpdate().Model((*models.Presave)(nil)).
		Set("state = ?", state).Set("last_error = ?", lastError).
		Set("credential = NULL").Set("credential_key_version = NULL").
		Set("updated_at = ?", now).
		Where("id IN (?) AND state = ?", bun.In(ids), models.PresavePending)
	switch state {
	case models.PresaveDelivered:
		q = q.Set("delivered_at = ?", now)
	case models.PresaveRevoked:
		q = q.Set("revoked_at = ?", now)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: finish presave: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: finish presave: %w", err)
	}
	return int(n), nil
}

// NotePresaveError records the latest transient error of a pending pre-save
// (shown to admins while retries go on).
func NotePresaveError(ctx context.Context, db bun.IDB, id int64, msg string, now time.Time) error {
	_, err := db.NewUpdate().Model((*models.Presave)(nil)).Set("last_error = ?", msg).Set("updated_at = ?", now).
		Where("id = ? AND state = ?", id, models.PresavePending).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: note presave error: %w", err)
	}
	return nil
}

// DeliveryAttempts returns the attempt count of the jobs with these unique
// keys (the delivery jobs of a page of pre-saves); keys without a job are absent.
func DeliveryAttempts(ctx context.Context, db bun.IDB, keys []string) (map[string]int, error) {
	out := make(map[string]int, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	var rows []struct {
		Key     string `bun:"unique_key"`
		Attempt int    `bun:"attempt"`
	}
	err := db.NewSelect().Table("jobs").Column("unique_key", "attempt").
		Where("unique_key IN (?)", bun.In(keys)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("store: delivery attempts: %w", err)
	}
	for _, r := range rows {
		out[r.Key] = r.Attempt
	}
	return out, nil
}
