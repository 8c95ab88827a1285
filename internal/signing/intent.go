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

package signing

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/issuance"
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

// intentSkew is how far an intent's time may lie outside [the request's
// creation, now] and still be taken as the signer's own: the API server
// stamps the creation time by its clock, the signer writes the intent by
// its own.
const intentSkew = time.Minute

// check tells whether the intent can be the signer's own for a request
// with this key fingerprint, created at created: anyone who may patch the
// request can write the annotation, and a forged one must neither steer
// the lookup (a time in 1970 scans the account's whole history, one in the
// future polls until then) nor stand for another key's submission. The
// signer only ever writes the CSR's fingerprint and a time between the
// request's creation and the moment of writing.
func (i Intent) check(fingerprint string, created, now time.Time) error {
	switch {
	case i.Fingerprint != fingerprint:
		return fmt.Errorf("its key fingerprint %.16q is not the CSR's", i.Fingerprint)
	case i.NotBefore.Before(created.Add(-intentSkew)):
		return fmt.Errorf("its time %s is before the request was created (%s)", i.NotBefore.UTC().Format(time.RFC3339), created.UTC().Format(time.RFC3339))
	case i.NotBefore.After(now.Add(intentSkew)):
		return fmt.Errorf("its time %s is in the future", i.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// intent reads the request's intent annotation and reports whether it can
// be the signer's own (Intent.check). One that cannot is ignored, with a
// warning on the request: it neither starts a lookup nor delays a
// submission.
func (s *Signer) intent(ctx context.Context, req Request, mapped *issuance.Result) (Intent, bool) {
	raw := req.Object.GetAnnotations()[v1alpha1.IntentAnnotation]
	if raw == "" {
		return Intent{}, false
	}
	intent, err := ParseIntent(raw)
	if err == nil {
		err = intent.check(mapped.PublicKeyFingerprint, req.Object.GetCreationTimestamp().Time, s.now())
	}
	if err != nil {
		msg := fmt.Sprintf("ignoring the %s annotation: %v", v1alpha1.IntentAnnotation, err)
		log.FromContext(ctx).Info(msg)
		if s.Warn != nil {
			s.Warn(req.Object, "IntentIgnored", msg)
		}
		return Intent{}, false
	}
	return intent, true
}

// submittedAt is when the request's certificate was submitted, for pacing
// the polls of a serial: the intent's time when it can be trusted, else the
// request's creation, so that a serial Atlas does not know is given up
// after the lookup grace instead of polled every second.
func (s *Signer) submittedAt(req Request, intent Intent, ok bool) time.Time {
	if ok {
		return intent.NotBefore
	}
	return req.Object.GetCreationTimestamp().Time
}
