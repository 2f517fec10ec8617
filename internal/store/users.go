package store

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// CreateUser inserts u; an email already in use is ErrConflict.
func CreateUser(ctx context.Context, db bun.IDB, u *models.User) error {
	if _, err := db.NewInsert().Model(u).Returning("id").Exec(ctx); err != nil {
		return conflict("create user", err)
	}
	return nil
}

// UserByEmail finds a user by normalised email.
func UserByEmail(ctx context.Context, db bun.IDB, email string) (*models.User, error) {
	u := new(models.User)
	if err := db.NewSelect().Model(u).Where("email = ?", email).Scan(ctx); err != nil {
		return nil, notFound("user by email", err)
	}
	return u, nil
}

// UserByID finds a user.
func UserByID(ctx context.Context, db bun.IDB, id int64) (*models.User, error) {
	u := new(models.User)
	if err := db.NewSelect().Model(u).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound("user by id", err)
	}
	return u, nil
}

// CountUsers tells whether the first-run setup is still open.
func CountUsers(ctx context.Context, db bun.IDB) (int, error) {
	n, err := db.NewSelect().Model((*models.User)(nil)).Count(ctx)
	if err != nil {
		return 0, notFound("count users", err)
	}
	return int(n), nil
}

// SetPassword replaces a user's password hash.
func SetPassword(ctx context.Context, db bun.IDB, userID int64, hash string) error {
	res, err := db.NewUpdate().Model((*models.User)(nil)).Set("password_hash = ?", hash).Where("id = ?", userID).Exec(ctx)
	return mustAffect("set password", res, err)
}
