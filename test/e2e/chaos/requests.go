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

package chaos

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// A fake counts a certificate for a public key that already has one as a
// duplicate, but cert-manager itself asks more than once for a key at
// times: it creates a second request for the same Certificate revision (a
// twin), or deletes a request and creates it again after its caches fell
// behind the API server. Which certificate answered which request tells
// the issuer's duplicates (a request answered by more than one
// certificate) from cert-manager's (more requests for a key). The request
// ledger records every CertificateRequest the watch saw over the run, the
// deleted ones too, with its key and the certificate its status carried.

// requestRecord is what the watch saw of one CertificateRequest.
type requestRecord struct {
	uid         types.UID
	namespace   string
	name        string
	certificate string // namespace/name of the Certificate it was made for
	revision    string
	fingerprint string // the CSR's key, as the fakes name keys
	serial      string // normalSerial of the leaf in status.certificate
	created     time.Time
	deleted     bool
}

func (rec *requestRecord) String() string {
	s := fmt.Sprintf("%s/%s (uid %.8s, revision %s, created %s", rec.namespace, rec.name, rec.uid, rec.revision,
		rec.created.UTC().Format("15:04:05"))
	if rec.serial != "" {
		s += ", answered with " + rec.serial
	}
	if rec.deleted {
		s += ", deleted"
	}
	return s + ")"
}

// requestLedger is every request the watch saw, by UID.
type requestLedger struct {
	mu    sync.Mutex
	byUID map[types.UID]*requestRecord
}

func newRequestLedger() *requestLedger {
	return &requestLedger{byUID: map[types.UID]*requestRecord{}}
}

// handler is the ledger as an informer's event handler.
func (l *requestLedger) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { l.observe(obj, false) },
		UpdateFunc: func(_, obj any) { l.observe(obj, false) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			l.observe(obj, true)
		},
	}
}

func (l *requestLedger) observe(obj any, deleted bool) {
	cr, ok := obj.(*cmapi.CertificateRequest)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	rec := l.byUID[cr.UID]
	if rec == nil {
		rec = &requestRecord{uid: cr.UID, namespace: cr.Namespace, name: cr.Name, created: cr.CreationTimestamp.Time,
			certificate: cr.Namespace + "/" + cr.Annotations[cmapi.CertificateNameKey],
			revision:    cr.Annotations[cmapi.CertificateRequestRevisionAnnotationKey],
			fingerprint: csrFingerprint(cr.Spec.Request)}
		l.byUID[cr.UID] = rec
	}
	if s := leafSerial(cr.Status.Certificate); s != "" {
		rec.serial = s
	}
	rec.deleted = rec.deleted || deleted
}

// csrFingerprint is the fingerprint of a PEM CSR's public key, or "".
func csrFingerprint(csrPEM []byte) string {
	block, _ := pem.Decode(csrPEM)
	if block == nil {
		return ""
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return ""
	}
	fp, err := fake.PublicKeyFingerprint(csr.PublicKey)
	if err != nil {
		return ""
	}
	return fp
}

// leafSerial is the normalSerial of the first certificate of a PEM chain,
// or "".
func leafSerial(chainPEM []byte) string {
	if len(chainPEM) == 0 {
		return ""
	}
	certs, err := framework.ParseCerts(chainPEM)
	if err != nil || len(certs) == 0 {
		return ""
	}
	return normalSerial(certs[0].SerialNumber.Text(16))
}

// records returns a copy of every record.
func (l *requestLedger) records() []requestRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]requestRecord, 0, len(l.byUID))
	for _, rec := range l.byUID {
		out = append(out, *rec)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].created.Equal(out[j].created) {
			return out[i].created.Before(out[j].created)
		}
		return out[i].uid < out[j].uid
	})
	return out
}

// answered maps the serial of every certificate a request's status carried
// to that request.
func answered(recs []requestRecord) map[string]requestRecord {
	out := map[string]requestRecord{}
	for _, rec := range recs {
		if rec.serial != "" {
			out[rec.serial] = rec
		}
	}
	return out
}

// KeyAccount is one public key for which a fake issued more than one
// certificate, with every request the watch saw for that key.
type KeyAccount struct {
	Fake        string   `json:"fake"`
	Fingerprint string   `json:"fingerprint"`
	Serials     []string `json:"serials"`
	Requests    []string `json:"requests"`
	// IssuerDuplicates are the certificates beyond one per request: a
	// request Atlas answered twice.
	IssuerDuplicates int `json:"issuer_duplicates"`
}

// DuplicateDetail sorts the certificates a fake issued for a key that
// already had one.
type DuplicateDetail struct {
	// SameKey is what the fakes count: every certificate for a key that
	// already had one.
	SameKey int `json:"same_key_certificates"`
	// ByRequests are those cert-manager asked for with a request of their
	// own (a twin, or a request deleted and made again).
	ByRequests int `json:"asked_for_by_another_request"`
	// Issuer are the certificates beyond one per request.
	Issuer int `json:"issuer_duplicates"`
	// Keys lists every key with more than one certificate.
	Keys []KeyAccount `json:"keys,omitempty"`
}

// accountDuplicates sorts the certificates of keys with more than one:
// per key, the certificates up to the number of requests the watch saw for
// it are cert-manager's asking, any beyond are the issuer's duplicates.
// inScope limits the count to some certificates (a namespace's); nil
// counts all.
func accountDuplicates(issued map[string][]fake.IssuedCertificate, recs []requestRecord,
	inScope func(fake.IssuedCertificate) bool) DuplicateDetail {
	requests := map[string][]requestRecord{}
	for _, rec := range recs {
		if rec.fingerprint != "" {
			requests[rec.fingerprint] = append(requests[rec.fingerprint], rec)
		}
	}
	var d DuplicateDetail
	fakes := make([]string, 0, len(issued))
	for f := range issued {
		fakes = append(fakes, f)
	}
	sort.Strings(fakes)
	for _, f := range fakes {
		byKey := map[string][]fake.IssuedCertificate{}
		var order []string
		for _, c := range issued[f] {
			if inScope != nil && !inScope(c) {
				continue
			}
			if len(byKey[c.Fingerprint]) == 0 {
				order = append(order, c.Fingerprint)
			}
			byKey[c.Fingerprint] = append(byKey[c.Fingerprint], c)
		}
		for _, fp := range order {
			certs := byKey[fp]
			if len(certs) < 2 {
				continue
			}
			extra := len(certs) - 1
			asked := min(extra, max(0, len(requests[fp])-1))
			ka := KeyAccount{Fake: f, Fingerprint: fp, IssuerDuplicates: extra - asked}
			for _, c := range certs {
				ka.Serials = append(ka.Serials, c.Serial)
			}
			for _, rec := range requests[fp] {
				ka.Requests = append(ka.Requests, rec.String())
			}
			d.SameKey += extra
			d.ByRequests += asked
			d.Issuer += ka.IssuerDuplicates
			d.Keys = append(d.Keys, ka)
		}
	}
	return d
}

// keyNames shortens the keys of a detail for a goal's message.
func keyNames(keys []KeyAccount) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s %.12s: %d certificates, %d beyond the requests [%s]", k.Fake, k.Fingerprint,
			len(k.Serials), k.IssuerDuplicates, strings.Join(k.Requests, "; ")))
	}
	return out
}
