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
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

func TestAccountDuplicates(t *testing.T) {
	cert := func(serial, fp, dns string) fake.IssuedCertificate {
		return fake.IssuedCertificate{Serial: serial, Fingerprint: fp, DNSNames: []string{dns}}
	}
	req := func(uid, fp string) requestRecord {
		return requestRecord{uid: types.UID(uid), namespace: "ns", name: uid, fingerprint: fp}
	}
	for _, tc := range []struct {
		name                      string
		issued                    []fake.IssuedCertificate
		recs                      []requestRecord
		scope                     func(fake.IssuedCertificate) bool
		sameKey, byRequests, mine int
	}{
		{name: "one certificate per key", issued: []fake.IssuedCertificate{cert("1", "a", "x.ns.chaos.example"), cert("2", "b", "y.ns.chaos.example")},
			recs: []requestRecord{req("u1", "a"), req("u2", "b")}},
		{name: "one request answered twice", issued: []fake.IssuedCertificate{cert("1", "a", "x.ns.chaos.example"), cert("2", "a", "x.ns.chaos.example")},
			recs: []requestRecord{req("u1", "a")}, sameKey: 1, mine: 1},
		{name: "a twin answered on its own", issued: []fake.IssuedCertificate{cert("1", "a", "x.ns.chaos.example"), cert("2", "a", "x.ns.chaos.example")},
			recs: []requestRecord{req("u1", "a"), req("u2", "a")}, sameKey: 1, byRequests: 1},
		{name: "two requests, three certificates", issued: []fake.IssuedCertificate{cert("1", "a", "x.ns.chaos.example"),
			cert("2", "a", "x.ns.chaos.example"), cert("3", "a", "x.ns.chaos.example")},
			recs: []requestRecord{req("u1", "a"), req("u2", "a")}, sameKey: 2, byRequests: 1, mine: 1},
		{name: "a key no request had", issued: []fake.IssuedCertificate{cert("1", "z", "x.ns.chaos.example"), cert("2", "z", "x.ns.chaos.example")},
			sameKey: 1, mine: 1},
		{name: "out of scope", issued: []fake.IssuedCertificate{cert("1", "a", "x.other.chaos.example"), cert("2", "a", "x.other.chaos.example")},
			recs: []requestRecord{req("u1", "a")}, scope: inNamespaceOnly("ns")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := accountDuplicates(map[string][]fake.IssuedCertificate{"fake-atlas": tc.issued}, tc.recs, tc.scope)
			if d.SameKey != tc.sameKey || d.ByRequests != tc.byRequests || d.Issuer != tc.mine {
				t.Errorf("same key %d, by requests %d, issuer %d; want %d, %d, %d (%v)", d.SameKey, d.ByRequests, d.Issuer,
					tc.sameKey, tc.byRequests, tc.mine, keyNames(d.Keys))
			}
		})
	}
}

func TestRequestLedgerKeepsDeleted(t *testing.T) {
	l := newRequestLedger()
	h := l.handler()
	cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c-1", UID: "u1",
		Annotations: map[string]string{cmapi.CertificateNameKey: "c", cmapi.CertificateRequestRevisionAnnotationKey: "1"}}}
	h.OnAdd(cr, false)
	h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "ns/c-1", Obj: cr})
	recs := l.records()
	if len(recs) != 1 || !recs[0].deleted || recs[0].certificate != "ns/c" || recs[0].revision != "1" {
		t.Fatalf("records = %+v", recs)
	}
}
