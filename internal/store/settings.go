package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

type setting struct {
	bun.BaseModel `bun:"table:settings"`
	Key           string `bun:"key,pk"`
	Value         string `bun:"value,notnull"`
}

// PutSetting sets key to value, replacing any previous value.
func PutSetting(ctx context.Context, db bun.IDB, key, value string) error {
	_, err := db.NewInsert().Model(&setting{Key: key, Value: value}).
		On("CONFLICT (key) DO UPDATE").Set("value = EXCLUDED.value").Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: put setting %s: %w", key, err)
	}
	return nil
}

// TakeSetting deletes key if it holds value, and reports whether it did:
// the compare-and-delete that makes one-time tokens single-use.
func TakeSetting(ctx context.Context, db bun.IDB, key, value string) (bool, error) {
	res, err := db.NewDelete().Model((*setting)(nil)).Where("key = ? AND value = ?", key, value).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: take setting %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: take setting %s: %w", key, err)
	}
	return n == 1, nil
}

// GetSetting reads key, or ErrNotFound.
func GetSetting(ctx context.Context, db bun.IDB, key string) (string, error) {
	s := new(setting)
	if err := db.NewSelect().Model(s).Where("key = ?", key).Scan(ctx); err != nil {
		return "", notFound("setting "+key, err)
	}
	return s.Value, nil
}
