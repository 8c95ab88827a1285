package signing

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Intent is what the intent annotation records just before a certificate is
// submitted: the not_before sent to Atlas (whole seconds) and the public
// key's fingerprint. Together they identify the submission among the
// account's certificates after a restart.
type Intent struct {
	NotBefore   time.Time
	Fingerprint string
}

// String encodes the intent as "<unix seconds>/<fingerprint>".
func (i Intent) String() string {
	return fmt.Sprintf("%d/%s", i.NotBefore.Unix(), i.Fingerprint)
}

// ParseIntent decodes an intent annotation.
func ParseIntent(s string) (Intent, error) {
	secs, fp, ok := strings.Cut(s, "/")
	if !ok || fp == "" {
		return Intent{}, fmt.Errorf("intent %q: want <unix seconds>/<fingerprint>", s)
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n <= 0 {
		return Intent{}, fmt.Errorf("intent %q: bad time", s)
	}
	return Intent{NotBefore: time.Unix(n, 0), Fingerprint: fp}, nil
}
