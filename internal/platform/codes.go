package platform

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	isrcRE = regexp.MustCompile(`^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$`)
	upcRE  = regexp.MustCompile(`^[0-9]{8,14}$`)
)

// CatalogCode normalizes the ISRC or UPC of src (upper case, no spaces or
// hyphens) and checks its shape, so a catalog client can put it in a URL path
// or query as it is. ok is false for any other kind or a malformed code.
func CatalogCode(src Source) (code string, ok bool) {
	code = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(src.Value)))
	switch src.Kind {
	case "isrc":
		return code, isrcRE.MatchString(code)
	case "upc":
		return code, upcRE.MatchString(code)
	}
	return code, false
}

// RetryAfter reads a Retry-After header (seconds or an HTTP date, judged
// against now); missing, unreadable or under a second gives def.
func RetryAfter(v string, def time.Duration, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil && n >= 1 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d >= time.Second {
			return d.Round(time.Second)
		}
	}
	return def
}
