package csvsafe_test

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/dropday/dropday/internal/csvsafe"
)

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "",
		"fan@example.net":               "fan@example.net",
		`=HYPERLINK("http://evil","x")`: `'=HYPERLINK("http://evil","x")`,
		"+1 555":                        "'+1 555",
		"-2+3":                          "'-2+3",
		"@SUM(A1)":                      "'@SUM(A1)",
		"\t=1+1":                        "'\t=1+1",
		"\r=1+1":                        "'\r=1+1",
		"a=b":                           "a=b",
		"Mozilla/5.0 (iPhone; -dash)":   "Mozilla/5.0 (iPhone; -dash)",
		"'already quoted":               "'already quoted",
		"2026-11-21T12:00:00Z":          "2026-11-21T12:00:00Z",
		"ünïcode=":                      "ünïcode=",
	} {
		if got := csvsafe.Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// The writer neutralises every cell and still writes valid CSV (quotes doubled).
func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w := csvsafe.NewWriter(&b)
	if err := w.Write([]string{"email", "user_agent"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]string{"a@example.net", `=HYPERLINK("http://evil","x")`}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "email,user_agent\na@example.net,\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || recs[1][1] != `'=HYPERLINK("http://evil","x")` {
		t.Fatalf("read back %q, %v", recs, err)
	}
}
