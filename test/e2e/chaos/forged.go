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

// forgedRequests makes the forged requests and, for each, the same request
// without the forged annotations: what the forged one may cost at most.
func forgedRequests(victim *x509.Certificate, d *TenantsDetail) (forged, baseline []*cmapi.CertificateRequest, err error) {
	for _, f := range forgeries {
		for i := range forgedPerKind {
			cr, err := forgedRequest(f, i, victim)
			if err != nil {
				return nil, nil, err
			}
			d.Forged = append(d.Forged, ForgedCase{Name: cr.Name, Forgery: f.name})
			forged = append(forged, cr)
			plain := cr.DeepCopy()
			plain.Name = "un" + cr.Name
			plain.Annotations = nil
			baseline = append(baseline, plain)
		}
	}
	d.ForgedRequests, d.BaselineRequests = len(forged), len(baseline)
	return forged, baseline, nil
}

// forgedBaseline runs the unforged copies of the forged requests on the
// shared issuer, until all have ended, and counts the shared account's
// calls for them. It runs before the tenants are timed, so that it slows
// neither half; the account has no faults, so the calls do not depend on
// what else runs.
func (r *run) forgedBaseline(ctx context.Context, ts *tenantSetup, d *TenantsDetail, baseline []*cmapi.CertificateRequest) error {
	crs, calls, err := r.runRequests(ctx, ts, baseline)
	if err != nil {
		return err
	}
	d.BaselineCalls = calls
	for i := range crs {
		if requestEnded(&crs[i]) {
			d.BaselineEnded++
		}
	}
	return nil
}

// hostileTenant starts the hostile tenant: Certificates through its hostile
// Atlas, and forged requests through the shared issuer, watched for
// forgedWindow. The channel reports when the forged window is over.
func (r *run) hostileTenant(ctx context.Context, ts *tenantSetup, d *TenantsDetail, victim *x509.Certificate, forged []*cmapi.CertificateRequest) (<-chan error, error) {
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
	done := make(chan error, 1)
	go func() {
		done <- r.watchForged(ctx, ts, d, victim, forged)
	}()
	return done, nil
}

// watchForged runs the forged requests until all have ended or the window
// has passed, counting the shared account's calls meanwhile, then judges
// them against the unforged baseline.
func (r *run) watchForged(ctx context.Context, ts *tenantSetup, d *TenantsDetail, victim *x509.Certificate, forged []*cmapi.CertificateRequest) error {
	crs, calls, err := r.runRequests(ctx, ts, forged)
	if err != nil {
		return err
	}
	d.ForgedCalls = calls
	r.report.ForgedAtlasCalls = extraCalls(d.ForgedCalls, d.BaselineCalls)
	victimPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: victim.Raw})
	for i := range crs {
		cr := &crs[i]
		fc := &d.Forged[i]
		fc.Outcome = requestOutcome(cr)
		if fc.Forgery == forgeries[1].name && d.MisissueControls == nil {
			// The positive controls: what a misissuance would return to
			// this request, another request's certificate (the victim's)
			// and one for the very names it asks, for another key.
			if d.MisissueControls, err = misissueControls(cr.Spec.Request, victimPEM); err != nil {
				return err
			}
			d.MisissueControl = allTrue(d.MisissueControls)
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

// runRequests creates requests on the shared issuer and follows them until
// all have ended or forgedWindow has passed, and returns them as they
// ended with the shared account's calls meanwhile.
func (r *run) runRequests(ctx context.Context, ts *tenantSetup, reqs []*cmapi.CertificateRequest) ([]cmapi.CertificateRequest, map[string]int, error) {
	before, err := ts.shared.Admin.Stats(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, cr := range reqs {
		if err := r.env.Client.Create(ctx, cr); err != nil {
			return nil, nil, err
		}
	}
	deadline := time.Now().Add(forgedWindow)
	var crs []cmapi.CertificateRequest
	for {
		crs = crs[:0]
		ended := 0
		for _, want := range reqs {
			cr := &cmapi.CertificateRequest{}
			if err := r.env.Get(ctx, want.Namespace, want.Name, cr); err != nil {
				return nil, nil, err
			}
			if requestEnded(cr) {
				ended++
			}
			crs = append(crs, *cr)
		}
		if ended == len(reqs) || time.Now().After(deadline) {
			break
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return nil, nil, err
		}
	}
	// A call under way when the last request ended is counted once it
	// ends.
	if err := sleepCtx(ctx, time.Second); err != nil {
		return nil, nil, err
	}
	after, err := ts.shared.Admin.Stats(ctx)
	if err != nil {
		return nil, nil, err
	}
	return crs, callsSince(before, after), nil
}

// requestEnded reports a request issued, failed or denied.
func requestEnded(cr *cmapi.CertificateRequest) bool {
	return len(cr.Status.Certificate) > 0 || cr.Status.FailureTime != nil || isDenied(cr)
}

func allTrue(m map[string]bool) bool {
	for _, v := range m {
		if !v {
			return false
		}
	}
	return len(m) > 0
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
