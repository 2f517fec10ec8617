// Package accounts creates admins and workspaces: the first-run setup, the
// `dropday user create` command, invitations and members.
package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
)

// SetupTokenKey is the settings key holding the hash of the one-time setup token.
const SetupTokenKey = "setup_token_hash"

// ErrSetupClosed means an owner exists already or the setup token is not the current one.
var ErrSetupClosed = errors.New("accounts: setup is closed")

// OwnerInput is what the setup page and `user create` ask for.
type OwnerInput struct {
	Name, Email, Password, Workspace string
}

func (in OwnerInput) check(h *auth.Hasher) (email, hash string, errs validate.Errors) {
	email, msg := validate.Email(in.Email)
	if msg != "" {
		errs.Add("email", msg)
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(in.Name)); n > 100 {
		errs.Add("name", "Keep your name under 100 characters.")
	}
	if w := strings.TrimSpace(in.Workspace); w == "" {
		errs.Add("workspace", "Name your workspace, for example your artist or label name.")
	} else if utf8.RuneCountInString(w) > 100 {
		errs.Add("workspace", "Keep the workspace name under 100 characters.")
	}
	if err := auth.CheckPasswordRules(in.Password); err != nil {
		errs.Add("password", "Password: "+err.Error()+".")
	}
	if errs.Has() {
		return "", "", errs
	}
	hash, err := h.Hash(in.Password)
	if err != nil {
		errs.Add("password", err.Error())
	}
	return email, hash, errs
}

// NewSetupToken opens the first-run setup when no user exists and returns the
// token to print; it returns "" when setup is not needed. A new token replaces
// any earlier one, so only the URL in the latest log works.
func NewSetupToken(ctx context.Context, db bun.IDB) (string, error) {
	n, err := store.CountUsers(ctx, db)
	if err != nil {
		return "", err
	}
	if n > 0 {
		return "", nil
	}
	token := auth.NewToken("")
	if err := store.PutSetting(ctx, db, SetupTokenKey, auth.HashToken(token)); err != nil {
		return "", err
	}
	return token, nil
}

// SetupTokenValid tells whether token is the current, unused setup token.
func SetupTokenValid(ctx context.Context, db bun.IDB, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	v, err := store.GetSetting(ctx, db, SetupTokenKey)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	n, err := store.CountUsers(ctx, db)
	if err != nil {
		return false, err
	}
	return n == 0 && v == auth.HashToken(token), nil
}

// CreateOwner creates a user, a workspace and the owner membership in one
// transaction. With setupToken != "" it also consumes that token and refuses
// when it is not current or a user exists (ErrSetupClosed).
func CreateOwner(ctx context.Context, db *bun.DB, h *auth.Hasher, in OwnerInput, setupToken string, now time.Time) (*models.User, *models.Workspace, validate.Errors, error) {
	email, hash, errs := in.check(h)
	if errs.Has() {
		return nil, nil, errs, nil
	}
	u := &models.User{Email: email, Name: strings.TrimSpace(in.Name), PasswordHash: hash, CreatedAt: now}
	w := &models.Workspace{Name: strings.TrimSpace(in.Workspace), CreatedAt: now}
	err := db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if setupToken != "" {
			ok, err := store.TakeSetting(ctx, tx, SetupTokenKey, auth.HashToken(setupToken))
			if err != nil {
				return err
			}
			n, err := store.CountUsers(ctx, tx)
			if err != nil {
				return err
			}
			if !ok || n > 0 {
				return ErrSetupClosed
			}
		}
		if err := store.CreateUser(ctx, tx, u); err != nil {
			return err
		}
		if err := store.CreateWorkspace(ctx, tx, w); err != nil {
			return err
		}
		return store.AddMember(ctx, tx, &models.Member{WorkspaceID: w.ID, UserID: u.ID, Role: models.RoleOwner, CreatedAt: now})
	})
	if errors.Is(err, store.ErrConflict) {
		errs.Add("email", "An account with this email exists already; log in instead.")
		return nil, nil, errs, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("accounts: create owner: %w", err)
	}
	return u, w, nil, nil
}

// InviteTTL is how long an invitation link works.
const InviteTTL = 7 * 24 * time.Hour

// AddResult says what AddMember did: added an existing account directly, or
// created an invitation whose one-time link (InviteToken) must be passed on.
type AddResult struct {
	Added       *models.User
	InviteToken string
	Invite      *models.Invite
}

// AddMember lets an owner add someone by email with a role.
func AddMember(ctx context.Context, db *bun.DB, workspaceID, inviterID int64, rawEmail, role string, now time.Time) (AddResult, validate.Errors, error) {
	var errs validate.Errors
	email, msg := validate.Email(rawEmail)
	if msg != "" {
		errs.Add("email", msg)
	}
	if role != models.RoleOwner && role != models.RoleMember {
		errs.Add("role", "Choose owner or member.")
	}
	if errs.Has() {
		return AddResult{}, errs, nil
	}
	u, err := store.UserByEmail(ctx, db, email)
	switch {
	case err == nil:
		err := store.AddMember(ctx, db, &models.Member{WorkspaceID: workspaceID, UserID: u.ID, Role: role, CreatedAt: now})
		if errors.Is(err, store.ErrConflict) {
			errs.Add("email", email+" is a member already.")
			return AddResult{}, errs, nil
		}
		if err != nil {
			return AddResult{}, nil, fmt.Errorf("accounts: add member: %w", err)
		}
		return AddResult{Added: u}, nil, nil
	case !errors.Is(err, store.ErrNotFound):
		return AddResult{}, nil, fmt.Errorf("accounts: add member: %w", err)
	}
	token := auth.NewToken("")
	in := &models.Invite{WorkspaceID: workspaceID, Email: email, Role: role, TokenHash: auth.HashToken(token),
		InvitedBy: inviterID, CreatedAt: now, ExpiresAt: now.Add(InviteTTL)}
	if err := store.CreateInvite(ctx, db, in); err != nil {
		return AddResult{}, nil, fmt.Errorf("accounts: invite: %w", err)
	}
	return AddResult{InviteToken: token, Invite: in}, nil, nil
}

// CreateWorkspace makes another workspace owned by an existing user.
func CreateWorkspace(ctx context.Context, db *bun.DB, userID int64, name string, now time.Time) (*models.Workspace, validate.Errors, error) {
	var errs validate.Errors
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		errs.Add("name", "Name the workspace (up to 100 characters).")
		return nil, errs, nil
	}
	w := &models.Workspace{Name: name, CreatedAt: now}
	err := db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if err := store.CreateWorkspace(ctx, tx, w); err != nil {
			return err
		}
		return store.AddMember(ctx, tx, &models.Member{WorkspaceID: w.ID, UserID: userID, Role: models.RoleOwner, CreatedAt: now})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("accounts: create workspace: %w", err)
	}
	return w, nil, nil
}
