// Package static embeds CSS, JavaScript and images, and names each file by a
// hash of its content so browsers may cache it for a year.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

//go:embed css js img
var files embed.FS

// FS is the embedded tree (css/, js/, img/).
func FS() fs.FS { return files }

var (
	once   sync.Once
	hashes map[string]string
)

// Version is the short content hash of an embedded file ("" if missing).
func Version(name string) string {
	once.Do(func() {
		hashes = map[string]string{}
		_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := files.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			hashes[p] = hex.EncodeToString(sum[:6])
			return nil
		})
	})
	return hashes[name]
}

// URL is the cache-busting public URL of an embedded file, like /static/css/admin.css?v=1a2b3c.
func URL(name string) string { return "/static/" + name + "?v=" + Version(name) }

var (
	buildOnce sync.Once
	buildID   string
)

// BuildID names this build of dropday: its VCS revision when Go stamped one,
// otherwise a value fixed at process start. Pages rendered from compiled-in
// templates put it in their ETags, so a deploy never answers "not modified"
// with an old page.
func BuildID() string {
	buildOnce.Do(func() {
		if bi, ok := debug.ReadBuildInfo(); ok {
			var rev, dirty string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					dirty = s.Value
				}
			}
			if rev != "" && dirty != "true" {
				buildID = rev
				return
			}
		}
		buildID = strconv.FormatInt(time.Now().UnixNano(), 36)
	})
	return buildID
}
