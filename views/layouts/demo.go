package layouts

import "context"

type demoKey struct{}

// WithDemo marks a request as served by `dropday demo`; every page then shows the ribbon.
func WithDemo(ctx context.Context) context.Context { return context.WithValue(ctx, demoKey{}, true) }

// IsDemo tells whether the page is rendered by `dropday demo`.
func IsDemo(ctx context.Context) bool { v, _ := ctx.Value(demoKey{}).(bool); return v }
