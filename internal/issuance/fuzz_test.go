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

package issuance

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// FuzzMap feeds Map arbitrary CSRs and policies as JSON, since a policy comes
// from Atlas and a CSR from any user who may create a Certificate: Map must
// never panic, and every failure must be a *PolicyError that does not echo
// the CSR. testdata/fuzz/FuzzMap holds fixed seeds; more are generated here.
func FuzzMap(f *testing.F) {
	jsonOf := func(p *atlas.ValidationPolicy) []byte { return must(json.Marshal(p)) }
	rsaCSR := csrPEM(csrSpec{subject: pkix.Name{CommonName: "a.example.com", Organization: []string{"Acme"}},
		dns: []string{"a.example.com"}, ips: []string{"10.0.0.1"}, emails: []string{"a@example.com"}, uris: []string{"spiffe://example.com/x"}})
	ecCSR := csrPEM(csrSpec{key: ecP256(), dns: []string{"a.example.com", "b.example.com"}})
	ku := uint16(x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment)
	f.Add(rsaCSR, jsonOf(basePolicy()), int64(90*86400), false, ku, []byte{1})
	f.Add(ecCSR, jsonOf(ecPolicy()), int64(0), false, ku, []byte{1, 2})
	f.Add(ecCSR, []byte(`{}`), int64(-5), false, uint16(0xffff), []byte{0, 3, 15})
	f.Add(rsaCSR, []byte(`null`), int64(3600), true, uint16(0), []byte{})
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"), jsonOf(basePolicy()), int64(1), false, ku, []byte{})

	f.Fuzz(func(t *testing.T, csr, policy []byte, seconds int64, isCA bool, ku uint16, ekus []byte) {
		// A policy that does not decode fully is still fed in as far as it
		// went: Map must cope with any shape.
		var p *atlas.ValidationPolicy
		_ = json.Unmarshal(policy, &p)
		in := Input{
			CSR:      csr,
			Duration: time.Duration(seconds) * time.Second,
			IsCA:     isCA,
			KeyUsage: x509.KeyUsage(ku),
			Now:      testNow,
		}
		for _, e := range ekus {
			in.ExtKeyUsage = append(in.ExtKeyUsage, x509.ExtKeyUsage(e%16))
		}

		res, err := Map(in, p)
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("Map() error %v (%T) is not a *PolicyError", err, err)
			}
			if pe.Field == "" || pe.Reason == "" {
				t.Fatalf("PolicyError without a field or reason: %#v", pe)
			}
			if strings.Contains(err.Error(), "-----BEGIN") {
				t.Fatalf("error message carries PEM: %q", err)
			}
			if res != nil {
				t.Fatal("Map() returned a result with its error")
			}
			return
		}
		if res.Request == nil || res.Request.PublicKey == "" || len(res.PublicKeyFingerprint) != 64 {
			t.Fatalf("incomplete result: %+v", res)
		}
		if res.Request.Validity.NotBefore != testNow.Unix() || !res.NotBefore.Equal(time.Unix(testNow.Unix(), 0)) {
			t.Fatalf("not_before = %d, want %d", res.Request.Validity.NotBefore, testNow.Unix())
		}
		if na := res.Request.Validity.NotAfter; na != 0 && na <= res.Request.Validity.NotBefore {
			t.Fatalf("not_after %d is not after not_before %d", na, res.Request.Validity.NotBefore)
		}
		if isCA {
			t.Fatal("Map() accepted isCA")
		}
		if _, err := json.Marshal(res.Request); err != nil {
			t.Fatalf("request does not marshal: %v", err)
		}
	})
}
