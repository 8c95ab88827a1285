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
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/youmark/pkcs8"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/credentials"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// canaries are the secrets whose every appearance outside their Secret is a
// leak. The fake runs with a distinctive API key and secret; the fault run's
// Secret carries the mTLS key encrypted under a distinctive password; the
// broken Secrets of the bad-input run add a wrong password and key bodies.
// The fake's access tokens are read from its admin API at scan time.
type canaries struct {
	apiKey, apiSecret string
	keyPassword       string

	mu    sync.Mutex
	extra []framework.Canary
	files []framework.Canary
	// keyPEM is the fake's mTLS key; encKeyPEM the same key encrypted.
	keyPEM, encKeyPEM []byte
}

func newCanaries() (*canaries, error) {
	return &canaries{
		apiKey:      "chaoskey" + randomHex(4),
		apiSecret:   "chaos-canary-apisecret-" + randomHex(12),
		keyPassword: "chaos-canary-keypass-" + randomHex(12),
	}, nil
}

// readCredentials loads the fake's mTLS key and encrypts it.
func (c *canaries) readCredentials(env *framework.Env) error {
	var err error
	if c.keyPEM, err = os.ReadFile(filepath.Join(env.CredentialsDir, "tls.key")); err != nil {
		return err
	}
	block, _ := pem.Decode(c.keyPEM)
	if block == nil {
		return errors.New("the fake's tls.key is not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return err
	}
	der, err := pkcs8.MarshalPrivateKey(key, []byte(c.keyPassword), &pkcs8.Opts{
		Cipher: pkcs8.AES256CBC, KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: 50_000, HMACHash: crypto.SHA256},
	})
	if err != nil {
		return err
	}
	c.encKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der})
	return nil
}

// add records another canary, such as a broken Secret's password.
func (c *canaries) add(kind, value string) {
	c.mu.Lock()
	c.extra = append(c.extra, framework.Canary{Kind: kind, Value: value})
	c.mu.Unlock()
}

// addKey records the PEM body lines of a key as canaries.
func (c *canaries) addKey(keyPEM []byte) {
	for _, l := range framework.PEMBodyLines(keyPEM) {
		c.add("mtls-key", l)
	}
	c.mu.Lock()
	c.files = append(c.files, framework.FileCanary("mtls-key", keyPEM))
	c.mu.Unlock()
}

// all returns every canary, the tokens of every fake included.
func (c *canaries) all(ctx context.Context, admins ...*fake.AdminClient) ([]framework.Canary, error) {
	var tokens []string
	for _, a := range admins {
		t, err := a.Tokens(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the fake's tokens: %w", err)
		}
		tokens = append(tokens, t...)
	}
	out := []framework.Canary{
		{Kind: "api-secret", Value: c.apiSecret},
		{Kind: "key-password", Value: c.keyPassword},
	}
	for _, l := range framework.PEMBodyLines(c.keyPEM) {
		out = append(out, framework.Canary{Kind: "mtls-key", Value: l})
	}
	for _, l := range framework.PEMBodyLines(c.encKeyPEM) {
		out = append(out, framework.Canary{Kind: "mtls-key", Value: l})
	}
	for _, t := range tokens {
		out = append(out, framework.Canary{Kind: "token", Value: t})
	}
	c.mu.Lock()
	out = append(out, c.extra...)
	c.mu.Unlock()
	// The forms a printed Secret shows: base64 of each value, and of the
	// key files as a whole.
	out = framework.WithEncodings(out)
	out = append(out, framework.FileCanary("mtls-key", c.keyPEM), framework.FileCanary("mtls-key", c.encKeyPEM))
	c.mu.Lock()
	out = append(out, c.files...)
	c.mu.Unlock()
	return out, nil
}

// secret is an issuer Secret with the fake's certificate and key; when
// encrypted, the key is under the canary password.
func (c *canaries) secret(env *framework.Env, namespace, name string, encrypted bool) (*corev1.Secret, error) {
	sec, err := env.CredentialsSecret(namespace, name)
	if err != nil {
		return nil, err
	}
	if encrypted {
		sec.Data[credentials.KeyPrivateKey] = c.encKeyPEM
		sec.Data[credentials.KeyPassword] = []byte(c.keyPassword + "\n")
	}
	return sec, nil
}

// controlLog is the scanner's positive control: a log of the run's own
// lines with canaries planted on purpose. The scan must find each of them
// there; hits in it are not leaks.
const controlLog = "leak-control.log"

// scanLeaks searches every log of the run, every event and every status
// for the canaries, the control log included.
func (r *run) scanLeaks(ctx context.Context) error {
	admins := []*fake.AdminClient{r.env.Admin}
	for _, f := range r.fakes {
		admins = append(admins, f.Admin)
	}
	all, err := r.canaries.all(ctx, admins...)
	if err != nil {
		return err
	}
	planted, err := r.plantControl(ctx)
	if err != nil {
		return err
	}
	inObjects, err := r.plantControlObjects(ctx)
	if err != nil {
		return err
	}
	maps.Copy(planted, inObjects)
	scan, err := r.env.ScanForCanaries(ctx, "*.log", all)
	if err != nil {
		return err
	}
	leaks, found := splitControl(scan.Leaks, controlLog, nsLeakControl)
	d := &LeakDetail{Canaries: map[string]int{}, Scanned: scan.Scanned, Leaks: leaks, Planted: planted, Found: found}
	for _, c := range all {
		d.Canaries[c.Kind]++
	}
	r.report.SecretLeaks = len(leaks)
	r.report.LeakScanCanaryFound = allFound(planted, found)
	if len(d.Leaks) > 50 {
		d.Leaks = d.Leaks[:50]
	}
	r.report.Details.Leaks = d
	r.logf("leak scan: %d canaries, %d leaks; planted %v, found %v", len(all), len(leaks), planted, found)
	return nil
}

// plantControl writes the control log: the first lines of a manager log,
// then one canary of each kind in the form a careless log line would hold
// it (plain, inside a printed Secret's base64, a key's PEM line, a token).
func (r *run) plantControl(ctx context.Context) (map[string]int, error) {
	var lines []string
	if logs := r.managerLogs(); len(logs) > 0 {
		if b, err := os.ReadFile(logs[0]); err == nil {
			lines = strings.SplitN(string(b), "\n", 51)[:min(50, strings.Count(string(b), "\n"))]
		}
	}
	tokens, err := r.env.Admin.Tokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the tokens to plant: %w", err)
	}
	if len(tokens) == 0 {
		return nil, errors.New("the fake issued no token to plant")
	}
	c := r.canaries
	keyLines := framework.PEMBodyLines(c.keyPEM)
	if len(keyLines) == 0 {
		return nil, errors.New("no key line to plant")
	}
	secretJSON := fmt.Sprintf(`{"data":{"password":%q}}`, base64.StdEncoding.EncodeToString([]byte(c.keyPassword+"\n")))
	lines = append(lines,
		fmt.Sprintf(`{"level":"debug","msg":"login","api_secret":%q}`, c.apiSecret),
		`{"level":"debug","msg":"secret","object":`+secretJSON+`}`,
		fmt.Sprintf(`{"level":"debug","msg":"key","line":%q}`, keyLines[len(keyLines)/2]),
		fmt.Sprintf(`{"level":"debug","msg":"request","authorization":"Bearer %s"}`, tokens[len(tokens)-1]),
	)
	planted := map[string]int{"log/api-secret": 1, "log/key-password": 1, "log/mtls-key": 1, "log/token": 1}
	path := filepath.Join(r.env.WorkDir, controlLog)
	return planted, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600) //nolint:gosec // G703: the run's own work directory.
}

// splitControl separates the hits in the control log and in the control
// namespace's event and status from real leaks, and counts the control
// hits by place and kind ("log/token", "event/token", "status/api-secret").
func splitControl(leaks []framework.Leak, control, controlNS string) (outside []framework.Leak, found map[string]int) {
	found = map[string]int{}
	for _, l := range leaks {
		switch {
		case strings.HasPrefix(l.Where, control+":"):
			found["log/"+l.Kind]++
		case strings.HasPrefix(l.Where, "event "+controlNS+"/"):
			found["event/"+l.Kind]++
		case strings.Contains(l.Where, " "+controlNS+"/") && strings.HasSuffix(l.Where, " status"):
			found["status/"+l.Kind]++
		default:
			outside = append(outside, l)
		}
	}
	return outside, found
}

// nsLeakControl holds the leak scan's control event and issuer status.
const nsLeakControl = "chaos-leak-control"

// plantControlObjects writes a token into an event's message and the API
// secret into an issuer's status condition, in a namespace of their own,
// as a careless controller would: the scan must find both there. No
// manager runs by now, so nothing rewrites the status.
func (r *run) plantControlObjects(ctx context.Context) (map[string]int, error) {
	tokens, err := r.env.Admin.Tokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("read a token to plant: %w", err)
	}
	if len(tokens) == 0 {
		return nil, errors.New("the fake issued no token to plant")
	}
	if err := r.env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsLeakControl}}); err != nil {
		return nil, err
	}
	spec, err := r.env.IssuerSpec("no-such-secret")
	if err != nil {
		return nil, err
	}
	iss := &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: nsLeakControl, Name: "leak-control"}, Spec: spec}
	if err := r.env.Client.Create(ctx, iss); err != nil {
		return nil, err
	}
	now := metav1.Now()
	iss.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "LeakControl",
		Message: "login failed with api secret " + r.canaries.apiSecret, LastTransitionTime: now, ObservedGeneration: iss.Generation}}
	if err := r.env.Client.Status().Update(ctx, iss); err != nil {
		return nil, err
	}
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: nsLeakControl, Name: "leak-control"},
		InvolvedObject: corev1.ObjectReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "AtlasIssuer", Namespace: nsLeakControl, Name: iss.Name, UID: iss.UID},
		Reason:         "LeakControl",
		Message:        "request sent with Authorization: Bearer " + tokens[0],
		Type:           corev1.EventTypeWarning,
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		Source: corev1.EventSource{Component: "chaos-leak-control"},
	}
	if err := r.env.Client.Create(ctx, ev); err != nil {
		return nil, err
	}
	return map[string]int{"event/token": 1, "status/api-secret": 1}, nil
}

// allFound reports whether every planted kind was found.
func allFound(planted, found map[string]int) bool {
	if len(planted) == 0 {
		return false
	}
	for k := range planted {
		if found[k] == 0 {
			return false
		}
	}
	return true
}
