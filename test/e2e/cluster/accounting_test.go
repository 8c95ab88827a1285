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

package cluster_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/issuance"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// testAccounting sets what the fake issued over the whole run against what
// the cluster holds and what cert-manager asked for (see ledger), and
// counts the Certificates that did not get a certificate of the fake's
// (countLost). Each count first proves it sees a planted case: a
// Certificate for an issuer that does not exist is lost; two certificates
// for web.example.com posted straight to the fake for one key are one
// duplicate, two orphans and two certificates beyond what cert-manager
// asked for, and none of these once revoked. The report gives the counts
// without the planted cases.
func (s *suite) testAccounting(st *stack) func(*testing.T) {
	return func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()

		issued, err := st.admin.Issued(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.rep.Issued = len(issued)
		lost := s.countLost(ctx, t, st, issued)
		base := s.ledger(ctx, t, st)
		stats, err := st.admin.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.rep.Duplicates, s.rep.Lost = stats.Duplicates, len(lost)
		s.rep.OrphanedCertificates, s.rep.OrphansReissuedByCertManager = len(base.Orphans)-len(base.Reissued), len(base.Reissued)
		s.rep.IssuedBeyondRequests = base.BeyondCount
		if s.rep.Duplicates != 0 {
			t.Errorf("%d duplicate issuances at the fake over the run: %v", s.rep.Duplicates, stats.IssuedPerKey)
		}
		for _, l := range lost {
			t.Errorf("lost Certificate %s", l)
		}
		for _, b := range base.Beyond {
			t.Errorf("issued beyond what cert-manager asked for: %s", b)
		}
		s.explainOrphans(ctx, t, st, issued, base)

		// The lost count sees a Certificate that never becomes Ready.
		planted := framework.Certificate(testNamespace, "planted-lost", "AtlasIssuer", "no-such-issuer", "planted-lost.example.com")
		if err := st.c.Create(ctx, planted); err != nil {
			t.Fatal(err)
		}
		withPlanted := s.countLost(ctx, t, st, issued)
		if err := st.c.Delete(ctx, planted); err != nil {
			t.Error(err)
		}
		if want := append(keys(lost), testNamespace+"/planted-lost"); !sameSet(keys(withPlanted), want) {
			t.Errorf("with a planted lost Certificate the count found %v, want %v", withPlanted, want)
		}

		// The other counts see certificates posted straight to the fake
		// and kept by no one.
		serials, err := plantOrphans(ctx, st, plantedName)
		if err != nil {
			t.Fatal(err)
		}
		after, err := st.admin.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if after.Duplicates != stats.Duplicates+1 {
			t.Errorf("two certificates posted for one key moved the duplicates from %d to %d, want +1", stats.Duplicates, after.Duplicates)
		}
		with := s.ledger(ctx, t, st)
		if want := append(slices.Clone(base.Orphans), serials...); !sameSet(with.Orphans, want) {
			t.Errorf("with two planted orphans the count found %v, want %v", with.Orphans, want)
		}
		if with.BeyondCount != base.BeyondCount+2 || !sameSet(with.Reissued, base.Reissued) {
			t.Errorf("with two certificates planted for %s: %d beyond requests (%v), %v reissued; want %d beyond, %v reissued",
				plantedName, with.BeyondCount, with.Beyond, with.Reissued, base.BeyondCount+2, base.Reissued)
		}
		if err := revokePlanted(ctx, st, serials); err != nil {
			t.Fatal(err)
		}
		if got := s.ledger(ctx, t, st); !sameSet(got.Orphans, base.Orphans) || got.BeyondCount != base.BeyondCount {
			t.Errorf("with the planted certificates revoked: orphans %v, %d beyond requests; want %v, %d", got.Orphans, got.BeyondCount, base.Orphans, base.BeyondCount)
		}
	}
}

// plantedName is the DNS name of the certificates the accounting posts
// straight to the fake: scenario 1's Certificate's.
const plantedName = "web.example.com"

// ledger reads the fake's certificates, the certificates the cluster's
// Secrets and Kubernetes CSRs hold and its Certificates, and reckons them.
func (s *suite) ledger(ctx context.Context, t *testing.T, st *stack) ledger {
	t.Helper()
	issued, err := st.admin.Issued(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]bool{}
	secrets := &corev1.SecretList{}
	if err := st.c.List(ctx, secrets); err != nil {
		t.Fatal(err)
	}
	for _, sec := range secrets.Items {
		if k, ok := leafSerial(sec.Data[corev1.TLSCertKey]); ok {
			held[k] = true
		}
	}
	csrs := &certificatesv1.CertificateSigningRequestList{}
	if err := st.c.List(ctx, csrs); err != nil {
		t.Fatal(err)
	}
	for _, csr := range csrs.Items {
		if k, ok := leafSerial(csr.Status.Certificate); ok {
			held[k] = true
		}
	}
	list := &cmapi.CertificateList{}
	if err := st.c.List(ctx, list); err != nil {
		t.Fatal(err)
	}
	var crts []certView
	for _, crt := range list.Items {
		v := certView{key: crt.Namespace + "/" + crt.Name, names: crt.Spec.DNSNames}
		if crt.Status.Revision != nil {
			v.revision = *crt.Status.Revision
		}
		crts = append(crts, v)
	}
	return reckon(issued, held, crts)
}

// ledger is the fake's certificates set against what the cluster holds
// and what cert-manager asked for.
type ledger struct {
	// Orphans are the serials of the certificates, neither revoked nor
	// rejected, that no Secret and no Kubernetes CSR holds.
	Orphans []string
	// Reissued are the Orphans for the names of a Certificate for which
	// cert-manager asked for as many certificates as the fake issued, or
	// more (its status.revision counts them), and whose Secret holds
	// another of them: a later revision replaced each in the Secret.
	Reissued []string
	// Beyond says, for each Certificate, how many certificates the fake
	// issued for its names beyond the revisions cert-manager asked for,
	// and names each orphan that no Certificate's names account for;
	// BeyondCount is the number of such certificates.
	Beyond      []string
	BeyondCount int
}

// certView is what reckon reads of a Certificate.
type certView struct {
	key      string
	names    []string
	revision int
}

// reckon sets issued against held (serials as serialKey spells them) and
// crts. A certificate belongs to the Certificate whose DNS names it
// carries, all of them and no other; revoked and rejected ones are left
// out, so that revoking is how a certificate is taken off the books.
func reckon(issued []fake.IssuedCertificate, held map[string]bool, crts []certView) ledger {
	nameKey := func(names []string) string {
		n := slices.Clone(names)
		sort.Strings(n)
		return strings.Join(n, ",")
	}
	byNames := map[string]*certView{}
	for i := range crts {
		byNames[nameKey(crts[i].names)] = &crts[i]
	}
	count, holds := map[*certView]int{}, map[*certView]bool{}
	var l ledger
	var orphanOf []*certView
	for _, c := range issued {
		if c.Revoked || c.Rejected {
			continue
		}
		owner := byNames[nameKey(c.DNSNames)]
		if owner != nil {
			count[owner]++
		}
		if k, ok := serialKey(c.Serial); ok && held[k] {
			holds[owner] = true
			continue
		}
		l.Orphans = append(l.Orphans, c.Serial)
		orphanOf = append(orphanOf, owner)
		if owner == nil {
			l.BeyondCount++
			l.Beyond = append(l.Beyond, fmt.Sprintf("%s for %v: no Certificate names exactly these", c.Serial, c.DNSNames))
		}
	}
	for i, serial := range l.Orphans {
		if o := orphanOf[i]; o != nil && holds[o] && count[o] <= o.revision {
			l.Reissued = append(l.Reissued, serial)
		}
	}
	for i := range crts {
		v := &crts[i]
		if n := count[v]; n > v.revision {
			l.BeyondCount += n - v.revision
			l.Beyond = append(l.Beyond, fmt.Sprintf("%s: %d certificates for %d revisions", v.key, n, v.revision))
		}
	}
	return l
}

// explainOrphans reports each orphan with what the cluster still tells of
// it: the Certificate for its DNS names, its revision and events (where
// cert-manager says why it issued again), and the CertificateRequest that
// holds it, if one does. An orphan that cert-manager replaced is logged,
// any other fails t.
func (s *suite) explainOrphans(ctx context.Context, t *testing.T, st *stack, issued []fake.IssuedCertificate, l ledger) {
	t.Helper()
	if len(l.Orphans) == 0 {
		return
	}
	crs := &cmapi.CertificateRequestList{}
	if err := st.c.List(ctx, crs); err != nil {
		t.Error(err)
	}
	crts := &cmapi.CertificateList{}
	if err := st.c.List(ctx, crts); err != nil {
		t.Error(err)
	}
	for _, serial := range l.Orphans {
		var c fake.IssuedCertificate
		for _, ic := range issued {
			if ic.Serial == serial {
				c = ic
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "orphaned certificate %s for %v, accepted at %s: issued by the fake, held by no Secret", serial, c.DNSNames, c.AcceptedAt.Format(time.RFC3339Nano))
		k, _ := serialKey(serial)
		for _, cr := range crs.Items {
			if got, ok := leafSerial(cr.Status.Certificate); ok && got == k {
				fmt.Fprintf(&b, "\n  held by CertificateRequest %s/%s (annotations %v, conditions %+v)", cr.Namespace, cr.Name, cr.Annotations, cr.Status.Conditions)
			}
		}
		for _, crt := range crts.Items {
			if !slices.ContainsFunc(c.DNSNames, func(n string) bool { return slices.Contains(crt.Spec.DNSNames, n) }) {
				continue
			}
			rev := 0
			if crt.Status.Revision != nil {
				rev = *crt.Status.Revision
			}
			fmt.Fprintf(&b, "\n  Certificate %s/%s at revision %d", crt.Namespace, crt.Name, rev)
			if ev, err := s.kubectl(ctx, nil, "-n", crt.Namespace, "get", "events", "--field-selector", "involvedObject.name="+crt.Name,
				"-o", "custom-columns=TIME:.lastTimestamp,COUNT:.count,KIND:.involvedObject.kind,REASON:.reason,MESSAGE:.message"); err == nil {
				fmt.Fprintf(&b, "; its events:\n%s", ev)
			}
		}
		if slices.Contains(l.Reissued, serial) {
			t.Logf("replaced by cert-manager's next revision: %s", b.String())
		} else {
			t.Error(b.String())
		}
	}
}

// countLost lists, as "namespace/name: reason", every Certificate of the
// cluster that is not Ready, or whose Secret does not verify, or holds a
// leaf the fake never issued.
func (s *suite) countLost(ctx context.Context, t *testing.T, st *stack, issued []fake.IssuedCertificate) []string {
	t.Helper()
	known := map[string]bool{}
	for _, c := range issued {
		if k, ok := serialKey(c.Serial); ok {
			known[k] = true
		}
	}
	list := &cmapi.CertificateList{}
	if err := st.c.List(ctx, list); err != nil {
		t.Fatal(err)
	}
	secrets := &corev1.SecretList{}
	if err := st.c.List(ctx, secrets); err != nil {
		t.Fatal(err)
	}
	byName := map[client.ObjectKey]*corev1.Secret{}
	for i := range secrets.Items {
		byName[client.ObjectKeyFromObject(&secrets.Items[i])] = &secrets.Items[i]
	}
	var lost []string
	for i := range list.Items {
		crt := &list.Items[i]
		if reason := lostReason(crt, byName[client.ObjectKey{Namespace: crt.Namespace, Name: crt.Spec.SecretName}], known); reason != "" {
			lost = append(lost, crt.Namespace+"/"+crt.Name+": "+reason)
		}
	}
	return lost
}

// lostReason says why crt did not get a certificate of the fake's into
// its Secret sec (nil when there is none), or nothing when it did.
func lostReason(crt *cmapi.Certificate, sec *corev1.Secret, known map[string]bool) string {
	if !framework.IsReady(crt) {
		return "not Ready"
	}
	if sec == nil {
		return "no Secret " + crt.Spec.SecretName
	}
	if err := verifyIssued(crt, sec); err != nil {
		return err.Error()
	}
	if k, ok := leafSerial(sec.Data[corev1.TLSCertKey]); !ok || !known[k] {
		return "its Secret holds a certificate the fake never issued"
	}
	return ""
}

// serialKey spells a hex serial as the certificates carry it: a number,
// whatever its case and leading zeros.
func serialKey(serial string) (string, bool) {
	n, ok := new(big.Int).SetString(serial, 16)
	if !ok {
		return "", false
	}
	return n.Text(16), true
}

// leafSerial is the serial of the first certificate of a PEM chain, as
// serialKey spells it.
func leafSerial(chainPEM []byte) (string, bool) {
	if len(chainPEM) == 0 {
		return "", false
	}
	certs, err := framework.ParseCerts(chainPEM)
	if err != nil || len(certs) == 0 {
		return "", false
	}
	return certs[0].SerialNumber.Text(16), true
}

// plantOrphans posts two certificate requests for name with one new key
// straight to the fake, through its Service with the issuers'
// credentials, and returns the two serials.
func plantOrphans(ctx context.Context, st *stack, name string) ([]string, error) {
	cl, stop, err := directClient(ctx, st)
	if err != nil {
		return nil, err
	}
	defer stop()
	policy, err := cl.ValidationPolicy(ctx)
	if err != nil {
		return nil, err
	}
	// The fake's default policy takes RSA keys only.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}}, key)
	if err != nil {
		return nil, err
	}
	mapped, err := issuance.Map(issuance.Input{
		CSR:         pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		Duration:    24 * time.Hour,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		Now:         time.Now(),
	}, policy)
	if err != nil {
		return nil, fmt.Errorf("map the planted request: %w", err)
	}
	var serials []string
	for range 2 {
		serial, err := cl.RequestCertificate(ctx, mapped.Request)
		if err != nil {
			return serials, err
		}
		serials = append(serials, serial)
	}
	return serials, nil
}

// revokePlanted revokes the planted certificates, so that they are no
// orphans of the run.
func revokePlanted(ctx context.Context, st *stack, serials []string) error {
	cl, stop, err := directClient(ctx, st)
	if err != nil {
		return err
	}
	defer stop()
	for _, serial := range serials {
		if err := cl.RevokeCertificate(ctx, serial, atlas.RevokeRequest{RevocationReason: atlas.ReasonCessationOfOperation}); err != nil {
			return err
		}
	}
	return nil
}

// directClient is an Atlas client for the fake in the cluster with the
// issuers' credentials. The fake's server certificate names its Service's
// DNS name, which only the cluster resolves, so the client reaches it
// through a CONNECT proxy on loopback that dials the Service's address.
func directClient(ctx context.Context, st *stack) (*atlas.Client, func(), error) {
	svc := &corev1.Service{}
	if err := st.c.Get(ctx, client.ObjectKey{Namespace: fakeNamespace, Name: "fake-atlas"}, svc); err != nil {
		return nil, nil, err
	}
	u, err := url.Parse(fakeURL)
	if err != nil {
		return nil, nil, err
	}
	proxy, err := connectProxy(u.Hostname()+":443", net.JoinHostPort(svc.Spec.ClusterIP, "443"))
	if err != nil {
		return nil, nil, err
	}
	pair, err := tls.X509KeyPair(st.creds.CertPEM, st.creds.KeyPEM)
	if err != nil {
		proxy.Close()
		return nil, nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(st.creds.ServerCAPEM)
	proxyURL := &url.URL{Scheme: "http", Host: proxy.Addr().String()}
	cl, err := atlas.New(atlas.Config{URL: fakeURL, APIKey: st.creds.APIKey, APISecret: st.creds.APISecret,
		ClientCertificate: pair, RootCAs: roots,
		Proxy: func(*http.Request) (*url.URL, error) { return proxyURL, nil }})
	if err != nil {
		proxy.Close()
		return nil, nil, err
	}
	return cl, func() { proxy.Close() }, nil
}

// connectProxy serves HTTP CONNECT on loopback for the one address name,
// tunnelling it to addr.
func connectProxy(name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go tunnel(conn, name, addr)
		}
	}()
	return ln, nil
}

func tunnel(conn net.Conn, name, addr string) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect || req.Host != name {
		_, _ = io.WriteString(conn, "HTTP/1.1 403 Forbidden\r\n\r\n")
		return
	}
	up, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		_, _ = io.WriteString(conn, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, br); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, up); done <- struct{}{} }()
	<-done
}

// keys drops the reasons of countLost's lines.
func keys(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		k, _, _ := strings.Cut(l, ":")
		out = append(out, k)
	}
	return out
}

// sameSet reports whether a and b hold the same strings, as many times.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}
