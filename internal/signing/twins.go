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
	"time"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/chain"
)

// twinFreshness is how old the first request's ISSUED status may be for a
// twin to take its certificate without asking Atlas again. cert-manager
// creates a twin moments after the first request's issuance, while this
// process still keeps the first certificate (issuedCertificates
// keeps it for a grace of the same length after it settles). Within the
// window the twin gets exactly what the first request's Secret already
// holds: the twin is for the same Certificate revision and key, so skipping
// the GET hands out nothing the Secret does not have, and a status read is
// itself only a snapshot: a revocation a moment after it is missed just the
// same. Past the window the status is read again.
const twinFreshness = 10 * time.Second

// collectTwin serves a request from the certificate of its twin: another
// request for the same key and contents submitted moments ago
// (cert-manager creates such twins at times), so that one certificate
// serves both. The twin's certificate may have been revoked since (kubectl
// atlas certificate revoke, the Atlas portal), which no memory of this
// process can know, so its status is fetched before it is reused (one GET
// instead of the POST it saves), unless this process read it ISSUED less
// than twinFreshness ago. done is false when it is revoked or will never
// be issued, and the request is submitted on its own.
func (s *Signer) collectTwin(ctx context.Context, cl *atlas.Client, req Request, want expected, first submission, trust *chain.Trust) (b Bundle, done bool, err error) {
	logger := log.FromContext(ctx)
	leafPEM, seen, fresh := s.freshTwin(first)
	status := atlas.StatusIssued
	if !fresh {
		asked := s.now()
		info, err := cl.RetrieveCertificate(ctx, first.serial)
		if err != nil {
			return Bundle{}, true, s.collectError(first.serial, err, s.now().Sub(first.at))
		}
		leafPEM, seen, status = info.Certificate, asked, info.Status
	}
	if status != atlas.StatusIssued && status != atlas.StatusPending {
		logger.Info("the certificate of a request for the same key and contents is not usable; submitting anew", "serial", first.serial, "status", status)
		return Bundle{}, false, nil
	}
	logger.Info("a request for the same key and contents was just submitted; collecting its certificate instead of submitting again", "serial", first.serial, "statusRead", !fresh)
	if err := s.persistSerial(ctx, req, first.serial); err != nil {
		return Bundle{}, true, err
	}
	if status == atlas.StatusPending {
		return Bundle{}, true, signer.PendingError{
			Err:          fmt.Errorf("Atlas is still issuing certificate %s", first.serial),
			RequeueAfter: pollInterval(s.now().Sub(first.at)),
		}
	}
	b, err = s.finish(req, want, first.serial, leafPEM, seen, trust)
	return b, true, err
}

// freshTwin returns the first request's certificate when this process
// read its status ISSUED less than twinFreshness ago, and when.
func (s *Signer) freshTwin(first submission) (leafPEM string, seenIssued time.Time, ok bool) {
	kept, ok := s.issued.get(first.uid)
	if !ok || kept.serial != first.serial || kept.seenIssued.IsZero() || s.now().Sub(kept.seenIssued) >= twinFreshness {
		return "", time.Time{}, false
	}
	return kept.leaf, kept.seenIssued, true
}
