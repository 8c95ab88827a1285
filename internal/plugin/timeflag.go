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
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// relativeRE is a duration with optional day and week units, which
// time.ParseDuration lacks but windows of certificates are counted in.
var relativeRE = regexp.MustCompile(`^(?:(\d+)w)?(?:(\d+)d)?(.*)$`)

// parseRelative reads "90m", "24h", "7d", "2w", "1d12h".
func parseRelative(s string) (time.Duration, bool) {
	m := relativeRE.FindStringSubmatch(s)
	if m == nil || (m[1] == "" && m[2] == "" && m[3] == "") {
		return 0, false
	}
	var d time.Duration
	for i, unit := range []time.Duration{7 * 24 * time.Hour, 24 * time.Hour} {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i+1], 10, 32)
		if err != nil {
			return 0, false
		}
		d += time.Duration(n) * unit
	}
	if m[3] != "" {
		rest, err := time.ParseDuration(m[3])
		if err != nil || rest < 0 {
			return 0, false
		}
		d += rest
	}
	return d, true
}

// parseTime reads a --from or --to value: "now", an RFC 3339 time, a date
// (midnight UTC), or a duration relative to now. An unsigned duration points
// in direction dir (-1 into the past, +1 into the future), which lets
// "--from 7d" mean a week ago for issued certificates and "--to 30d" a
// month ahead for expiring ones; a leading + or - overrides it.
func parseTime(s string, now time.Time, dir int) (time.Time, error) {
	v := strings.TrimSpace(s)
	if strings.EqualFold(v, "now") {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	sign := dir
	switch {
	case strings.HasPrefix(v, "+"):
		sign, v = 1, v[1:]
	case strings.HasPrefix(v, "-"):
		sign, v = -1, v[1:]
	}
	if d, ok := parseRelative(v); ok {
		return now.Add(time.Duration(sign) * d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2025-01-31T12:00:00Z), a date (2025-01-31), \"now\", or a duration from now such as 24h, 7d or 2w", s)
}
