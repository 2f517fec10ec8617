package validate

import (
	"net/mail"
	"strings"
)

// Email normalises an address (trimmed, lowercased) and returns a message
// for a person when it does not look deliverable.
func Email(raw string) (string, string) {
	e := strings.ToLower(strings.TrimSpace(raw))
	switch {
	case e == "":
		return "", "Enter your email address."
	case len(e) > 254:
		return "", "That email address is too long."
	}
	a, err := mail.ParseAddress(e)
	at := strings.LastIndexByte(e, '@')
	if err != nil || a.Address != e || at < 1 || !strings.Contains(e[at+1:], ".") || strings.HasSuffix(e, ".") {
		return "", "That doesn't look like an email address; check for typos, like name@example.com."
	}
	return e, ""
}
