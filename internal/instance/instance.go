// Package instance names one running dropday process among several sharing
// a database: host, process id and a random suffix (a restarted process may
// reuse a pid, and containers often share a host name).
package instance

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
)

// NewID returns "host:pid:random", e.g. "web-2:4242:9f3a1c".
func NewID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return host + ":" + strconv.Itoa(os.Getpid()) + ":" + hex.EncodeToString(b)
}
