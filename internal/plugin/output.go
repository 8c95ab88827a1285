/*
Copyright 2026 The atlas-issuer Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// Output formats of -o.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatYAML  = "yaml"
	formatPEM   = "pem"
)

// format returns the -o value after checking that the command supports it,
// before any call is made: a typo must not cost an Atlas round trip or,
// for revoke, happen after the revocation.
func (o *options) format(cmd *cobra.Command, allowPEM bool) (string, error) {
	f := strings.ToLower(o.output)
	switch f {
	case "", formatTable:
		return formatTable, nil
	case formatJSON, formatYAML:
		return f, nil
	case formatPEM:
		if allowPEM {
			return f, nil
		}
	}
	allowed := "table, json or yaml"
	if allowPEM {
		allowed = "table, json, yaml or pem"
	}
	return "", usageError(cmd, "unsupported output format %q: use %s", o.output, allowed)
}

// emit writes data as JSON or YAML, or calls table for the default format.
func (o *options) emit(format string, data any, table func(w io.Writer)) error {
	out := o.streams.Out
	switch format {
	case formatJSON:
		b, err := json.MarshalIndent(data, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	case formatYAML:
		b, err := yaml.Marshal(data)
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	table(tw)
	return tw.Flush()
}

// row writes one tab-separated table row.
func row(w io.Writer, cells ...string) {
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

// unixTime formats Atlas's UNIX seconds; zero means "not set".
func unixTime(sec int64) string {
	if sec == 0 {
		return "-"
	}
	return formatTime(time.Unix(sec, 0))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// list joins values for a table cell.
func list(values []string) string {
	if len(values) == 0 {
		return "-"
	}
	return strings.Join(values, ", ")
}

// orDash fills an empty table cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
