package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
)

// ResetTTL is how long a password reset link works.
const ResetTTL = time.Hour

// ErrResetInvalid means a reset link is unknown, expired or used already.
var ErrResetInvalid = errors.New("accounts: this password reset link has expired or was already used")

// OpenReset finds the open reset a link's token names.
func OpenReset(ctx context.Context, db bun.IDB, token string, now time.Time) (*models.PasswordReset, error) {
	if token == "" {
		return nil, ErrResetInvalid
	}
	r, err := store.PasswordResetByToken(ctx, db, auth.HashToken(token), now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrResetInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: open reset: %w", err)
	}
	return r, nil
}

// ResetPassword sets a new password through a reset link: the link is used
// up, the user's other open links are deleted and every session of theirs
// ends, all in one transaction. A bad password changes nothing and keeps the
// link; an unknown, expired or used link is ErrResetInvalid.
func ResetPassword(ctx context.Context, db *bun.DB, h *auth.Hasher, token, pw string, now time.Time) (*models.User, validate.Errors, error) {
	r, err := OpenReset(ctx, db, token, now)
	if err != nil {
		return nil, nil, err
	}
	var errs validate.Errors
	hash, err := h.Hash(pw)
	if err != nil {
		errs.Add("password", "Password: "+err.Error()+".")
		return nil, errs, nil
	}
	err = db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		// The conditional update is the single-use guard: of two racing submits one wins.
		if err := store.UsePasswordReset(ctx, tx, r.ID, now); errors.Is(err, store.ErrNotFound) {
			return ErrResetInvalid
		} else if err != nil {
			return err
		}
		_, err := changePassword(ctx, tx, r.UserID, hash)
		return err
	})
	if errors.Is(err, ErrResetInvalid) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("accounts: reset password: %w", err)
	}
	u, err := store.UserByID(ctx, db, r.UserID)
	if err != nil {
		return nil, nil, fmt.Errorf("accounts: reset password: %w", err)
	}
	return u, nil, nil
}

// SetPassword is the operator's `dropday user password`: the same change as
// a reset link makes (every session ends, open reset links are deleted).
// It returns how many sessions ended.
func SetPassword(ctx context.Context, db *bun.DB, h *auth.Hasher, rawEmail, pw string) (int64, validate.Errors, error) {
	var errs validate.Errors
	email, msg := validate.Email(rawEmail)
	if msg != "" {
		errs.Add("email", msg)
	}
	if err := auth.CheckPasswordRules(pw); err != nil {
		errs.Add("password", "Password: "+err.Error()+".")
	}
	if errs.Has() {
		return 0, errs, nil
	}
	u, err := store.UserByEmail(ctx, db, email)
	if errors.Is(err, store.ErrNotFound) {
		errs.Add("email", "No account has the email "+email+".")
		return 0, errs, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("accounts: set password: %w", err)
	}
	hash, err := h.Hash(pw)
	if err != nil {
		return 0, nil, fmt.Errorf("accounts: set password: %w", err)
	}
	var ended int64
	err = db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		ended, err = changePassword(ctx, tx, u.ID, hash)
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("accounts: set password: %w", err)
	}
	return ended, nil, nil
}

// changePassword stores the new hash, deletes the user's open reset links (an
// older link must not undo this change) and ends every session: whoever knew
// the old password is logged out everywhere.
func changePassword(ctx context.Context, tx bun.IDB, userID int64, hash string) (int64, error) {
	if err := store.SetPassword(ctx, tx, userID, hash); err != nil {
		return 0, err
	}
	if err := store.DeleteUnusedPasswordResets(ctx, tx, userID); err != nil {
		return 0, err
	}
	return store.DeleteUserSessions(ctx, tx, userID)
}
