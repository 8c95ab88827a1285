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

// Package issuance turns a cert-manager request into the body of an Atlas
// POST /certificates, under the account's validation policy.
//
// Atlas reads only the public key from what it is sent: the subject, SANs,
// extended key usages and key usages inside a CSR are ignored, so they are
// carried over here into the JSON body field by field. Doing that naively
// gets a 422 from Atlas for anything the policy does not allow, after a
// round trip and, for some failures, after quota is spent. Map therefore
// applies the policy first and returns a *PolicyError naming the Atlas field
// for any request the policy can never accept, so the caller can fail the
// request permanently without calling Atlas.
//
// The package is pure: no I/O and no clock. The caller passes the time, which
// keeps Map deterministic for tests and for the duplicate-issuance recovery
// that compares a recomputed request with what was sent before.
//
// Policy semantics chosen where Atlas's documentation is silent:
//
//   - A string format is a regular expression matched against the whole
//     value, unless the account wrote an anchor (^ or $) itself, in which
//     case it is used as written. A format Go cannot compile (Atlas may allow
//     syntax RE2 lacks, such as look-ahead) is not checked here; Atlas
//     checks it, and a note says so.
//   - dns_names and emails lists hold suffixes, matched literally and
//     case-insensitively: ".example.com" allows "a.example.com" but not
//     "example.com" itself, and "example.com" also allows "badexample.com",
//     exactly as a plain suffix test does. An empty suffix allows anything.
//     An empty list with a non-zero maxcount places no constraint.
//   - A subject attribute with an Atlas field that the policy does not
//     mention is left out with a note rather than failing the request. An
//     attribute Atlas has no field for is sent as an extra attribute when
//     the policy lists its OID and fails the request otherwise, and a SAN
//     the policy does not provide for (an otherName included) fails the
//     request, since leaving a name out would give a certificate that does
//     not cover it.
//   - Enum values the package does not know are treated leniently (as
//     OPTIONAL), since Atlas has added values over time.
package issuance
