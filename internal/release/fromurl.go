package release

import (
	"context"

	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// fromURL is a platform without a catalog look-up (YouTube Music): what a
// save takes comes from the address the artist gave.
type fromURL interface {
	// URLPlatforms are the link_platforms rows to read the artist's
	// address from, in order of preference.
	URLPlatforms() []string
	// ItemsFromURL reads the items from one address (nil: it names none).
	ItemsFromURL(raw string) []string
}

// msgNoVideo: the artist gave no address the platform can save from.
const msgNoVideo = "no video address"

// itemsFromURL returns the items of the first usable address the artist
// gave. It is read at every delivery, not cached: the artist may add or
// change the address after the release, and YouTube's quota allows only a
// few hundred saves a day anyway. Without one, the delivery waits like a
// release not found yet: until the look-up window ends, then it fails.
func (d *Deliverer) itemsFromURL(ctx context.Context, l *models.Link, key string, fu fromURL) ([]string, error) {
	rows, err := store.LinkPlatforms(ctx, d.DB, l.ID)
	if err != nil {
		return nil, err
	}
	by := map[string]string{}
	for _, r := range rows {
		by[r.Platform] = r.ManualURL
	}
	for _, k := range fu.URLPlatforms() {
		if u := by[k]; u != "" {
			if items := fu.ItemsFromURL(u); len(items) > 0 {
				return items, nil
			}
		}
	}
	now := d.Now()
	if d.Resolver != nil && d.Resolver.Looking(l, now) {
		return nil, waitForCheck(d.Resolver.NextCheck(l, now).Add(checkMargin).Sub(now))
	}
	return nil, &platform.Error{Platform: key, Kind: platform.NotFound, Message: msgNoVideo}
}
