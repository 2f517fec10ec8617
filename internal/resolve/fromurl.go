package resolve

import "github.com/dropday/dropday/models"

// FromURL is a platform with no catalog look-up (YouTube Music): a save takes
// the items named by the address the artist gave.
type FromURL interface {
	// URLPlatforms are the link_platforms rows to read the artist's address
	// from, in order of preference.
	URLPlatforms() []string
	// ItemsFromURL reads the items from one address (nil: it names none).
	ItemsFromURL(raw string) []string
}

// AddressItems returns the items of the first usable address the artist gave
// among rows (nil when none names any). The deliverer, the alert and the
// Platforms tab all read it this way.
func AddressItems(fu FromURL, rows []models.LinkPlatform) []string {
	by := map[string]string{}
	for _, r := range rows {
		by[r.Platform] = r.ManualURL
	}
	for _, k := range fu.URLPlatforms() {
		if u := by[k]; u != "" {
			if items := fu.ItemsFromURL(u); len(items) > 0 {
				return items
			}
		}
	}
	return nil
}

// ReasonNoAddress is why a platform without a look-up is missing.
const ReasonNoAddress = "no address was given, and it has no catalog to look the release up in, so saves there cannot be made."
