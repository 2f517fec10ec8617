package platform

import "context"

type saveIDKey struct{}

// WithSaveID names the delivery a Save call belongs to (the deliverer passes
// "presave-<id>"). A platform with idempotency keys (TIDAL) derives its key
// from it and the items, so a retry after a crash replays the first answer
// instead of saving twice. Save must work without one.
func WithSaveID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, saveIDKey{}, id)
}

// SaveID is the delivery's name set by WithSaveID, or "".
func SaveID(ctx context.Context) string {
	s, _ := ctx.Value(saveIDKey{}).(string)
	return s
}
