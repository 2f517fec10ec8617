// Package csvsafe writes CSV that spreadsheets open as data, not as formulas.
//
// Excel, LibreOffice and Google Sheets evaluate a cell that begins with =, +,
// - or @ (and, after a leading tab or carriage return, again) as a formula:
// a fan who signs up as `=HYPERLINK("http://evil","x")` would otherwise put a
// live link, or worse, into the artist's spreadsheet. Following OWASP's advice,
// such a cell is prefixed with a single quote, which spreadsheets show as text.
package csvsafe

import (
	"encoding/csv"
	"io"
)

// Cell neutralises one value: a leading =, +, -, @, tab or carriage return
// gets a ' in front of it; every other value is returned unchanged.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// Writer is an encoding/csv writer that neutralises every cell it writes.
type Writer struct {
	w   *csv.Writer
	buf []string
}

// NewWriter writes CSV to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record, each cell passed through Cell.
func (w *Writer) Write(record []string) error {
	w.buf = w.buf[:0]
	for _, s := range record {
		w.buf = append(w.buf, Cell(s))
	}
	return w.w.Write(w.buf)
}

// Flush writes any buffered data to the underlying writer and reports its error.
func (w *Writer) Flush() error {
	w.w.Flush()
	return w.w.Error()
}
