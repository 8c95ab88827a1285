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
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/issuance"
)

// An orphaned certificate is one a fake Atlas issued (and billed) that no
// Secret holds at the end of the run and that is not revoked: a paid
// certificate nobody uses. Some the run makes on purpose; each such kind is
// an orphanRule with its reason, counted apart and checked against what the
// run expects of it, so that none hides an orphan of another cause.

// Orphan categories made on purpose.
const (
	// orphanPlanted: the positive control, a certificate the harness posts
	// straight to every fake at the end.
	orphanPlanted = "planted_control"
	// orphanSeeded: the shared account's history of other clients'
	// certificates (fake Seed), never requested by the run.
	orphanSeeded = "seeded_history"
	// orphanHostile: certificates of the hostile tenant's namespace: its
	// Certificates, whose Atlas answers are padded past the client's caps
	// and which the harness deletes at the end of the phase, and the bare
	// CertificateRequests (forged and their unforged baseline), which no
	// Secret ever holds.
	orphanHostile = "hostile_tenant"
	// orphanResubmitted: the first certificate of a request the operator's
	// --resubmit-undecided-after bound let the manager submit again.
	orphanResubmitted = "resubmitted_by_bound"
	// orphanReplaced: a certificate the issuer answered a request with,
	// whose Certificate cert-manager then asked for again with a request
	// of its own (its caches behind the API server, a Secret it believed
	// gone), so that the Secret holds the later one: not the issuer's
	// doing, since each was the answer to a request; the Certificate's
	// Issuing events say why cert-manager asked again.
	orphanReplaced = "answered_then_replaced"
)

// seedName is the DNS name of the fake's seeded certificates.
const seedName = "seed.example.com"

// seeded reports whether c is one of a fake's seeded certificates.
func seeded(c fake.IssuedCertificate) bool {
	return len(c.DNSNames) == 1 && c.DNSNames[0] == seedName
}

// orphanRule explains certificates no Secret holds by design.
type orphanRule struct {
	category string
	match    func(fakeName string, c fake.IssuedCertificate) bool
}

// OrphanCase is one certificate no Secret holds, unexplained.
type OrphanCase struct {
	Fake   string `json:"fake"`
	Serial string `json:"serial"`
	// Certificate is the namespace/name the DNS name belongs to.
	Certificate string    `json:"certificate,omitempty"`
	DNSNames    []string  `json:"dns_names,omitempty"`
	AcceptedAt  time.Time `json:"accepted_at"`
}

// OrphanDetail is the ledger of every certificate of every fake.
type OrphanDetail struct {
	// Issued counts the certificates every fake accepted, by fake.
	Issued map[string]int `json:"issued"`
	// Held are those a Secret holds; Revoked and Rejected those no longer,
	// or never, usable.
	Held     int `json:"held_by_secrets"`
	Revoked  int `json:"revoked"`
	Rejected int `json:"rejected"`
	// ByDesign counts the orphans each rule explains (the report's checks
	// say what the run expects of each).
	ByDesign map[string]int `json:"by_design"`
	// Planted and PlantedFound: the control certificates posted and those
	// the count saw as orphans.
	Planted      int          `json:"planted"`
	PlantedFound int          `json:"planted_found"`
	Orphaned     []OrphanCase `json:"orphaned,omitempty"`
	// Reissues are the Certificates cert-manager issued more than once,
	// with their revision and Issuing events: why it asked again.
	Reissues []string `json:"reissues,omitempty"`
}

// normalSerial is a serial as lower-case hex without leading zeros, the
// form both Atlas's serial strings and certificates' serial numbers map to.
func normalSerial(s string) string {
	n, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(s), "0x"), 16)
	if !ok {
		return strings.ToLower(s)
	}
	return n.Text(16)
}

// certificateOf is the namespace/name a DNS name of the run was made for
// (dnsName), or "" for another name.
func certificateOf(dns string) string {
	rest, ok := strings.CutSuffix(dns, ".chaos.example")
	if !ok {
		return ""
	}
	name, ns, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(ns, ".") {
		return ""
	}
	return ns + "/" + name
}

// inNamespace matches certificates for a name of the run in namespace ns.
func inNamespace(ns string) func(string, fake.IssuedCertificate) bool {
	return func(_ string, c fake.IssuedCertificate) bool {
		for _, d := range c.DNSNames {
			if strings.HasPrefix(certificateOf(d), ns+"/") {
				return true
			}
		}
		return false
	}
}

// ledger sorts every certificate of every fake: held by a Secret (held, by
// normalSerial), revoked or rejected, planted, explained by a rule, or
// orphaned. planted maps normalSerial to the fake it was posted to.
func ledger(issued map[string][]fake.IssuedCertificate, held map[string]string, planted map[string]string, rules []orphanRule) *OrphanDetail {
	d := &OrphanDetail{Issued: map[string]int{}, ByDesign: map[string]int{}, Planted: len(planted)}
	fakes := make([]string, 0, len(issued))
	for f := range issued {
		fakes = append(fakes, f)
	}
	sort.Strings(fakes)
	for _, f := range fakes {
		for _, c := range issued[f] {
			d.Issued[f]++
			serial := normalSerial(c.Serial)
			switch {
			case held[serial] != "":
				d.Held++
				continue
			case c.Revoked:
				d.Revoked++
				continue
			case c.Rejected:
				d.Rejected++
				continue
			case planted[serial] == f:
				d.PlantedFound++
				d.ByDesign[orphanPlanted]++
				continue
			}
			explained := false
			for _, rule := range rules {
				if rule.match(f, c) {
					d.ByDesign[rule.category]++
					explained = true
					break
				}
			}
			if explained {
				continue
			}
			oc := OrphanCase{Fake: f, Serial: c.Serial, DNSNames: c.DNSNames, AcceptedAt: c.AcceptedAt}
			if len(c.DNSNames) > 0 {
				oc.Certificate = certificateOf(c.DNSNames[0])
			}
			d.Orphaned = append(d.Orphaned, oc)
		}
	}
	return d
}

// heldSerials reads every Secret's tls.crt and maps its leaf's serial to
// the Secret.
func (r *run) heldSerials(ctx context.Context) (map[string]string, error) {
	var secrets corev1.SecretList
	if err := r.env.Client.List(ctx, &secrets); err != nil {
		return nil, err
	}
	held := map[string]string{}
	for _, s := range secrets.Items {
		if serial := leafSerial(s.Data[corev1.TLSCertKey]); serial != "" {
			held[serial] = s.Namespace + "/" + s.Name
		}
	}
	return held, nil
}

// namedFake is a fake Atlas with its name in the run.
type namedFake struct {
	name     string
	admin    *fake.AdminClient
	url      string
	credsDir string
}

// allFakes is every fake Atlas the run started, the setup's first.
func (r *run) allFakes() []namedFake {
	out := []namedFake{{name: "fake-atlas", admin: r.env.Admin, url: r.env.FakeURL, credsDir: r.env.CredentialsDir}}
	for _, f := range r.fakes {
		out = append(out, namedFake{name: f.Process.Name, admin: f.Admin, url: f.URL, credsDir: f.CredentialsDir})
	}
	return out
}

// countOrphans plants one certificate on every fake, then sorts every
// certificate of every fake (ledger) and checks each category against
// what the run expects of it.
func (r *run) countOrphans(ctx context.Context) error {
	fakes := r.allFakes()
	planted := map[string]string{}
	for _, f := range fakes {
		serial, err := plantCertificate(ctx, f)
		if err != nil {
			return fmt.Errorf("plant a certificate on %s: %w", f.name, err)
		}
		planted[normalSerial(serial)] = f.name
	}
	if fp, serial, err := r.plantDuplicate(ctx); err != nil {
		return fmt.Errorf("post a request's CSR again: %w", err)
	} else if serial != "" {
		r.plantedDuplicate = fp
		planted[normalSerial(serial)] = "fake-atlas"
	}
	issued := map[string][]fake.IssuedCertificate{}
	for _, f := range fakes {
		list, err := f.admin.Issued(ctx)
		if err != nil {
			return err
		}
		issued[f.name] = list
	}
	held, err := r.heldSerials(ctx)
	if err != nil {
		return err
	}
	resubmittedKeys := map[string]bool{}
	for _, fp := range r.resubmittedKeys {
		resubmittedKeys[fp] = true
	}
	recs := r.requests.records()
	byAnswer := answered(recs)
	replaced := func(_ string, c fake.IssuedCertificate) bool {
		first, ok := byAnswer[normalSerial(c.Serial)]
		if !ok {
			return false
		}
		for _, rec := range recs {
			if rec.certificate == first.certificate && rec.uid != first.uid && !rec.created.Before(first.created) {
				return true
			}
		}
		return false
	}
	_, reissues, err := r.reissues(ctx)
	if err != nil {
		return err
	}
	rules := []orphanRule{
		{orphanSeeded, func(f string, c fake.IssuedCertificate) bool { return f == sharedFakeName && seeded(c) }},
		{orphanHostile, inNamespace(nsHostile)},
		{orphanResubmitted, func(_ string, c fake.IssuedCertificate) bool { return resubmittedKeys[c.Fingerprint] }},
		{orphanReplaced, replaced},
	}
	d := ledger(issued, held, planted, rules)
	d.Reissues = reissues
	r.report.Details.Orphans = d
	r.report.OrphanedCertificates = len(d.Orphaned)
	r.report.OrphanControlFound = d.PlantedFound == len(planted) && d.ByDesign[orphanPlanted] == len(planted)
	r.report.OrphansByDesign = d.ByDesign
	r.logf("orphans: %d certificates issued, %d held, %d orphaned without a cause; by design %v; control %d of %d found",
		sumValues(d.Issued), d.Held, len(d.Orphaned), d.ByDesign, d.PlantedFound, len(planted))
	return nil
}

// reissues maps every Certificate cert-manager issued more than once to its
// revision, and describes each with its Issuing events.
func (r *run) reissues(ctx context.Context) (map[string]int, []string, error) {
	var certs cmapi.CertificateList
	if err := r.env.Client.List(ctx, &certs); err != nil {
		return nil, nil, err
	}
	revisions := map[string]int{}
	for _, c := range certs.Items {
		if c.Status.Revision != nil && *c.Status.Revision > 1 {
			revisions[c.Namespace+"/"+c.Name] = *c.Status.Revision
		}
	}
	if len(revisions) == 0 {
		return revisions, nil, nil
	}
	var events corev1.EventList
	if err := r.env.Client.List(ctx, &events); err != nil {
		return nil, nil, err
	}
	why := map[string][]string{}
	for _, ev := range events.Items {
		key := ev.InvolvedObject.Namespace + "/" + ev.InvolvedObject.Name
		if ev.InvolvedObject.Kind == "Certificate" && revisions[key] > 0 && ev.Reason == "Issuing" {
			why[key] = append(why[key], ev.Message)
		}
	}
	var out []string
	for key, rev := range revisions {
		out = append(out, fmt.Sprintf("%s revision %d: %s", key, rev, strings.Join(why[key], "; ")))
	}
	sort.Strings(out)
	return revisions, out, nil
}

// judgeOrphans checks the ledger's categories against what the run
// expected of them.
func (r *Report) judgeOrphans() {
	d := r.Details.Orphans
	if d == nil {
		r.Goals = append(r.Goals, "the orphan count did not run")
		return
	}
	r.check("orphaned_certificates", "0, with every planted control certificate seen", r.OrphanedCertificates == 0 && r.OrphanControlFound,
		"orphaned certificates: %d without a cause (control found %v): %v", r.OrphanedCertificates, r.OrphanControlFound, head(orphanNames(d.Orphaned), 10))
	r.check("orphan_control_found", fmt.Sprintf("= %d, one posted straight to each fake and the duplicate control", d.Planted), r.OrphanControlFound,
		"the orphan count saw %d of %d planted certificates", d.PlantedFound, d.Planted)
	if t := r.Details.Tenants; t != nil {
		r.check("orphans_seeded_history", fmt.Sprintf("= %d, the shared account's seeded history", t.SeededCertificates),
			d.ByDesign[orphanSeeded] == t.SeededCertificates,
			"orphans: %d of the shared account's seeded history, want %d", d.ByDesign[orphanSeeded], t.SeededCertificates)
		bound := t.HostileCerts + t.ForgedRequests + t.BaselineRequests
		r.check("orphans_hostile_tenant", fmt.Sprintf("<= %d, one per hostile Certificate or bare request", bound),
			d.ByDesign[orphanHostile] <= bound,
			"orphans: %d in the hostile tenant's namespace, want at most %d", d.ByDesign[orphanHostile], bound)
	}
	if l := r.LookupFailure[lookupBound]; l != nil {
		r.check("orphans_resubmitted_by_bound", fmt.Sprintf("= %d, one per request the bound resubmitted", l.Resubmitted),
			d.ByDesign[orphanResubmitted] == l.Resubmitted,
			"orphans: %d first certificates of resubmitted requests, want %d", d.ByDesign[orphanResubmitted], l.Resubmitted)
	}
}

func orphanNames(cs []OrphanCase) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s %s %s", c.Fake, c.Serial, c.Certificate)
	}
	return out
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// fakeClient is an Atlas client of f's account, as a client other than
// the issuer would make it, with the account's validation policy.
func fakeClient(ctx context.Context, f namedFake) (*atlas.Client, *atlas.ValidationPolicy, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(f.credsDir, name)) }
	var files [5][]byte
	for i, name := range []string{"tls.crt", "tls.key", "apiKey", "apiSecret", "ca.crt"} {
		b, err := read(name)
		if err != nil {
			return nil, nil, err
		}
		files[i] = b
	}
	pair, err := atlas.LoadKeyPair(files[0], files[1], nil)
	if err != nil {
		return nil, nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(files[4])
	cl, err := atlas.New(atlas.Config{URL: f.url, APIKey: strings.TrimSpace(string(files[2])),
		APISecret: strings.TrimSpace(string(files[3])), ClientCertificate: pair, RootCAs: roots})
	if err != nil {
		return nil, nil, err
	}
	policy, err := cl.ValidationPolicy(ctx)
	if err != nil {
		cl.CloseIdleConnections()
		return nil, nil, err
	}
	return cl, policy, nil
}

// plantCertificate posts one certificate straight to a fake, as a client
// other than the issuer would, and returns its serial: a certificate no
// Secret holds, which the orphan count must see.
func plantCertificate(ctx context.Context, f namedFake) (string, error) {
	cl, policy, err := fakeClient(ctx, f)
	if err != nil {
		return "", err
	}
	defer cl.CloseIdleConnections()
	var last error
	for _, gen := range []func() (crypto.Signer, error){
		func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) },
		func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) },
	} {
		k, err := gen()
		if err != nil {
			return "", err
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"orphan-control." + f.name + ".chaos.example"}}, k)
		if err != nil {
			return "", err
		}
		serial, err := postCSR(ctx, cl, policy, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
		if err != nil {
			last = err
			continue
		}
		return serial, nil
	}
	return "", fmt.Errorf("the policy accepts neither an ECDSA nor an RSA key: %w", last)
}

// postCSR maps a CSR under policy, as a server certificate for a day, and
// posts it.
func postCSR(ctx context.Context, cl *atlas.Client, policy *atlas.ValidationPolicy, csr []byte) (string, error) {
	mapped, err := issuance.Map(issuance.Input{CSR: csr, Duration: 24 * time.Hour, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Now: time.Now()}, policy)
	if err != nil {
		return "", err
	}
	return cl.RequestCertificate(ctx, mapped.Request)
}

// plantDuplicate posts the CSR of one request the setup's fake answered
// straight to that fake again, as a client other than the issuer would:
// one certificate beyond the request's, which the duplicate count must
// see. It returns the key's fingerprint and the new serial, or "" when no
// such request is left to copy.
func (r *run) plantDuplicate(ctx context.Context) (fp, serial string, err error) {
	for _, rec := range r.requests.records() {
		if rec.serial == "" || rec.deleted || (rec.namespace != nsFaults && rec.namespace != nsCrash) {
			continue
		}
		var cr cmapi.CertificateRequest
		if err := r.env.Client.Get(ctx, client.ObjectKey{Namespace: rec.namespace, Name: rec.name}, &cr); err != nil || cr.UID != rec.uid {
			continue
		}
		cl, policy, err := fakeClient(ctx, r.allFakes()[0])
		if err != nil {
			return "", "", err
		}
		defer cl.CloseIdleConnections()
		serial, err := postCSR(ctx, cl, policy, cr.Spec.Request)
		return rec.fingerprint, serial, err
	}
	return "", "", nil
}
