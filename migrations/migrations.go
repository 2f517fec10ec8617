// Package migrations embeds dropday's SQL migrations, one numbered set per
// dialect; the two sets always carry the same numbers.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// For returns the migration files of one dialect ("sqlite" or "postgres").
func For(dialect string) (fs.FS, error) { return fs.Sub(files, dialect) }
