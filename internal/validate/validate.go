// Package validate carries field-level validation errors from the domain to
// the admin forms (inline messages) and the API ({"error":{"field":…}}).
package validate

import "strings"

// FieldError is one bad input, named by its form/JSON field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Errors collects FieldErrors in the order they were found.
type Errors []FieldError

// Add records a message for field.
func (e *Errors) Add(field, message string) { *e = append(*e, FieldError{field, message}) }

// Get returns the first message for field, or "".
func (e Errors) Get(field string) string {
	for _, fe := range e {
		if fe.Field == field {
			return fe.Message
		}
	}
	return ""
}

// Has tells whether there is any error.
func (e Errors) Has() bool { return len(e) > 0 }

// Error lets Errors travel as an error.
func (e Errors) Error() string {
	parts := make([]string, len(e))
	for i, fe := range e {
		parts[i] = fe.Field + ": " + fe.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}
