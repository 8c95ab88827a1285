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

// Package atlas is a typed client for the GlobalSign Atlas HVCA REST API v2.
//
// One Client serves one credential set (API key and secret plus the mTLS
// client certificate) and is safe for concurrent use: it keeps HTTP/2
// connections alive, caches the access token until shortly before its
// 10-minute lifetime ends (one caller refreshes it while the others wait),
// logs in again once on a 401, and retries 429, 5xx and transport errors
// with exponential backoff and jitter that honours Retry-After and stops
// when the context ends. Errors from Atlas are *Error values, classified
// once here by IsRetryable, IsAuth and IsPermanent.
//
// The 24 operations, by method and path relative to the base URL (…/v2):
//
//	POST   /login                                    Login
//	POST   /certificates                             RequestCertificate
//	GET    /certificates/{serial}                    RetrieveCertificate
//	PATCH  /certificates/{serial}                    RevokeCertificate
//	DELETE /certificates/{serial}                    RevokeCertificateDeprecated
//	POST   /certificates/{serial}/rekey              RekeyCertificate
//	GET    /trustchain                               TrustChain
//	GET    /validationpolicy                         ValidationPolicy
//	GET    /counters/certificates/issued             CountIssued
//	GET    /counters/certificates/revoked            CountRevoked
//	GET    /quotas/issuance                          Quota
//	GET    /stats/issued                             StatsIssued
//	GET    /stats/revoked                            StatsRevoked
//	GET    /stats/expiring                           StatsExpiring
//	GET    /claims/domains                           ListClaims
//	POST   /claims/domains/{domain}                  SubmitClaim
//	GET    /claims/domains/{claimID}                 RetrieveClaim
//	DELETE /claims/domains/{claimID}                 DeleteClaim
//	GET    /claims/domains/{claimID}/dns             ClaimDNSDomains
//	POST   /claims/domains/{claimID}/dns             VerifyClaimDNS
//	POST   /claims/domains/{claimID}/http            VerifyClaimHTTP
//	GET    /claims/domains/{claimID}/email           ClaimEmails
//	POST   /claims/domains/{claimID}/email           VerifyClaimEmail
//	POST   /claims/domains/{claimID}/reassert        ReassertClaim
//
// The client never logs or returns API secrets, tokens or private keys.
package atlas
