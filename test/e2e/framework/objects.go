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
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

// CreateNamespace makes a namespace with the fake's credentials Secret and
// an AtlasIssuer named "atlas" in it.
func (e *Env) CreateNamespace(ctx context.Context, name string) error {
	if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		return err
	}
	sec, err := e.CredentialsSecret(name, "atlas-credentials")
	if err != nil {
		return err
	}
	if err := e.Client.Create(ctx, sec); err != nil {
		return err
	}
	spec, err := e.IssuerSpec("atlas-credentials")
	if err != nil {
		return err
	}
	return e.Client.Create(ctx, &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "atlas"}, Spec: spec})
}

// CreateClusterIssuer makes an AtlasClusterIssuer and its Secret in the
// cluster resource namespace.
func (e *Env) CreateClusterIssuer(ctx context.Context, name string) error {
	sec, err := e.CredentialsSecret(ClusterResourceNamespace, name+"-credentials")
	if err != nil {
		return err
	}
	if err := e.Client.Create(ctx, sec); err != nil {
		return err
	}
	spec, err := e.IssuerSpec(sec.Name)
	if err != nil {
		return err
	}
	return e.Client.Create(ctx, &v1alpha1.AtlasClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec})
}

// Certificate is a cert-manager Certificate through one of our issuers.
func Certificate(namespace, name, issuerKind, issuerName string, dnsNames ...string) *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: cmapi.CertificateSpec{
			SecretName: name + "-tls",
			DNSNames:   dnsNames,
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 2048},
			IssuerRef:  cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: issuerKind, Name: issuerName},
		},
	}
}

// IsReady reports a Certificate's Ready condition.
func IsReady(c *cmapi.Certificate) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == cmapi.CertificateConditionReady {
			return cond.Status == cmmeta.ConditionTrue
		}
	}
	return false
}

// IssuerReady reports whether an issuer of ours is Ready.
func IssuerReady(conds []metav1.Condition) bool {
	for _, c := range conds {
		if c.Type == "Ready" {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}

// ParseCerts decodes every certificate of a PEM bundle.
func ParseCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no certificate in PEM data")
	}
	return out, nil
}

// VerifySecret checks a certificate Secret the way a TLS client would:
// tls.crt is the leaf followed by its intermediates and verifies up to the
// root in ca.crt; tls.key is present. It returns the leaf.
func VerifySecret(sec *corev1.Secret, dnsName string) (*x509.Certificate, error) {
	chain, err := ParseCerts(sec.Data[corev1.TLSCertKey])
	if err != nil {
		return nil, fmt.Errorf("tls.crt: %w", err)
	}
	if len(chain) < 2 {
		return nil, fmt.Errorf("tls.crt has %d certificate(s); want the leaf and its intermediates", len(chain))
	}
	roots, err := ParseCerts(sec.Data["ca.crt"])
	if err != nil {
		return nil, fmt.Errorf("ca.crt: %w", err)
	}
	if len(sec.Data[corev1.TLSPrivateKeyKey]) == 0 {
		return nil, fmt.Errorf("tls.key is empty")
	}
	rootPool, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range roots {
		if r.Subject.String() != r.Issuer.String() {
			return nil, fmt.Errorf("ca.crt holds %s, which is not a root", r.Subject)
		}
		rootPool.AddCert(r)
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: dnsName, Roots: rootPool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("verify tls.crt against ca.crt: %w", err)
	}
	return chain[0], nil
}

// Get is a shorthand for a typed Get.
func (e *Env) Get(ctx context.Context, namespace, name string, obj client.Object) error {
	return e.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj)
}
