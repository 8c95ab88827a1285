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
	"errors"
	"fmt"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	csrutil "github.com/cert-manager/cert-manager/pkg/controller/certificatesigningrequests/util"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	certificatesv1 "k8s.io/api/certificates/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// approvalWait is how long a request that reached Sign unapproved waits
// before it is looked at again; approval itself also triggers a reconcile.
const approvalWait = 30 * time.Second

// checkApproval refuses to sign a request that is not approved, or that is
// denied. issuer-lib checks this before it calls Sign; the signer checks
// again so that no change there, and no caller but issuer-lib, can have
// Atlas issue a certificate nobody approved. A denied request fails; one
// not yet approved waits.
func checkApproval(obj client.Object) error {
	var approved, denied bool
	switch r := obj.(type) {
	case *cmapi.CertificateRequest:
		approved, denied = cmapiutil.CertificateRequestIsApproved(r), cmapiutil.CertificateRequestIsDenied(r)
	case *certificatesv1.CertificateSigningRequest:
		approved, denied = csrutil.CertificateSigningRequestIsApproved(r), csrutil.CertificateSigningRequestIsDenied(r)
	default:
		return signer.PermanentError{Err: fmt.Errorf("cannot tell whether a %T is approved", obj)}
	}
	switch {
	case denied:
		return signer.PermanentError{Err: errors.New("the request is denied; it is never signed")}
	case !approved:
		return signer.PendingError{Err: errors.New("the request is not approved yet"), RequeueAfter: approvalWait}
	}
	return nil
}
