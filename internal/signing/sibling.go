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
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/chain"
	"github.com/globalsign/atlas-issuer/internal/issuance"
)

// SiblingLister lists the other requests cert-manager made for the same
// Certificate revision and issuer as obj, as the manager's cache shows
// them.
//
// cert-manager at times makes a second request for a revision, with the
// same key: a twin moments after the first, or the same request made again
// after its caches fell behind the API server. The process that answered
// the first may be gone by then (a crash, a new leader, an upgrade), and
// its memory of the submission (recentSubmissions) with it; the first
// request's serial annotation is what outlives it.
type SiblingLister func(ctx context.Context, obj client.Object) ([]Sibling, error)

// Sibling is another request for a request's Certificate revision.
type Sibling struct {
	Request
	// Certificate is the PEM chain the sibling's status holds once it is
	// issued, or nil.
	Certificate []byte
}

// serial is the Atlas serial of the certificate the sibling names: its
// serial annotation, or that of the certificate its status holds, in
// whole bytes of upper-case hex, as Atlas's Location headers spell it.
func (sib Sibling) serial() string {
	if s := sib.Object.GetAnnotations()[v1alpha1.SerialAnnotation]; s != "" {
		return s
	}
	if len(sib.Certificate) == 0 {
		return ""
	}
	leaf, err := parseCertificate(sib.Certificate)
	if err != nil {
		return ""
	}
	return strings.ToUpper(hex.EncodeToString(leaf.SerialNumber.Bytes()))
}

// siblingPoll is how soon a request waiting for a sibling's submission
// looks again.
const siblingPoll = 2 * time.Second

// fromSibling serves a request that is about to be submitted from a
// sibling's certificate: a request for the same Certificate revision, key
// and contents that Atlas already answered (its serial annotation). A
// sibling made earlier whose submission is under way (an intent and no
// serial yet) is waited for, for at most the lookup grace from its
// creation, which the API server sets and the requester cannot. done is
// false when no sibling serves: the request is submitted on its own.
//
// A sibling's annotations are the requester's to write, so its serial
// proves nothing: the certificate must be issued, for this request's key,
// and match this request's mapping; otherwise the sibling is ignored, with
// a warning.
func (s *Signer) fromSibling(ctx context.Context, cl *atlas.Client, req Request, want expected, trust *chain.Trust) (b Bundle, done bool, err error) {
	if s.Siblings == nil || want.submission == nil {
		return Bundle{}, false, nil
	}
	sibs, err := s.Siblings(ctx, req.Object)
	if err != nil {
		return Bundle{}, true, fmt.Errorf("list the other requests for the same Certificate revision: %w", err)
	}
	var waitFor string
	for _, sib := range sibs {
		if !s.sameSubmission(cl, sib, want) {
			continue
		}
		if serial := sib.serial(); serial != "" {
			if b, done, err := s.collectSibling(ctx, cl, req, want, sib, serial, trust); done {
				return b, true, err
			}
			continue
		}
		created := sib.Object.GetCreationTimestamp().Time
		if sib.Object.GetAnnotations()[v1alpha1.IntentAnnotation] != "" && madeBefore(sib.Object, req.Object) && s.now().Sub(created) < s.LookupGrace {
			waitFor = sib.Object.GetName()
		}
	}
	if waitFor == "" {
		return Bundle{}, false, nil
	}
	return Bundle{}, true, signer.PendingError{
		Err: fmt.Errorf("request %s, for the same Certificate revision and key, is being submitted; waiting for its certificate rather than paying for a second",
			waitFor),
		RequeueAfter: siblingPoll,
	}
}

// sameSubmission reports whether sib asks Atlas, through cl, for what want
// does: the same key and contents.
func (s *Signer) sameSubmission(cl *atlas.Client, sib Sibling, want expected) bool {
	mapped, err := issuance.Map(mapInput(sib.Request, s.now()), want.policy)
	if err != nil {
		return false
	}
	k := submissionKeyOf(cl, mapped)
	return k != nil && *k == *want.submission
}

// madeBefore orders requests by creation, then name, so that of two
// siblings only the later waits for the earlier.
func madeBefore(a, b client.Object) bool {
	ta, tb := a.GetCreationTimestamp().Time, b.GetCreationTimestamp().Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.GetName() < b.GetName()
}

// collectSibling serves req from the certificate serial names on sib,
// after reading its status from Atlas (it may have been revoked since). done
// is false when that certificate cannot serve it: not in Atlas, revoked,
// or not for this request's key and mapping.
func (s *Signer) collectSibling(ctx context.Context, cl *atlas.Client, req Request, want expected, sib Sibling, serial string, trust *chain.Trust) (Bundle, bool, error) {
	logger := log.FromContext(ctx).WithValues("sibling", sib.Object.GetName(), "serial", serial)
	asked := s.now()
	info, err := cl.RetrieveCertificate(ctx, serial)
	if atlas.StatusCode(err) == 404 {
		// Atlas may take a moment to show a certificate it just accepted.
		if s.now().Sub(sib.Object.GetCreationTimestamp().Time) < s.LookupGrace {
			return Bundle{}, true, signer.PendingError{
				Err:          fmt.Errorf("certificate %s of request %s, for the same Certificate revision and key, is not visible in Atlas yet", serial, sib.Object.GetName()),
				RequeueAfter: siblingPoll,
			}
		}
		s.ignoreSibling(req, sib, serial, "Atlas has no such certificate")
		return Bundle{}, false, nil
	}
	if err != nil {
		return Bundle{}, true, fmt.Errorf("retrieve certificate %s of request %s: %w", serial, sib.Object.GetName(), err)
	}
	switch info.Status {
	case atlas.StatusIssued:
		if _, err := checkLeaf(req, want, serial, info.Certificate); err != nil {
			s.ignoreSibling(req, sib, serial, err.Error())
			return Bundle{}, false, nil
		}
	case atlas.StatusPending:
	default:
		logger.Info("the certificate of a request for the same Certificate revision and key is not usable; submitting anew", "status", info.Status)
		return Bundle{}, false, nil
	}
	logger.Info("a request for the same Certificate revision and key holds a certificate; collecting it instead of submitting again")
	if err := s.persistSerial(ctx, req, serial); err != nil {
		return Bundle{}, true, err
	}
	if info.Status == atlas.StatusPending {
		return Bundle{}, true, signer.PendingError{Err: fmt.Errorf("Atlas is still issuing certificate %s", serial), RequeueAfter: siblingPoll}
	}
	b, err := s.finish(req, want, serial, info.Certificate, asked, trust)
	return b, true, err
}

// ignoreSibling tells users on the request that a sibling's serial was not
// taken, and why.
func (s *Signer) ignoreSibling(req Request, sib Sibling, serial, why string) {
	if s.Warn != nil {
		s.Warn(req.Object, "SiblingSerialIgnored", fmt.Sprintf("request %s names certificate %s, which cannot serve this request (%s); submitting on its own",
			sib.Object.GetName(), serial, why))
	}
}
