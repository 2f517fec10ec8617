package release

import (
	"context"

	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/resolve"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// msgNoVideo: the artist gave no address the platform can save from.
const msgNoVideo = "no video address"

// itemsFromURL returns the items of the first usable address the artist
// gave. It is read at every delivery, not cached: the artist may add or
// change the address after the release, and YouTube's quota allows only a
// few hundred saves a day anyway. Without one, the delivery waits like a
// release not found yet: until the look-up window ends, then it fails.
func (d *Deliverer) itemsFromURL(ctx context.Context, l *models.Link, key string, fu resolve.FromURL) ([]string, error) {
	rows, err := store.LinkPlatforms(ctx, d.DB, l.ID)
	if err != nil {
		return nil, err
	}
	if items := resolve.AddressItems(fu, rows); items != nil {
		return items, nil
	}
	now := d.Now()
	if d.Resolver != nil && d.Resolver.Looking(l, now) {
		return nil, waitForCheck(d.Resolver.NextCheck(l, now).Add(checkMargin).Sub(now))
	}
	return nil, &platform.Error{Platform: key, Kind: platform.NotFound, Message: msgNoVideo}
}
