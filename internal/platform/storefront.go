package platform

import "context"

type storefrontKey struct{}

// WithStorefront tells a Client's Save the fan's storefront (Apple Music's
// country catalog, read once at consent and stored with the pre-save).
func WithStorefront(ctx context.Context, storefront string) context.Context {
	if storefront == "" {
		return ctx
	}
	return context.WithValue(ctx, storefrontKey{}, storefront)
}

// StorefrontFrom is the storefront WithStorefront set ("" when none).
func StorefrontFrom(ctx context.Context) string {
	s, _ := ctx.Value(storefrontKey{}).(string)
	return s
}
