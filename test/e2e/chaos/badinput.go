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
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/youmark/pkcs8"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/credentials"
)

// badRequest is a CertificateRequest that can never be signed.
type badRequest struct {
	name, kind, want string
	csr              []byte
	isCA             bool
	usages           []cmapi.KeyUsage
}

// badSecret is an AtlasIssuer whose Secret cannot work.
type badSecret struct {
	name, want string
	// data is the Secret's data; nil means no Secret at all.
	data map[string][]byte
}

type csrOpts struct {
	key     crypto.Signer
	subject pkix.Name
	dns     []string
	emails  []string
}

func makeCSR(o csrOpts) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: o.subject, DNSNames: o.dns, EmailAddresses: o.emails}, o.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// badRequests is the corpus of malformed CSRs and policy violations
// against the fake's default policy (RSA 2048-4096, at most 100 DNS names,
// 10 e-mail addresses and 10 OUs, two-letter countries, no CA usages,
// server/client/code-signing/e-mail protection EKUs only).
func badRequests() ([]badRequest, error) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024) //nolint:gosec // G403: the undersized key is the bad input under test.
	if err != nil {
		return nil, err
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	good, err := makeCSR(csrOpts{key: rsaKey, dns: []string{"good.chaos.example"}})
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(good)
	tampered := append([]byte{}, block.Bytes...)
	tampered[len(tampered)-1] ^= 0xff
	var names []string
	for i := range 101 {
		names = append(names, fmt.Sprintf("n%03d.chaos.example", i))
	}
	var emails []string
	for i := range 11 {
		emails = append(emails, fmt.Sprintf("m%02d@chaos.example", i))
	}
	var ous []string
	for i := range 11 {
		ous = append(ous, fmt.Sprintf("ou%02d", i))
	}
	junk := make([]byte, 300)
	_, _ = rand.Read(junk)
	certPEM := selfSigned(rsaKey, "not a request", time.Now().Add(time.Hour))

	out := []badRequest{
		{name: "not-pem", kind: "csr", want: "csr: is not PEM", csr: []byte("this is not a certificate request")},
		{name: "garbage-der", kind: "csr", want: "csr: cannot be parsed", csr: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: junk})},
		{name: "certificate-not-csr", kind: "csr", want: "csr: holds a PEM block", csr: certPEM},
		{name: "bad-signature", kind: "csr", want: "signature does not verify", csr: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered})},
		{name: "two-blocks", kind: "csr", want: "csr: has data after", csr: append(append([]byte{}, good...), good...)},
		{name: "is-ca", kind: "policy", want: "isCA", csr: good, isCA: true},
		{name: "ecdsa-key-rsa-account", kind: "policy", want: "public_key.key_type"},
		{name: "rsa-1024", kind: "policy", want: "public_key.key_length"},
		{name: "ed25519-key", kind: "policy", want: "Ed25519"},
		{name: "101-dns-names", kind: "policy", want: "san.dns_names"},
		{name: "11-emails", kind: "policy", want: "san.email"},
		{name: "11-ous", kind: "policy", want: "subject_dn.organizational_unit"},
		{name: "bad-country", kind: "policy", want: "subject_dn.country"},
		{name: "ca-key-usage", kind: "policy", want: "key_usages.", csr: good, usages: []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageCertSign}},
		{name: "timestamping-eku", kind: "policy", want: "extended_key_usages", csr: good, usages: []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageTimestamping}},
	}
	gen := map[string]csrOpts{
		"ecdsa-key-rsa-account": {key: ec, dns: []string{"ec.chaos.example"}},
		"rsa-1024":              {key: small, dns: []string{"small.chaos.example"}},
		"ed25519-key":           {key: ed, dns: []string{"ed.chaos.example"}},
		"101-dns-names":         {key: rsaKey, dns: names},
		"11-emails":             {key: rsaKey, dns: []string{"mail.chaos.example"}, emails: emails},
		"11-ous":                {key: rsaKey, subject: pkix.Name{OrganizationalUnit: ous}, dns: []string{"ou.chaos.example"}},
		"bad-country":           {key: rsaKey, subject: pkix.Name{Country: []string{"usa"}}, dns: []string{"c.chaos.example"}},
	}
	for i := range out {
		if o, ok := gen[out[i].name]; ok {
			if out[i].csr, err = makeCSR(o); err != nil {
				return nil, fmt.Errorf("%s: %w", out[i].name, err)
			}
		}
	}
	return out, nil
}

func selfSigned(key crypto.Signer, cn string, notAfter time.Time) []byte {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// kdfBomb re-encodes an encrypted PKCS#8 key with KDF parameters no one
// could afford to derive: a Secret like this once hung or crashed the
// manager.
func kdfBomb(key crypto.Signer, password []byte, scrypt bool) ([]byte, error) {
	der, err := pkcs8.MarshalPrivateKey(key, password, nil)
	if err != nil {
		return nil, err
	}
	var info struct {
		Alg  pkix.AlgorithmIdentifier
		Data []byte
	}
	var pbes2 struct{ KDF, Scheme pkix.AlgorithmIdentifier }
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, err
	}
	if _, err := asn1.Unmarshal(info.Alg.Parameters.FullBytes, &pbes2); err != nil {
		return nil, err
	}
	var params []byte
	if scrypt {
		params, err = asn1.Marshal(struct {
			Salt    []byte
			N, R, P int
		}{[]byte("chaos-salt"), 1 << 30, 8, 1})
		pbes2.KDF.Algorithm = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}
	} else {
		params, err = asn1.Marshal(struct {
			Salt []byte
			N    int
			PRF  pkix.AlgorithmIdentifier
		}{[]byte("chaos-salt"), 1<<31 - 1, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}, Parameters: asn1.NullRawValue}})
	}
	if err != nil {
		return nil, err
	}
	pbes2.KDF.Parameters = asn1.RawValue{FullBytes: params}
	if info.Alg.Parameters.FullBytes, err = asn1.Marshal(pbes2); err != nil {
		return nil, err
	}
	out, err := asn1.Marshal(info)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: out}), nil
}

// badSecrets is the corpus of broken issuer Secrets. Each value that would
// be secret in a real Secret is a canary, so the leak scan proves that no
// error message repeats it.
func (r *run) badSecrets() ([]badSecret, error) {
	good, err := r.env.CredentialsSecret(nsBadInput, "x")
	if err != nil {
		return nil, err
	}
	with := func(over map[string][]byte, drop ...string) map[string][]byte {
		d := map[string][]byte{}
		maps.Copy(d, good.Data)
		maps.Copy(d, over)
		for _, k := range drop {
			delete(d, k)
		}
		return d
	}
	block, _ := pem.Decode(r.canaries.keyPEM)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer := key.(crypto.Signer)
	wrongPass := "chaos-canary-wrongpass-" + randomHex(12)
	r.canaries.add("key-password", wrongPass)
	wrongSecret := "chaos-canary-wrongsecret-" + randomHex(12)
	r.canaries.add("api-secret", wrongSecret)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	otherDER, _ := x509.MarshalPKCS8PrivateKey(other)
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: otherDER})
	r.canaries.addKey(otherPEM)
	// A "key" whose body is a canary, to prove parse errors do not echo it.
	junkKey := []byte("-----BEGIN PRIVATE KEY-----\n" + base64.StdEncoding.EncodeToString([]byte("chaos-canary-junk-key-"+randomHex(24))) + "\n-----END PRIVATE KEY-----\n")
	r.canaries.addKey(junkKey)
	pbkdf2Bomb, err := kdfBomb(signer, []byte(r.canaries.keyPassword), false)
	if err != nil {
		return nil, err
	}
	scryptBomb, err := kdfBomb(signer, []byte(r.canaries.keyPassword), true)
	if err != nil {
		return nil, err
	}
	otherCert := selfSigned(other, "untrusted client", time.Now().Add(24*time.Hour))
	expiredCert := selfSigned(other, "expired client", time.Now().Add(-time.Hour))
	pw := []byte(r.canaries.keyPassword)
	return []badSecret{
		{name: "secret-missing", want: credentials.ReasonSecretNotFound},
		{name: "key-missing", want: credentials.ReasonSecretKeyMissing, data: with(nil, credentials.KeyPrivateKey)},
		{name: "empty-api-secret", want: credentials.ReasonSecretKeyInvalid, data: with(map[string][]byte{credentials.KeyAPISecret: []byte(" \n")})},
		{name: "garbage-key", want: credentials.ReasonSecretKeyInvalid, data: with(map[string][]byte{credentials.KeyPrivateKey: junkKey})},
		{name: "garbage-cert", want: credentials.ReasonSecretKeyInvalid, data: with(map[string][]byte{credentials.KeyCertificate: []byte("not a certificate")})},
		{name: "key-mismatch", want: credentials.ReasonKeyMismatch, data: with(map[string][]byte{credentials.KeyPrivateKey: otherPEM})},
		{name: "encrypted-no-password", want: credentials.ReasonKeyPasswordRequired, data: with(map[string][]byte{credentials.KeyPrivateKey: r.canaries.encKeyPEM})},
		{name: "wrong-password", want: credentials.ReasonKeyPasswordIncorrect, data: with(map[string][]byte{credentials.KeyPrivateKey: r.canaries.encKeyPEM, credentials.KeyPassword: []byte(wrongPass)})},
		{name: "pbkdf2-bomb", want: "PBKDF2 iterations", data: with(map[string][]byte{credentials.KeyPrivateKey: pbkdf2Bomb, credentials.KeyPassword: pw})},
		{name: "scrypt-bomb", want: "scrypt", data: with(map[string][]byte{credentials.KeyPrivateKey: scryptBomb, credentials.KeyPassword: pw})},
		{name: "wrong-api-secret", want: "CredentialsRejected", data: with(map[string][]byte{credentials.KeyAPISecret: []byte(wrongSecret)})},
		{name: "untrusted-client-cert", want: "ClientCertificateRejected", data: with(map[string][]byte{credentials.KeyCertificate: otherCert, credentials.KeyPrivateKey: otherPEM})},
		{name: "expired-client-cert", want: credentials.ReasonCredentialsExpired, data: with(map[string][]byte{credentials.KeyCertificate: expiredCert, credentials.KeyPrivateKey: otherPEM})},
	}, nil
}

// badInput creates every malformed request against a working issuer and a
// request against every broken issuer, then checks each got a condition
// naming its cause and that nothing was POSTed.
func (r *run) badInput(ctx context.Context) error {
	start := time.Now()
	if err := r.env.Admin.SetFaults(ctx, fake.Faults{}); err != nil {
		return err
	}
	reqs, err := badRequests()
	if err != nil {
		return err
	}
	secrets, err := r.badSecrets()
	if err != nil {
		return err
	}
	// A working issuer for the malformed requests.
	if _, err := r.readyIssuer(ctx, nsBadInput, false); err != nil {
		return err
	}
	before, err := r.env.Admin.Stats(ctx)
	if err != nil {
		return err
	}

	validCSR, err := makeCSR(csrOpts{key: mustRSA(), dns: []string{"valid.chaos.example"}})
	if err != nil {
		return err
	}
	newCR := func(name, issuer string, csr []byte, isCA bool, usages []cmapi.KeyUsage) *cmapi.CertificateRequest {
		if usages == nil {
			usages = []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth}
		}
		return &cmapi.CertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsBadInput, Name: name},
			Spec: cmapi.CertificateRequestSpec{
				Request: csr, IsCA: isCA, Usages: usages,
				Duration:  &metav1.Duration{Duration: 90 * 24 * time.Hour},
				IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "AtlasIssuer", Name: issuer},
			},
		}
	}
	for _, b := range reqs {
		if err := r.env.Client.Create(ctx, newCR("req-"+b.name, "atlas", b.csr, b.isCA, b.usages)); err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
	}
	for _, b := range secrets {
		secretName := "creds-" + b.name
		if b.data != nil {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: nsBadInput, Name: secretName}, Data: b.data}
			if err := r.env.Client.Create(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
		}
		spec, err := r.env.IssuerSpec(secretName)
		if err != nil {
			return err
		}
		iss := &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: nsBadInput, Name: b.name}, Spec: spec}
		if err := r.env.Client.Create(ctx, iss); err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		if err := r.env.Client.Create(ctx, newCR("secret-"+b.name, b.name, validCSR, false, nil)); err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
	}

	detail := &BadInputDetail{}
	r.report.Details.BadInput = detail
	deadline := time.Now().Add(2 * time.Minute)
	for {
		detail.Cases = detail.Cases[:0]
		ok := 0
		for _, b := range reqs {
			c := BadInputCase{Name: b.name, Kind: b.kind, WantCause: b.want}
			cr := &cmapi.CertificateRequest{}
			if err := r.env.Get(ctx, nsBadInput, "req-"+b.name, cr); err != nil {
				return err
			}
			cond := readyCondition(cr)
			if cond != nil {
				c.Condition = fmt.Sprintf("%s/%s: %s", cond.Status, cond.Reason, cond.Message)
				c.OK = cond.Status == cmmeta.ConditionFalse && cond.Reason == cmapi.CertificateRequestReasonFailed && strings.Contains(cond.Message, b.want)
			}
			detail.Cases = append(detail.Cases, c)
		}
		for _, b := range secrets {
			c := BadInputCase{Name: b.name, Kind: "secret", WantCause: b.want}
			iss := &v1alpha1.AtlasIssuer{}
			if err := r.env.Get(ctx, nsBadInput, b.name, iss); err != nil {
				return err
			}
			cr := &cmapi.CertificateRequest{}
			if err := r.env.Get(ctx, nsBadInput, "secret-"+b.name, cr); err != nil {
				return err
			}
			var issMsg string
			for _, ic := range iss.Status.Conditions {
				if ic.Type == "Ready" {
					issMsg = fmt.Sprintf("%s/%s: %s", ic.Status, ic.Reason, ic.Message)
				}
			}
			crCond := readyCondition(cr)
			if crCond != nil {
				c.Condition = fmt.Sprintf("issuer %s; request %s/%s: %s", issMsg, crCond.Status, crCond.Reason, crCond.Message)
				c.OK = strings.Contains(issMsg, b.want) && strings.HasPrefix(issMsg, "False/") &&
					crCond.Status == cmmeta.ConditionFalse && crCond.Reason == cmapi.CertificateRequestReasonPending &&
					strings.Contains(crCond.Message, b.want)
			} else {
				c.Condition = "issuer " + issMsg
			}
			detail.Cases = append(detail.Cases, c)
		}
		for _, c := range detail.Cases {
			if c.OK {
				ok++
			}
		}
		if ok == len(detail.Cases) || time.Now().After(deadline) {
			r.report.BadInputCases, r.report.BadInputOK = len(detail.Cases), ok
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	// Anything queued would have been sent by now.
	time.Sleep(3 * time.Second)
	after, err := r.env.Admin.Stats(ctx)
	if err != nil {
		return err
	}
	detail.Posts = after.Calls[fake.OpRequestCertificate] - before.Calls[fake.OpRequestCertificate]
	if detail.Posts != 0 {
		r.report.BadInputOK = 0
	}
	for _, c := range detail.Cases {
		if !c.OK {
			r.logf("bad input %s (%s): want %q, got %s", c.Name, c.Kind, c.WantCause, c.Condition)
		}
	}
	r.logf("bad input: %d of %d cases named their cause, %d POSTs, in %s", r.report.BadInputOK, r.report.BadInputCases, detail.Posts, time.Since(start).Round(time.Second))
	return nil
}

func readyCondition(cr *cmapi.CertificateRequest) *cmapi.CertificateRequestCondition {
	for i, c := range cr.Status.Conditions {
		if c.Type == cmapi.CertificateRequestConditionReady {
			return &cr.Status.Conditions[i]
		}
	}
	return nil
}

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}
