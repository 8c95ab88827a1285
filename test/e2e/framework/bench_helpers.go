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

package framework

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The helpers in this file serve the benchmarks (test/e2e/bench): a peer
// issuer to compare against, manager restarts and the manager's memory.

// CreateCAIssuer makes a self-signed root CA in a Secret and a
// cert-manager Issuer named name that signs with it (spec.ca): cert-manager's
// own in-tree CA issuer, run by the cm-controllers process.
func (e *Env) CreateCAIssuer(ctx context.Context, namespace, name string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "bench root CA " + namespace},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name + "-ca"},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		},
	}
	if err := e.Client.Create(ctx, sec); err != nil {
		return err
	}
	return e.Client.Create(ctx, &cmapi.Issuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: sec.Name}}},
	})
}

// CAIssuerReady reports whether a cert-manager Issuer is Ready.
func (e *Env) CAIssuerReady(ctx context.Context, namespace, name string) (bool, error) {
	iss := &cmapi.Issuer{}
	if err := e.Get(ctx, namespace, name, iss); err != nil {
		return false, err
	}
	for _, c := range iss.Status.Conditions {
		if c.Type == cmapi.IssuerConditionReady {
			return c.Status == cmmeta.ConditionTrue, nil
		}
	}
	return false, nil
}

// CACertificate is Certificate through a cert-manager Issuer (CA,
// self-signed, ...) instead of one of ours.
func CACertificate(namespace, name, issuerName string, dnsNames ...string) *cmapi.Certificate {
	c := Certificate(namespace, name, "Issuer", issuerName, dnsNames...)
	c.Spec.IssuerRef.Group = cmapi.SchemeGroupVersion.Group
	return c
}

// StopManager stops the running manager, if any, with SIGTERM as a
// rollout would. One that has not exited within timeout gets SIGQUIT, which
// makes a Go program write every goroutine's stack to its log, and is then
// killed; the error says where the stacks are. Either way the manager is
// gone when StopManager returns.
func (e *Env) StopManager(timeout time.Duration) error {
	p := e.manager
	if p == nil {
		return nil
	}
	e.manager = nil
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.Kill()
	}
	return fmt.Errorf("%s did not stop within %s of SIGTERM; goroutine stacks at the end of %s", p.Name, timeout, p.LogPath)
}

// ManagerStopTimeout is how long RestartManager waits for the manager to
// exit: less than controller-runtime's 30 s graceful-shutdown period, so a
// manager stuck in shutdown is caught with its stacks before it gives up.
const ManagerStopTimeout = 20 * time.Second

// RestartManager stops the running manager and starts a new one with
// ManagerArgs plus extra. A manager that had to be killed is still
// replaced; the error reports it.
func (e *Env) RestartManager(extra ...string) error {
	return e.RestartManagerWithEnv(nil, extra...)
}

// RestartManagerWithEnv is RestartManager with extra environment variables
// for the manager alone (GODEBUG=gctrace=1, GOGC, ...), which the control
// plane and cert-manager do not inherit.
func (e *Env) RestartManagerWithEnv(env []string, extra ...string) error {
	stopErr := e.StopManager(ManagerStopTimeout)
	if err := e.StartManagerWithEnv(env, extra...); err != nil {
		return err
	}
	return stopErr
}

// IsStopTimeout reports whether err is StopManager's "had to be killed".
func IsStopTimeout(err error) bool {
	return err != nil && strings.Contains(err.Error(), "did not stop within")
}

// StartManagerWithEnv is StartManager with extra environment variables for
// the manager alone.
func (e *Env) StartManagerWithEnv(env []string, extra ...string) error {
	e.logf("starting the atlas-issuer manager")
	e.managers++
	p, err := Start(e.WorkDir, fmt.Sprintf("manager-%d", e.managers), filepath.Join(e.BinDir, "manager"),
		e.ManagerArgs(extra...), append([]string{"POD_NAMESPACE=" + ClusterResourceNamespace}, env...), nil)
	if err != nil {
		return err
	}
	e.manager = p
	return nil
}

// ProcMemory is a process's resident memory from /proc/<pid>/status.
type ProcMemory struct {
	// RSS is the resident set now (VmRSS), HWM its peak so far (VmHWM).
	RSS, HWM int64 // bytes
}

// ReadProcMemory reads VmRSS and VmHWM of a process.
func ReadProcMemory(pid int) (ProcMemory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcMemory{}, err
	}
	defer func() { _ = f.Close() }() // read only
	var m ProcMemory
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, rest, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.HWM
		default:
			continue
		}
		fields := strings.Fields(rest) // "12345 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return ProcMemory{}, fmt.Errorf("/proc/%d/status: unexpected %s line %q", pid, name, s.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return ProcMemory{}, err
		}
		*dst = kb * 1024
	}
	if err := s.Err(); err != nil {
		return ProcMemory{}, err
	}
	if m.HWM == 0 {
		return ProcMemory{}, fmt.Errorf("/proc/%d/status has no VmHWM", pid)
	}
	return m, nil
}
