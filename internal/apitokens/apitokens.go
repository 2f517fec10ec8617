// Package apitokens issues and checks workspace API tokens: shown once, stored hashed.
package apitokens

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// Prefix marks dropday API tokens so secret scanners and people recognise them.
const Prefix = "dd_"

// Create issues a token for a workspace and returns it (the only time it is
// visible). msg is a message for a person when the name is not acceptable.
func Create(ctx context.Context, db bun.IDB, workspaceID int64, name string, createdBy *int64, now time.Time) (token string, t *models.APIToken, msg string, err error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return "", nil, "Name the token (up to 100 characters), for example after the site or tool that uses it.", nil
	}
	token = auth.NewToken(Prefix)
	t = &models.APIToken{WorkspaceID: workspaceID, Name: name, Hint: token[len(token)-4:],
		TokenHash: auth.HashToken(token), CreatedBy: createdBy, CreatedAt: now}
	if err := store.CreateAPIToken(ctx, db, t); err != nil {
		return "", nil, "", err
	}
	return token, t, "", nil
}

// Authenticate returns the token's row for a presented bearer token.
func Authenticate(ctx context.Context, db bun.IDB, presented string) (*models.APIToken, error) {
	if !strings.HasPrefix(presented, Prefix) {
		return nil, store.ErrNotFound
	}
	return store.APITokenByHash(ctx, db, auth.HashToken(presented))
}
