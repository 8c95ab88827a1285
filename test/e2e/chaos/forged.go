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
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

const (
	// hostileCerts is how many Certificates the hostile tenant asks its
	// hostile Atlas for at once: twice the chaos managers' Atlas slots.
	hostileCerts = 32
	// hostileIssuers are further issuers the hostile tenant creates once
	// its Atlas is hostile, so that issuer checks (trust chain included)
	// meet it too.
	hostileIssuers = 2
	// seededCerts is the shared account's history: the certificates a
	// lookup from 1970 pages through.
	seededCerts = 3000
)

// victims issues the normal certificates of the shared account and returns
// the first one's leaf: the certificate forged serials point at. The
// shared account's calls for them are the baseline of a normal issuance.
func (r *run) victims(ctx context.Context, ts *tenantSetup, d *TenantsDetail) (*x509.Certificate, error) {
	before, err := ts.shared.Admin.Stats(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, victims)
	for i := range victims {
		names[i] = fmt.Sprintf("victim-%d", i)
		crt := framework.Certificate(nsGood, names[i], "AtlasClusterIssuer", sharedIssuer, dnsName(nsGood, names[i]))
		ts.times.markCreated(names[i])
		if err := r.env.Client.Create(ctx, crt); err != nil {
			return nil, err
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		return ts.times.allReady(names), nil
	}); err != nil {
		return nil, fmt.Errorf("victim certificates not Ready: %w", err)
	}
	// The last GET may still be counted after Ready.
	time.Sleep(time.Second)
	after, err := ts.shared.Admin.Stats(ctx)
	if err != nil {
		return nil, err
	}
	d.NormalCalls = callsSince(before, after)
	// The account gets a history only now, so that the baseline is a
	// plain issuance's.
	d.SeededCertificates = seededCerts
	if err := ts.shared.Admin.Seed(ctx, seededCerts); err != nil {
		return nil, err
	}
	sec := &corev1.Secret{}
	if err := r.env.Get(ctx, nsGood, names[0]+"-tls", sec); err != nil {
		return nil, err
	}
	return framework.VerifySecret(sec, dnsName(nsGood, names[0]))
}

// forgery is one kind of forged request.
type forgery struct {
	name string
	// victimKey puts the victim's public key in the CSR, whose signature
	// then does not verify: the requester does not hold the victim's key.
	victimKey   bool
	annotations func(victimSerial, ownFingerprint string, now time.Time) map[string]string
}

var forgeries = []forgery{
	{name: "serial-victim-key", victimKey: true, annotations: func(serial, _ string, _ time.Time) map[string]string {
		return map[string]string{v1alpha1.SerialAnnotation: serial}
	}},
	{name: "serial-own-key", annotations: func(serial, _ string, _ time.Time) map[string]string {
		return map[string]string{v1alpha1.SerialAnnotation: serial}
	}},
	{name: "intent-1970", annotations: func(_, fp string, _ time.Time) map[string]string {
		return map[string]string{v1alpha1.IntentAnnotation: "1/" + fp}
	}},
	{name: "intent-future", annotations: func(_, fp string, now time.Time) map[string]string {
		return map[string]string{v1alpha1.IntentAnnotation: strconv.FormatInt(now.AddDate(1, 0, 0).Unix(), 10) + "/" + fp}
	}},
}

// forgedPerKind is how many requests of each forgery are made.
const forgedPerKind = 2

// csrFields are the parts of a PKCS#10 request, kept as DER.
type csrFields struct {
	Info   asn1.RawValue
	SigAlg asn1.RawValue
	Sig    asn1.RawValue
}

// csrInfo is the signed part of a PKCS#10 request.
type csrInfo struct {
	Version    int
	Subject    asn1.RawValue
	PublicKey  asn1.RawValue
	Attributes asn1.RawValue
}

// withPublicKey returns the CSR with its public key replaced and the
// signature left as it was: a request for a key the requester does not
// hold, whose signature does not verify. Go refuses to sign such a
// request, so the DER is edited.
func withPublicKey(csrDER []byte, pub crypto.PublicKey) ([]byte, error) {
	var outer csrFields
	if _, err := asn1.Unmarshal(csrDER, &outer); err != nil {
		return nil, err
	}
	var info csrInfo
	if _, err := asn1.Unmarshal(outer.Info.FullBytes, &info); err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	info.PublicKey = asn1.RawValue{FullBytes: spki}
	if outer.Info.FullBytes, err = asn1.Marshal(info); err != nil {
		return nil, err
	}
	return asn1.Marshal(outer)
}

// forgedRequest makes one CertificateRequest of the hostile tenant through
// the shared issuer, carrying forged annotations.
func forgedRequest(f forgery, i int, victim *x509.Certificate) (*cmapi.CertificateRequest, error) {
	name := fmt.Sprintf("forged-%s-%d", f.name, i)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{dnsName(nsHostile, name)}}, key)
	if err != nil {
		return nil, err
	}
	var pub crypto.PublicKey = &key.PublicKey
	if f.victimKey {
		pub = victim.PublicKey
		if der, err = withPublicKey(der, pub); err != nil {
			return nil, err
		}
	}
	fp, err := fake.PublicKeyFingerprint(pub)
	if err != nil {
		return nil, err
	}
	return &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: nsHostile, Name: name,
			Annotations: f.annotations(fmt.Sprintf("%032X", victim.SerialNumber), fp, time.Now())},
		Spec: cmapi.CertificateRequestSpec{
			Request:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			Usages:    []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth},
			Duration:  &metav1.Duration{Duration: 90 * 24 * time.Hour},
			IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "AtlasClusterIssuer", Name: sharedIssuer},
		},
	}, nil
}

// hostileTenant starts the hostile tenant: Certificates through its hostile
// Atlas, and forged requests through the shared issuer, watched for
// forgedWindow. The channel reports when the forged window is over.
func (r *run) hostileTenant(ctx context.Context, ts *tenantSetup, d *TenantsDetail, victim *x509.Certificate) (<-chan error, error) {
	d.HostileCerts = hostileCerts
	for i := range hostileIssuers {
		sec, err := ts.hostile.CredentialsSecret(nsHostile, fmt.Sprintf("atlas-check-%d-credentials", i))
		if err != nil {
			return nil, err
		}
		spec, err := ts.hostile.IssuerSpec(sec.Name)
		if err != nil {
			return nil, err
		}
		if err := r.env.Client.Create(ctx, sec); err != nil {
			return nil, err
		}
		iss := &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: nsHostile, Name: fmt.Sprintf("atlas-check-%d", i)}, Spec: spec}
		if err := r.env.Client.Create(ctx, iss); err != nil {
			return nil, err
		}
	}
	for i := range hostileCerts {
		name := fmt.Sprintf("hostile-%03d", i)
		crt := framework.Certificate(nsHostile, name, "AtlasIssuer", "atlas", dnsName(nsHostile, name))
		crt.Spec.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256}
		if err := r.env.Client.Create(ctx, crt); err != nil {
			return nil, err
		}
	}
	var forged []*cmapi.CertificateRequest
	for _, f := range forgeries {
		for i := range forgedPerKind {
			cr, err := forgedRequest(f, i, victim)
			if err != nil {
				return nil, err
			}
			d.Forged = append(d.Forged, ForgedCase{Name: cr.Name, Forgery: f.name})
			forged = append(forged, cr)
		}
	}
	d.ForgedRequests = len(forged)
	d.ForgedCallsBound = forgedCallsPerRequest * len(forged)
	before, err := ts.shared.Admin.Stats(ctx)
	if err != nil {
		return nil, err
	}
	for _, cr := range forged {
		if err := r.env.Client.Create(ctx, cr); err != nil {
			return nil, err
		}
	}
	done := make(chan error, 1)
	go func() {
		done <- r.watchForged(ctx, ts, d, victim, before)
	}()
	return done, nil
}

// watchForged follows the forged requests until all have ended or the
// window has passed, then judges them.
func (r *run) watchForged(ctx context.Context, ts *tenantSetup, d *TenantsDetail, victim *x509.Certificate, before fake.AdminStats) error {
	deadline := time.Now().Add(forgedWindow)
	var crs []cmapi.CertificateRequest
	for {
		crs = crs[:0]
		ended := 0
		for _, fc := range d.Forged {
			cr := &cmapi.CertificateRequest{}
			if err := r.env.Get(ctx, nsHostile, fc.Name, cr); err != nil {
				return err
			}
			if len(cr.Status.Certificate) > 0 || cr.Status.FailureTime != nil || isDenied(cr) {
				ended++
			}
			crs = append(crs, *cr)
		}
		if ended == len(d.Forged) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	after, err := ts.shared.Admin.Stats(ctx)
	if err != nil {
		return err
	}
	d.ForgedCalls = callsSince(before, after)
	r.report.ForgedAtlasCalls = extraCalls(d.ForgedCalls, len(d.Forged), d.NormalCalls, d.Victims)
	victimPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: victim.Raw})
	for i := range crs {
		cr := &crs[i]
		fc := &d.Forged[i]
		fc.Outcome = requestOutcome(cr)
		if fc.Forgery == forgeries[0].name {
			// The positive control: the victim's certificate is what a
			// misissuance would return to this request.
			diff, err := misissued(cr.Spec.Request, victimPEM)
			d.MisissueControl = err == nil && diff != ""
		}
		if len(cr.Status.Certificate) == 0 {
			continue
		}
		diff, err := misissued(cr.Spec.Request, cr.Status.Certificate)
		if err != nil {
			diff = err.Error()
		}
		if diff != "" {
			fc.Misissued = diff
			r.report.ForgedMisissued++
		}
	}
	return nil
}

func isDenied(cr *cmapi.CertificateRequest) bool {
	for _, c := range cr.Status.Conditions {
		if c.Type == cmapi.CertificateRequestConditionDenied && c.Status == cmmeta.ConditionTrue {
			return true
		}
	}
	return false
}

// requestOutcome is a request's Ready condition in one line.
func requestOutcome(cr *cmapi.CertificateRequest) string {
	if c := readyCondition(cr); c != nil {
		return fmt.Sprintf("%s/%s: %s", c.Status, c.Reason, c.Message)
	}
	if isDenied(cr) {
		return "Denied"
	}
	return "no Ready condition"
}

// hostileReady counts the hostile tenant's Ready Certificates.
func (r *run) hostileReady(ctx context.Context, d *TenantsDetail) error {
	var certs cmapi.CertificateList
	if err := r.env.Client.List(ctx, &certs, client.InNamespace(nsHostile)); err != nil {
		return err
	}
	for i := range certs.Items {
		if framework.IsReady(&certs.Items[i]) {
			d.HostileReady++
		}
	}
	return nil
}

// cleanHostile deletes the hostile tenant's requests and issuer, so that
// the managers of later runs do not inherit them.
func (r *run) cleanHostile(ctx context.Context) error {
	for _, obj := range []client.Object{&cmapi.Certificate{}, &cmapi.CertificateRequest{}, &v1alpha1.AtlasIssuer{}} {
		if err := r.env.Client.DeleteAllOf(ctx, obj, client.InNamespace(nsHostile)); err != nil {
			return err
		}
	}
	return nil
}

// rssSampler follows a process's resident memory.
type rssSampler struct {
	quit chan struct{}
	done chan struct{}
	peak int64
	n    int
}

// startRSSSampler reads /proc/<pid>/status every 100 ms until stop.
func startRSSSampler(pid int) *rssSampler {
	s := &rssSampler{quit: make(chan struct{}), done: make(chan struct{})}
	path := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		defer close(s.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if b, err := os.ReadFile(path); err == nil {
				if kib, err := rssKiB(b); err == nil {
					s.peak = max(s.peak, kib)
					s.n++
				}
			}
			select {
			case <-s.quit:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak in KiB and the samples read.
func (s *rssSampler) stop() (peakKiB int64, samples int) {
	close(s.quit)
	<-s.done
	return s.peak, s.n
}
