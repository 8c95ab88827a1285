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

// Command chart-docs generates a Helm chart's values.schema.json and the
// values section of its README.md from the `# +docs:` comments in
// values.yaml, so that neither can drift from the values.
//
//	go run ./hack/chart-docs            rewrite both files
//	go run ./hack/chart-docs -check     fail if either is stale
//
// Comment markers, in the head comment of a key:
//
//	+docs:property         the key is a value; the other lines describe it
//	+docs:section=Title    starts a README section (may stand alone above)
//	+docs:type=a|b         JSON schema type(s), when the default cannot tell
//	                       (null) or is too narrow (a number or a percentage)
//	+docs:items=string     the type of an array's items
//	+docs:enum=a,b         the allowed values
//	+docs:pattern=regexp   a pattern a string must match
//	+docs:minimum=n        the smallest number allowed
//
// A key without +docs:property must hold a mapping of keys that have it (a
// group); anything else is an error. Groups reject unknown keys, so a typo
// in a user's values fails at install time instead of being ignored.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

const (
	beginMarker = "<!-- BEGIN chart-docs: generated from values.yaml, do not edit -->"
	endMarker   = "<!-- END chart-docs -->"
)

func main() {
	chart := flag.String("chart", "charts/atlas-issuer", "chart directory")
	check := flag.Bool("check", false, "fail instead of writing when a generated file is stale")
	flag.Parse()
	if err := run(*chart, *check); err != nil {
		fmt.Fprintln(os.Stderr, "chart-docs:", err)
		os.Exit(1)
	}
}

func run(chart string, check bool) error {
	values, err := os.ReadFile(filepath.Join(chart, "values.yaml"))
	if err != nil {
		return err
	}
	props, err := parse(values)
	if err != nil {
		return err
	}
	schema, err := renderSchema(props)
	if err != nil {
		return err
	}
	readmePath := filepath.Join(chart, "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		return err
	}
	newReadme, err := spliceReadme(readme, renderReadme(props))
	if err != nil {
		return fmt.Errorf("%s: %w", readmePath, err)
	}
	outputs := []struct {
		path string
		data []byte
	}{
		{filepath.Join(chart, "values.schema.json"), schema},
		{readmePath, newReadme},
	}
	var stale []string
	for _, o := range outputs {
		old, err := os.ReadFile(o.path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if bytes.Equal(old, o.data) {
			continue
		}
		if check {
			stale = append(stale, o.path)
			continue
		}
		if err := os.WriteFile(o.path, o.data, 0o644); err != nil {
			return err
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("stale: %s; run 'go run ./hack/chart-docs'", strings.Join(stale, ", "))
	}
	return nil
}

// property is one documented value or a group of them.
type property struct {
	path        string // dotted, e.g. image.tag
	section     string
	description string
	types       []string
	items       string
	enum        []string
	pattern     string
	minimum     *float64
	def         any
	children    []*property // a group's members; nil for a value
}

func parse(data []byte) ([]*property, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("values.yaml must be a mapping")
	}
	// A section marker above the first key lands in the document's comment.
	section := sectionOf(doc.HeadComment, "")
	return parseMapping(doc.Content[0], "", &section)
}

func parseMapping(m *yaml.Node, prefix string, section *string) ([]*property, error) {
	var props []*property
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		path := key.Value
		if prefix != "" {
			path = prefix + "." + key.Value
		}
		*section = sectionOf(key.HeadComment, *section)
		p := &property{path: path, section: *section}
		directives, desc := splitComment(key.HeadComment)
		if _, ok := directives["property"]; !ok {
			if val.Kind != yaml.MappingNode || len(val.Content) == 0 {
				return nil, fmt.Errorf("%s: not a group of values, so it needs a '# +docs:property' comment", path)
			}
			children, err := parseMapping(val, path, section)
			if err != nil {
				return nil, err
			}
			p.children = children
			props = append(props, p)
			continue
		}
		if desc == "" {
			return nil, fmt.Errorf("%s: +docs:property without a description", path)
		}
		p.description = desc
		if err := val.Decode(&p.def); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if t, ok := directives["type"]; ok {
			p.types = strings.Split(t, "|")
		} else if t := typeOf(val); t != "" {
			p.types = []string{t}
		} else {
			return nil, fmt.Errorf("%s: cannot tell the type of %s; add +docs:type", path, val.Tag)
		}
		p.items = directives["items"]
		if e, ok := directives["enum"]; ok {
			p.enum = strings.Split(e, ",")
		}
		p.pattern = directives["pattern"]
		if s, ok := directives["minimum"]; ok {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: +docs:minimum: %w", path, err)
			}
			p.minimum = &f
		}
		props = append(props, p)
	}
	return props, nil
}

func typeOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "array"
	}
	switch n.ShortTag() {
	case "!!str":
		return "string"
	case "!!int":
		return "integer"
	case "!!float":
		return "number"
	case "!!bool":
		return "boolean"
	}
	return ""
}

// splitComment returns the +docs: directives of the last paragraph of a
// head comment and the rest of that paragraph as one line of prose.
// Earlier paragraphs are free-standing comments, not this key's docs.
func splitComment(c string) (map[string]string, string) {
	paras := strings.Split(strings.TrimSpace(c), "\n\n")
	directives := map[string]string{}
	var prose []string
	for line := range strings.SplitSeq(paras[len(paras)-1], "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
		if d, ok := strings.CutPrefix(line, "+docs:"); ok {
			name, value, _ := strings.Cut(d, "=")
			directives[name] = value
			continue
		}
		if line != "" {
			prose = append(prose, line)
		}
	}
	if _, ok := directives["section"]; ok && len(directives) == 1 {
		// A section marker alone describes no key.
		return map[string]string{}, ""
	}
	return directives, strings.Join(prose, " ")
}

func sectionOf(c, current string) string {
	for line := range strings.SplitSeq(c, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
		if s, ok := strings.CutPrefix(line, "+docs:section="); ok {
			current = s
		}
	}
	return current
}

func renderSchema(props []*property) ([]byte, error) {
	root := map[string]any{
		"$schema":              "http://json-schema.org/draft-07/schema#",
		"type":                 "object",
		"additionalProperties": false,
		"properties":           schemaProperties(props),
	}
	// Helm adds "global" to every chart's values before validating them.
	root["properties"].(map[string]any)["global"] = map[string]any{
		"description": "Values shared with subcharts (none in this chart).",
		"type":        "object",
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func schemaProperties(props []*property) map[string]any {
	out := map[string]any{}
	for _, p := range props {
		name := p.path[strings.LastIndex(p.path, ".")+1:]
		if p.children != nil {
			out[name] = map[string]any{
				"type":                 "object",
				"additionalProperties": false,
				"properties":           schemaProperties(p.children),
			}
			continue
		}
		s := map[string]any{"description": p.description, "default": p.def}
		if len(p.types) == 1 {
			s["type"] = p.types[0]
		} else {
			s["type"] = p.types
		}
		if p.items != "" {
			s["items"] = map[string]any{"type": p.items}
		}
		if p.enum != nil {
			s["enum"] = p.enum
		}
		if p.pattern != "" {
			s["pattern"] = p.pattern
		}
		if p.minimum != nil {
			s["minimum"] = *p.minimum
		}
		out[name] = s
	}
	return out
}

func renderReadme(props []*property) string {
	var b strings.Builder
	section := ""
	for _, p := range flatten(props) {
		if p.section != section || b.Len() == 0 {
			section = p.section
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "### %s\n\n", section)
			b.WriteString("| Value | Type | Default | Description |\n|---|---|---|---|\n")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", p.path, typeCell(p), code(defaultText(p.def)), cell(describe(p)))
	}
	return b.String()
}

func flatten(props []*property) []*property {
	var out []*property
	for _, p := range props {
		if p.children != nil {
			out = append(out, flatten(p.children)...)
			continue
		}
		out = append(out, p)
	}
	return out
}

func typeCell(p *property) string {
	t := strings.Join(p.types, " or ")
	if p.items != "" {
		t += " of " + p.items
	}
	return t
}

func describe(p *property) string {
	d := p.description
	if p.enum != nil {
		d += " One of: " + strings.Join(p.enum, ", ") + "."
	}
	return d
}

func defaultText(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if v == "" {
			return `""`
		}
		return v
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func code(s string) string { return "`" + strings.ReplaceAll(s, "|", `\|`) + "`" }

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func spliceReadme(readme []byte, generated string) ([]byte, error) {
	s := string(readme)
	begin := strings.Index(s, beginMarker)
	end := strings.Index(s, endMarker)
	if begin < 0 || end < begin {
		return nil, fmt.Errorf("needs the lines %q and %q around the values section", beginMarker, endMarker)
	}
	return []byte(s[:begin+len(beginMarker)] + "\n\n" + generated + "\n" + s[end:]), nil
}
