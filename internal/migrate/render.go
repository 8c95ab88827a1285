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

package migrate

import (
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Render writes the plan as a diff: created objects as added YAML, changed
// fields as removed and added lines. Secret values never appear, only
// their keys and sizes.
func Render(w io.Writer, p Plan) error {
	var b strings.Builder
	for _, s := range p.Steps {
		name := s.Kind + " " + s.Name
		if s.Namespace != "" {
			name = s.Kind + " " + s.Namespace + "/" + s.Name
		}
		switch s.Action {
		case Create:
			fmt.Fprintf(&b, "--- /dev/null\n+++ %s (new, from %s)\n", name, s.From)
			body, err := yaml.Marshal(printable(s.Object))
			if err != nil {
				return fmt.Errorf("rendering %s: %w", name, err)
			}
			for line := range strings.SplitSeq(strings.TrimSuffix(string(body), "\n"), "\n") {
				b.WriteString("+" + line + "\n")
			}
		case Patch:
			fmt.Fprintf(&b, "--- %s\n+++ %s\n", name, name)
			for _, c := range s.Changes {
				if c.Old != "" {
					fmt.Fprintf(&b, "-%s: %s\n", c.Field, c.Old)
				}
				fmt.Fprintf(&b, "+%s: %s\n", c.Field, c.New)
			}
		}
	}
	for _, warning := range p.Warnings {
		fmt.Fprintf(&b, "# warning: %s\n", warning)
	}
	fmt.Fprintf(&b, "# %d to create, %d to change, %d already migrated, %d warnings\n",
		p.count(Create), p.count(Patch), p.Unchanged, len(p.Warnings))
	_, err := io.WriteString(w, b.String())
	return err
}

func (p Plan) count(a Action) int {
	n := 0
	for _, s := range p.Steps {
		if s.Action == a {
			n++
		}
	}
	return n
}

// printable is obj as the plan shows it: a Secret's values replaced by
// their sizes, and no empty creation timestamp.
func printable(obj any) any {
	m := map[string]any{}
	raw, err := yaml.Marshal(obj)
	if err == nil {
		err = yaml.Unmarshal(raw, &m)
	}
	if err != nil {
		return obj
	}
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	delete(m, "status")
	if s, ok := obj.(*corev1.Secret); ok {
		data := map[string]any{}
		for k, v := range s.Data {
			data[k] = fmt.Sprintf("(%d bytes)", len(v))
		}
		m["data"] = data
	}
	return m
}
