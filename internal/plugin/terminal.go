package plugin

import (
	"io"
	"os"
	"text/tabwriter"

	"golang.org/x/term"
)

// isTerminal reports whether f is an interactive terminal.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// newDescribeWriter aligns "Field:\tvalue" lines.
func newDescribeWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
}
