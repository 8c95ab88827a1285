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

package atlas

import (
	"errors"
	"fmt"
)

// Caps on the body of each answer, by operation. An issuer's spec.url may
// point at any server, so every read is bounded by what the operation can
// legitimately return, not by what a server chooses to send: a tenant's
// server must not make the controller buffer megabytes per call. The caps
// are many times the largest answer Atlas gives.
const (
	// limitSmall covers a token, a counter, a claim, an empty or
	// Location-only answer and every error body.
	limitSmall = 64 << 10
	// limitTrustChain covers a handful of PEM CA certificates.
	limitTrustChain = 128 << 10
	// limitCertificate covers one PEM certificate with its status, even
	// with hundreds of SANs.
	limitCertificate = 256 << 10
	// limitPolicy covers a validation policy with long allow lists.
	limitPolicy = 256 << 10
	// limitPage covers one stats or claims page of up to 1,000 rows.
	limitPage = 2 << 20
)

// ResponseTooLargeError is an answer whose body exceeds its operation's
// cap. The client stops reading at the cap and does not repeat the call:
// the same server would send the same body again.
type ResponseTooLargeError struct {
	Op    string
	Limit int64
}

func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("atlas %s: the answer exceeds %d KiB, the most this operation may return; the server at spec.url is not behaving as Atlas does", e.Op, e.Limit>>10)
}

// IsResponseTooLarge reports whether err is, or wraps, a
// *ResponseTooLargeError.
func IsResponseTooLarge(err error) bool {
	_, ok := errors.AsType[*ResponseTooLargeError](err)
	return ok
}
