//go:build !unix

package store

import "context"

// lockFile is a no-op where flock does not exist; bun's lock row still guards migrations.
func lockFile(ctx context.Context, path string) (func(), error) { return func() {}, nil }
