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

package fake

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// certState is where a certificate is in its life. Atlas shows only ISSUED
// and REVOKED in bodies; pending is a 202 and rejected a 422.
type certState int

const (
	statePending certState = iota
	stateIssued
	stateRejected
	stateRevoked
)

// certRecord is one accepted request.
type certRecord struct {
	serial      string // as in Location: 32 upper-case hex digits, leading "01"
	key         string // lookup key, see canonicalSerial
	plan        *issuePlan
	cert        *x509.Certificate // nil when rejected
	pem         string
	acceptedAt  time.Time
	readyAt     time.Time // pending on Clock until then
	pollsLeft   int       // pending for this many more GETs
	pollsDoneAt time.Time
	reject      bool
	signed      bool // accepted and, unless rejected, signed
	revokedAt   time.Time
	reason      atlas.RevocationReason
}

func (c *certRecord) state(now time.Time) certState {
	switch {
	case !c.revokedAt.IsZero():
		return stateRevoked
	case c.pollsLeft > 0 || now.Before(c.readyAt):
		return statePending
	case c.reject:
		return stateRejected
	}
	return stateIssued
}

// issuedAt is when the certificate left the pending state: the later of
// acceptance, the pending-for deadline and the last 202 poll.
func (c *certRecord) issuedAt() time.Time {
	t := c.acceptedAt
	if c.readyAt.After(t) {
		t = c.readyAt
	}
	if c.pollsDoneAt.After(t) {
		t = c.pollsDoneAt
	}
	return t
}

// canonicalSerial turns a serial from a URL into the lookup key: upper case
// without leading zeros, because the official client formats serials with
// %X of a big.Int and so drops the leading zero Atlas's own serials have.
// ok is false when s is not hex.
func canonicalSerial(s string) (string, bool) {
	if s == "" || len(s) > 64 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('0' > c || c > '9') && ('a' > c || c > 'f') && ('A' > c || c > 'F') {
			return "", false
		}
	}
	k := strings.TrimLeft(strings.ToUpper(s), "0")
	if k == "" {
		k = "0"
	}
	return k, true
}

// lookupLocked finds the certificate named in the path, or writes the 422
// or 404 Atlas answers. s.mu must be held.
func (s *Server) lookupLocked(w http.ResponseWriter, r *http.Request) *certRecord {
	key, ok := canonicalSerial(r.PathValue("serial"))
	if !ok {
		writeProblem(w, http.StatusUnprocessableEntity, "invalid serial number length", nil)
		return nil
	}
	c := s.certs[key]
	if c == nil {
		writeProblem(w, http.StatusNotFound, "Not found", nil)
	}
	return c
}

// handleRequestCertificate is POST /certificates.
func (s *Server) handleRequestCertificate(w http.ResponseWriter, r *http.Request) {
	var req atlas.CertificateRequest
	if err := readJSON(r, &req); err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad Request", nil)
		return
	}
	now := s.now()
	plan, viol := validateRequest(s.currentPolicy(), &req, now)
	if viol != nil {
		writeProblemBody(w, http.StatusUnprocessableEntity, viol.body())
		return
	}
	s.issue(w, plan, now, func() { s.holdSubmission(r) })
}

// issue accepts a validated plan: it spends quota, signs the leaf with the
// intermediate and answers 201 with the Location of the new serial. The
// quota is taken before signing and given back if signing fails, so
// concurrent requests never overspend it. created, when set, runs once the
// certificate exists and before the answer is written.
func (s *Server) issue(w http.ResponseWriter, plan *issuePlan, now time.Time, created func()) {
	s.mu.Lock()
	if s.quota <= 0 {
		s.mu.Unlock()
		writeProblem(w, http.StatusPaymentRequired, "Quota Reached", nil)
		return
	}
	s.quota--
	serial, key := s.newSerialLocked()
	c := &certRecord{
		serial:     serial,
		key:        key,
		plan:       plan,
		acceptedAt: now,
		readyAt:    now.Add(s.pendingFor),
		pollsLeft:  s.pendingPolls,
	}
	if s.rejectNext > 0 {
		s.rejectNext--
		c.reject = true
	}
	s.certs[key] = c // reserves the serial; not in certOrder until signed
	s.mu.Unlock()

	var cert *x509.Certificate
	if !c.reject {
		n, _ := new(big.Int).SetString(serial, 16)
		var err error
		if cert, err = s.pki.signLeaf(plan, n); err != nil {
			s.mu.Lock()
			delete(s.certs, key)
			s.quota++
			s.mu.Unlock()
			s.logf("%v", err)
			writeProblem(w, http.StatusInternalServerError, "Internal Server Error", nil)
			return
		}
	}
	s.mu.Lock()
	if cert != nil {
		c.cert, c.pem = cert, string(pemCert(cert.Raw))
	}
	// From here the certificate is visible to GET and /stats/issued.
	c.signed = true
	s.certOrder = append(s.certOrder, c)
	s.mu.Unlock()

	s.cmu.Lock()
	s.issued++
	s.perKey[plan.fingerprint]++
	s.cmu.Unlock()

	w.Header().Set("Location", basePath+"/certificates/"+serial)
	if created != nil {
		created()
	}
	w.WriteHeader(http.StatusCreated)
}

// holdSubmission waits out the SubmitHold fault after a POST created its
// certificate, or until the client goes away.
func (s *Server) holdSubmission(r *http.Request) {
	hold := s.Faults().SubmitHold
	if hold <= 0 {
		return
	}
	s.countFault(FaultSubmitHold)
	t := time.NewTimer(hold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// newSerialLocked draws a 16-byte serial starting with 0x01, the shape of
// real Atlas serials, whose leading zero digit exposes clients that lose it.
func (s *Server) newSerialLocked() (serial, key string) {
	for {
		b := make([]byte, 16)
		rand.Read(b)
		b[0] = 0x01
		serial = strings.ToUpper(hex.EncodeToString(b))
		key, _ = canonicalSerial(serial)
		if _, taken := s.certs[key]; !taken {
			return serial, key
		}
	}
}

// handleRetrieveCertificate is GET /certificates/{serial}. Each 202 counts
// as one of the certificate's pending polls.
func (s *Server) handleRetrieveCertificate(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	s.mu.Lock()
	c := s.lookupLocked(w, r)
	if c == nil {
		s.mu.Unlock()
		return
	}
	if !c.signed {
		// Still being signed by a concurrent POST that has not answered.
		s.mu.Unlock()
		writeInProgress(w)
		return
	}
	switch c.state(now) {
	case statePending:
		if c.pollsLeft > 0 {
			c.pollsLeft--
			if c.pollsLeft == 0 {
				c.pollsDoneAt = now
			}
		}
		s.mu.Unlock()
		writeInProgress(w)
	case stateRejected:
		s.mu.Unlock()
		writeProblem(w, http.StatusUnprocessableEntity, "CA validation error", nil)
	case stateRevoked:
		info := atlas.CertificateInfo{Certificate: c.pem, Status: atlas.StatusRevoked, UpdatedAt: c.revokedAt.Unix()}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, info)
	default:
		info := atlas.CertificateInfo{Certificate: c.pem, Status: atlas.StatusIssued, UpdatedAt: c.issuedAt().Unix()}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, info)
	}
}

// handleRevokeCertificate is PATCH /certificates/{serial} with a reason.
// revocation_time, when set, is taken as the revocation time.
func (s *Server) handleRevokeCertificate(w http.ResponseWriter, r *http.Request) {
	var req atlas.RevokeRequest
	if err := readJSON(r, &req); err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad Request", nil)
		return
	}
	if req.RevocationReason == "" {
		writeProblem(w, http.StatusUnprocessableEntity, "revocation_reason: is required",
			map[string]string{"revocation_reason": "is required"})
		return
	}
	if !slices.Contains(atlas.RevocationReasons, req.RevocationReason) {
		msg := string(req.RevocationReason) + " is not a valid revocation reason"
		writeProblem(w, http.StatusUnprocessableEntity, "revocation_reason: "+msg,
			map[string]string{"revocation_reason": msg})
		return
	}
	at := s.now()
	if req.RevocationTime > 0 {
		at = time.Unix(req.RevocationTime, 0)
	}
	s.revoke(w, r, req.RevocationReason, at)
}

// handleRevokeCertificateDeprecated is DELETE /certificates/{serial}, which
// takes no body and records the reason as unspecified.
func (s *Server) handleRevokeCertificateDeprecated(w http.ResponseWriter, r *http.Request) {
	s.revoke(w, r, atlas.ReasonUnspecified, s.now())
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request, reason atlas.RevocationReason, at time.Time) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookupLocked(w, r)
	if c == nil {
		return
	}
	st := c.state(now)
	if !c.signed {
		st = statePending
	}
	switch st {
	case statePending:
		writeProblem(w, http.StatusConflict, "Cannot revoke a certificate pending issuance", nil)
	case stateRejected:
		writeProblem(w, http.StatusConflict, "Cannot revoke a REJECTED certificate", nil)
	case stateRevoked:
		writeProblem(w, http.StatusConflict, "Certificate already revoked", nil)
	default:
		c.revokedAt, c.reason = at, reason
		w.WriteHeader(http.StatusNoContent)
	}
}

// handleRekeyCertificate is POST /certificates/{serial}/rekey: a new
// certificate with the source's subject, names and usages, the submitted
// key, and the source's lifetime starting now. It spends quota and goes
// through the same pending and rejection settings as a new request. The
// source stays as it is: nothing documents Atlas revoking it.
func (s *Server) handleRekeyCertificate(w http.ResponseWriter, r *http.Request) {
	var req atlas.RekeyRequest
	if err := readJSON(r, &req); err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad Request", nil)
		return
	}
	now := s.now()
	s.mu.Lock()
	c := s.lookupLocked(w, r)
	if c == nil {
		s.mu.Unlock()
		return
	}
	issued := c.signed && c.state(now) == stateIssued
	src := c.plan
	s.mu.Unlock()
	if !issued {
		writeProblem(w, http.StatusConflict, "Cannot rekey a certificate that is not ISSUED", nil)
		return
	}
	v := &violations{}
	plan := *src
	policy := s.currentPolicy()
	checkPublicKey(v, &plan, policy, req.PublicKey, req.PublicKeySignature)
	if policy != nil {
		checkSignature(v, policy.Signature, req.Signature)
	}
	if !v.empty() {
		writeProblemBody(w, http.StatusUnprocessableEntity, v.body())
		return
	}
	life := src.notAfter.Sub(src.notBefore)
	plan.notBefore = now.UTC().Truncate(time.Second)
	plan.notAfter = plan.notBefore.Add(life)
	s.issue(w, &plan, now, nil)
}

// SetPending changes how long certificates accepted from now on stay
// pending: polls GETs answering 202 and/or d on Clock after acceptance.
func (s *Server) SetPending(polls int, d time.Duration) {
	s.mu.Lock()
	s.pendingPolls, s.pendingFor = polls, d
	s.mu.Unlock()
}

// RejectNext makes the next n accepted certificates end REJECTED: once their
// pending time is over, GET answers 422 "CA validation error", the
// asynchronous failure Atlas reports when the CA refuses a request it had
// accepted.
func (s *Server) RejectNext(n int) {
	s.mu.Lock()
	s.rejectNext = n
	s.mu.Unlock()
}

// Issued counts certificates accepted by POST /certificates and rekey since
// start or the last Reset, rejected ones included.
func (s *Server) Issued() int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.issued
}

// IssuedPerKey counts accepted certificates per public key, keyed by
// PublicKeyFingerprint.
func (s *Server) IssuedPerKey() map[string]int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	out := make(map[string]int, len(s.perKey))
	maps.Copy(out, s.perKey)
	return out
}

// Duplicates is the number of certificates accepted for a key that already
// had one: the sum over keys of (count - 1). An issuer that never issues
// twice for one request keeps it at zero when every request has its own key.
func (s *Server) Duplicates() int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	d := 0
	for _, n := range s.perKey {
		if n > 1 {
			d += n - 1
		}
	}
	return d
}

// IssuedCertificate is one certificate the fake accepted, as the admin API
// lists it.
type IssuedCertificate struct {
	// Serial is as in the Location header.
	Serial string `json:"serial"`
	// Fingerprint is the hex SHA-256 of the certified public key's SPKI.
	Fingerprint string `json:"fingerprint"`
	CommonName  string `json:"common_name,omitempty"`
	// DNSNames are the certificate's DNS subject alternative names.
	DNSNames   []string  `json:"dns_names,omitempty"`
	AcceptedAt time.Time `json:"accepted_at"`
	// Revoked and Rejected say why the certificate is no longer, or never
	// was, usable.
	Revoked  bool `json:"revoked,omitempty"`
	Rejected bool `json:"rejected,omitempty"`
}

// IssuedCertificates lists every certificate accepted since start or the
// last reset of the store, in the order they were signed.
func (s *Server) IssuedCertificates() []IssuedCertificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]IssuedCertificate, 0, len(s.certOrder))
	for _, c := range s.certOrder {
		out = append(out, IssuedCertificate{
			Serial:      c.serial,
			Fingerprint: c.plan.fingerprint,
			CommonName:  c.plan.subject.CommonName,
			DNSNames:    slices.Clone(c.plan.dnsNames),
			AcceptedAt:  c.acceptedAt,
			Revoked:     !c.revokedAt.IsZero(),
			Rejected:    c.reject,
		})
	}
	return out
}

// Certificate returns the leaf issued under serial, in any spelling GET
// accepts, whether or not it is still pending. Rejected requests have none.
func (s *Server) Certificate(serial string) (*x509.Certificate, bool) {
	key, ok := canonicalSerial(serial)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.certs[key]
	if c == nil || c.cert == nil {
		return nil, false
	}
	return c.cert, true
}
