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

package chart

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	authv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

const (
	hvcaGroup = "hvca.globalsign.com"
	// appsNamespace holds the issuer, its Secret and a request, as a user's
	// application namespace would.
	appsNamespace = "apps"
	// fixtureClusterIssuer differs from the samples' name: both tests share
	// one API server.
	fixtureClusterIssuer = "rbac-test"
	// Signer names of the fixture's issuers, as the manager signs them.
	ourIssuerSigner        = "atlasissuers.hvca.globalsign.com/apps.atlas"
	ourClusterIssuerSigner = "atlasclusterissuers.hvca.globalsign.com/" + fixtureClusterIssuer
	foreignSigner          = "example.com/not-atlas"
	// RBAC matches resource names literally. Both Kubernetes (the
	// CertificateSigning admission plugin) and cert-manager (its approval
	// check) ask for the exact signer name and then for "<type>/*", so the
	// wildcard names are what access reviews must find granted.
	ourIssuerSigners        = "atlasissuers.hvca.globalsign.com/*"
	ourClusterIssuerSigners = "atlasclusterissuers.hvca.globalsign.com/*"
)

// TestRBACOnAPIServer installs the chart's CRDs and RBAC on a real API
// server and proves, as the chart's ServiceAccount, that the manager can do
// everything it needs and nothing it must not: once with the default
// cluster-wide Secret access, once in least-privilege mode.
func TestRBACOnAPIServer(t *testing.T) {
	t.Parallel()
	admin := cluster(t)
	adminClient := newClient(t, admin)
	ensureNamespaces(t, adminClient, appsNamespace, "team-a", "team-b")

	// The first release installs the CRDs; the fixture needs them.
	defaultSA := installChart(t, admin, releaseName, releaseNamespace)
	createFixture(t, adminClient, appsNamespace, "team-a", "team-b", releaseNamespace)

	t.Run("cluster-wide secrets", func(t *testing.T) {
		checkManager(t, admin, defaultSA, managerScope{
			release:        releaseName,
			namespace:      releaseNamespace,
			readableSecret: []string{appsNamespace, "team-a", "team-b", releaseNamespace},
		})
	})

	t.Run("least privilege", func(t *testing.T) {
		const release, namespace = "atlas-lp", "atlas-lp-system"
		sa := installChart(t, admin, release, namespace, "--set", "secrets.namespaces={team-a},crds.enabled=false")
		createFixture(t, adminClient, namespace)
		checkManager(t, admin, sa, managerScope{
			release:   release,
			namespace: namespace,
			// The cluster resource namespace is added to the listed ones.
			readableSecret:   []string{"team-a", namespace},
			unreadableSecret: []string{appsNamespace, "team-b", releaseNamespace},
		})
	})

	t.Run("cert-manager may approve", func(t *testing.T) {
		checkApprover(t, admin, "cert-manager", "cert-manager", map[string]bool{
			ourIssuerSigners:            true,
			ourClusterIssuerSigners:     true,
			"issuers.cert-manager.io/*": false,
		})
	})

	// docs/approval.md: with approver-policy, the chart grants approval on
	// our signers to approver-policy's ServiceAccount instead.
	t.Run("approver-policy may approve", func(t *testing.T) {
		const policySA = "cert-manager-approver-policy"
		ours := map[string]bool{ourIssuerSigners: false, ourClusterIssuerSigners: false}
		// Nothing grants it yet: the review can see a denial.
		checkApprover(t, admin, "cert-manager", policySA, ours)
		installChart(t, admin, "atlas-ap", "atlas-ap-system", "--set", "crds.enabled=false,approver.subject.name="+policySA)
		checkApprover(t, admin, "cert-manager", policySA, map[string]bool{
			ourIssuerSigners:            true,
			ourClusterIssuerSigners:     true,
			"issuers.cert-manager.io/*": false,
		})
	})

	// With approver.enabled=false the release grants approval to no one,
	// for a cluster whose approver is given the right by other means.
	t.Run("no approver", func(t *testing.T) {
		const release = "atlas-noap"
		installChart(t, admin, release, "atlas-noap-system", "--set", "crds.enabled=false,approver.enabled=false")
		var roles rbacv1.ClusterRoleList
		if err := adminClient.List(context.Background(), &roles, client.MatchingLabels{"app.kubernetes.io/instance": release}); err != nil {
			t.Fatal(err)
		}
		if len(roles.Items) == 0 {
			t.Fatalf("no ClusterRole of release %s found by its label", release)
		}
		for _, r := range roles.Items {
			for _, rule := range r.Rules {
				if slices.Contains(rule.Verbs, "approve") {
					t.Errorf("ClusterRole %s grants approve on %v %v", r.Name, rule.Resources, rule.ResourceNames)
				}
			}
		}
	})
}

// checkApprover asks whether a ServiceAccount may approve requests for each
// signer name.
func checkApprover(t *testing.T, admin *rest.Config, namespace, name string, want map[string]bool) {
	t.Helper()
	cs := kubernetes.NewForConfigOrDie(admin)
	user := serviceAccountUser(namespace, name)
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
	for signer, allowed := range want {
		attrs := authv1.ResourceAttributes{Group: "cert-manager.io", Resource: "signers", Name: signer, Verb: "approve"}
		got := eventually(t, allowed, func(ctx context.Context) (bool, error) {
			r, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authv1.SubjectAccessReview{
				Spec: authv1.SubjectAccessReviewSpec{User: user, Groups: groups, ResourceAttributes: &attrs},
			}, metav1.CreateOptions{})
			if err != nil {
				return false, err
			}
			return r.Status.Allowed, nil
		})
		if got != allowed {
			t.Errorf("%s approve %s: allowed=%v, want %v", user, signer, got, allowed)
		}
	}
}

// managerScope is what one installation lets the manager reach.
type managerScope struct {
	release, namespace string
	readableSecret     []string
	unreadableSecret   []string
}

func checkManager(t *testing.T, admin, sa *rest.Config, s managerScope) {
	t.Run("access reviews", func(t *testing.T) { checkAccessReviews(t, sa, s) })
	t.Run("issuers", func(t *testing.T) { checkIssuers(t, sa) })
	t.Run("certificaterequests", func(t *testing.T) { checkCertificateRequests(t, sa) })
	t.Run("certificatesigningrequests", func(t *testing.T) { checkCSRs(t, admin, sa, s.release) })
	t.Run("secrets", func(t *testing.T) { checkSecrets(t, sa, s) })
	t.Run("events", func(t *testing.T) { checkEvents(t, sa) })
	t.Run("leases", func(t *testing.T) { checkLeases(t, sa, s.namespace) })
}

// checkAccessReviews asks the API server, as the manager, about each
// permission the manager needs or must not have.
func checkAccessReviews(t *testing.T, sa *rest.Config, s managerScope) {
	type ra = authv1.ResourceAttributes
	var allow, deny []ra
	for _, v := range []string{"get", "list", "watch"} {
		allow = append(allow,
			ra{Group: hvcaGroup, Resource: "atlasissuers", Verb: v, Namespace: appsNamespace},
			ra{Group: hvcaGroup, Resource: "atlasclusterissuers", Verb: v},
			ra{Group: "cert-manager.io", Resource: "certificaterequests", Verb: v, Namespace: appsNamespace},
			ra{Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Verb: v},
			ra{Resource: "namespaces", Verb: v, Name: appsNamespace},
		)
	}
	for _, v := range []string{"list", "watch"} { // the cache watches every namespace
		allow = append(allow,
			ra{Group: hvcaGroup, Resource: "atlasissuers", Verb: v},
			ra{Group: "cert-manager.io", Resource: "certificaterequests", Verb: v},
		)
	}
	allow = append(allow,
		ra{Group: hvcaGroup, Resource: "atlasissuers", Subresource: "status", Verb: "patch", Namespace: appsNamespace},
		ra{Group: hvcaGroup, Resource: "atlasclusterissuers", Subresource: "status", Verb: "patch"},
		ra{Group: "cert-manager.io", Resource: "certificaterequests", Verb: "patch", Namespace: appsNamespace},
		ra{Group: "cert-manager.io", Resource: "certificaterequests", Subresource: "status", Verb: "patch", Namespace: appsNamespace},
		ra{Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Verb: "patch"},
		ra{Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: "status", Verb: "patch"},
		ra{Group: "certificates.k8s.io", Resource: "signers", Name: ourClusterIssuerSigners, Verb: "sign"},
	)
	for _, g := range []string{"", "events.k8s.io"} {
		for _, v := range []string{"create", "patch"} {
			allow = append(allow, ra{Group: g, Resource: "events", Verb: v, Namespace: appsNamespace})
		}
	}
	for _, v := range []string{"get", "list", "watch", "create", "update", "patch", "delete"} {
		allow = append(allow, ra{Group: "coordination.k8s.io", Resource: "leases", Verb: v, Namespace: s.namespace})
	}
	for _, ns := range s.readableSecret {
		for _, v := range []string{"get", "list", "watch"} {
			allow = append(allow, ra{Resource: "secrets", Verb: v, Namespace: ns})
		}
	}

	for _, ns := range append(append([]string{}, s.readableSecret...), s.unreadableSecret...) {
		for _, v := range []string{"create", "update", "patch", "delete", "deletecollection"} {
			deny = append(deny, ra{Resource: "secrets", Verb: v, Namespace: ns})
		}
	}
	for _, ns := range s.unreadableSecret {
		for _, v := range []string{"get", "list", "watch"} {
			deny = append(deny, ra{Resource: "secrets", Verb: v, Namespace: ns})
		}
	}
	if len(s.unreadableSecret) > 0 {
		deny = append(deny, ra{Resource: "secrets", Verb: "list"}, ra{Resource: "secrets", Verb: "watch"})
	}
	deny = append(deny,
		ra{Group: "coordination.k8s.io", Resource: "leases", Verb: "create", Namespace: appsNamespace},
		ra{Group: "certificates.k8s.io", Resource: "signers", Name: "example.com/*", Verb: "sign"},
		// Kubernetes CSRs are served for cluster issuers only.
		ra{Group: "certificates.k8s.io", Resource: "signers", Name: ourIssuerSigners, Verb: "sign"},
		ra{Group: "certificates.k8s.io", Resource: "signers", Name: "kubernetes.io/kube-apiserver-client", Verb: "sign"},
		ra{Group: "certificates.k8s.io", Resource: "signers", Name: ourIssuerSigners, Verb: "approve"},
		ra{Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: "approval", Verb: "update"},
		ra{Group: "cert-manager.io", Resource: "signers", Name: ourIssuerSigners, Verb: "approve"},
		ra{Group: "cert-manager.io", Resource: "certificaterequests", Verb: "delete", Namespace: appsNamespace},
		ra{Group: "cert-manager.io", Resource: "certificaterequests", Verb: "create", Namespace: appsNamespace},
		ra{Group: "cert-manager.io", Resource: "certificates", Verb: "create", Namespace: appsNamespace},
		ra{Group: hvcaGroup, Resource: "atlasissuers", Verb: "update", Namespace: appsNamespace},
		ra{Group: hvcaGroup, Resource: "atlasissuers", Verb: "delete", Namespace: appsNamespace},
		ra{Group: hvcaGroup, Resource: "atlasclusterissuers", Verb: "create"},
		ra{Resource: "configmaps", Verb: "get", Namespace: s.namespace},
		ra{Resource: "pods", Verb: "list"},
		ra{Resource: "namespaces", Verb: "update", Name: appsNamespace},
		ra{Resource: "namespaces", Verb: "delete", Name: appsNamespace},
	)

	cs := kubernetes.NewForConfigOrDie(sa)
	review := func(a ra) func(context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
				&authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &a}}, metav1.CreateOptions{})
			if err != nil {
				return false, err
			}
			return r.Status.Allowed, nil
		}
	}
	// Allowed first: once those pass, the new bindings have reached the
	// authorizer, so a denial below is a real one.
	for _, a := range allow {
		if !eventually(t, true, review(a)) {
			t.Errorf("manager cannot %s", describe(a))
		}
	}
	for _, a := range deny {
		if ok, err := review(a)(context.Background()); err != nil || ok {
			t.Errorf("manager can %s (err %v)", describe(a), err)
		}
	}
}

func describe(a authv1.ResourceAttributes) string {
	s := a.Verb + " " + a.Resource
	if a.Subresource != "" {
		s += "/" + a.Subresource
	}
	if a.Group != "" {
		s += "." + a.Group
	}
	if a.Name != "" {
		s += " " + a.Name
	}
	if a.Namespace != "" {
		return s + " in " + a.Namespace
	}
	return s + " cluster-wide"
}

// eventually polls check until it returns want or 10 s pass, and returns
// the last answer: RBAC changes reach the authorizer through an informer.
func eventually(t *testing.T, want bool, check func(context.Context) (bool, error)) bool {
	t.Helper()
	var got bool
	_ = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		ok, err := check(ctx)
		if err != nil {
			t.Logf("access check: %v", err)
			return false, nil
		}
		got = ok
		return ok == want, nil
	})
	return got
}

// saClient is a client acting as the manager; it waits until the
// manager's bindings are effective, so the calls after it test RBAC, not
// the authorizer's cache.
func saClient(t *testing.T, sa *rest.Config) client.WithWatch {
	t.Helper()
	c := newClient(t, sa)
	ok := eventually(t, true, func(ctx context.Context) (bool, error) {
		err := c.List(ctx, &v1alpha1.AtlasClusterIssuerList{})
		return err == nil, nil
	})
	if !ok {
		t.Fatal("the manager cannot list AtlasClusterIssuers")
	}
	return c
}

func mustForbid(t *testing.T, what string, err error) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Errorf("%s: want Forbidden, got %v", what, err)
	}
}

func checkIssuers(t *testing.T, sa *rest.Config) {
	ctx := context.Background()
	c := saClient(t, sa)
	var list v1alpha1.AtlasIssuerList
	if err := c.List(ctx, &list); err != nil || len(list.Items) == 0 {
		t.Fatalf("list AtlasIssuers in all namespaces: %d, %v", len(list.Items), err)
	}
	w, err := c.Watch(ctx, &v1alpha1.AtlasIssuerList{})
	if err != nil {
		t.Fatalf("watch AtlasIssuers: %v", err)
	}
	w.Stop()
	var iss v1alpha1.AtlasIssuer
	if err := c.Get(ctx, client.ObjectKey{Namespace: appsNamespace, Name: "atlas"}, &iss); err != nil {
		t.Fatal(err)
	}
	orig := iss.DeepCopy()
	meta.SetStatusCondition(&iss.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "Checking", Message: "rbac test"})
	if err := c.Status().Patch(ctx, &iss, client.MergeFrom(orig)); err != nil {
		t.Errorf("patch AtlasIssuer status: %v", err)
	}
	var ciss v1alpha1.AtlasClusterIssuer
	if err := c.Get(ctx, client.ObjectKey{Name: fixtureClusterIssuer}, &ciss); err != nil {
		t.Fatal(err)
	}
	corig := ciss.DeepCopy()
	meta.SetStatusCondition(&ciss.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "Checking", Message: "rbac test"})
	if err := c.Status().Patch(ctx, &ciss, client.MergeFrom(corig)); err != nil {
		t.Errorf("patch AtlasClusterIssuer status: %v", err)
	}

	spec := iss.DeepCopy()
	spec.Spec.AuthSecretName = "someone-else"
	mustForbid(t, "change an AtlasIssuer's spec", c.Patch(ctx, spec, client.MergeFrom(&iss)))
	mustForbid(t, "delete an AtlasIssuer", c.Delete(ctx, &iss))
}

func checkCertificateRequests(t *testing.T, sa *rest.Config) {
	ctx := context.Background()
	c := saClient(t, sa)
	var list cmapi.CertificateRequestList
	if err := c.List(ctx, &list); err != nil || len(list.Items) == 0 {
		t.Fatalf("list CertificateRequests in all namespaces: %d, %v", len(list.Items), err)
	}
	w, err := c.Watch(ctx, &cmapi.CertificateRequestList{})
	if err != nil {
		t.Fatalf("watch CertificateRequests: %v", err)
	}
	w.Stop()
	var cr cmapi.CertificateRequest
	if err := c.Get(ctx, client.ObjectKey{Namespace: appsNamespace, Name: "www"}, &cr); err != nil {
		t.Fatal(err)
	}
	// The signer persists the Atlas serial in an annotation.
	orig := cr.DeepCopy()
	metav1.SetMetaDataAnnotation(&cr.ObjectMeta, v1alpha1.SerialAnnotation, fmt.Sprint(time.Now().UnixNano()))
	if err := c.Patch(ctx, &cr, client.MergeFrom(orig)); err != nil {
		t.Errorf("annotate CertificateRequest: %v", err)
	}
	orig = cr.DeepCopy()
	cr.Status.Conditions = []cmapi.CertificateRequestCondition{{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionFalse, Reason: "Pending", Message: "rbac test"}}
	if err := c.Status().Patch(ctx, &cr, client.MergeFrom(orig)); err != nil {
		t.Errorf("patch CertificateRequest status: %v", err)
	}
	mustForbid(t, "delete a CertificateRequest", c.Delete(ctx, &cr))
}

// checkCSRs signs a Kubernetes CSR for our signer as the manager, and
// fails to sign one for another signer: the CertificateSigning admission
// plugin checks `sign` on the signer name, so this proves the rule's
// resourceNames, not only the status patch.
func checkCSRs(t *testing.T, admin, sa *rest.Config, release string) {
	ctx := context.Background()
	adminCS := kubernetes.NewForConfigOrDie(admin)
	c := saClient(t, sa)
	cs := kubernetes.NewForConfigOrDie(sa)
	csrPEM, certPEM := csrAndCertificate(t)
	for _, tc := range []struct {
		name, signer string
		allowed      bool
	}{
		{"issuer", ourIssuerSigner, false},
		{"clusterissuer", ourClusterIssuerSigner, true},
		{"foreign", foreignSigner, false},
	} {
		name, signer, allowed := release+"-"+tc.name, tc.signer, tc.allowed
		csr := &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: certificatesv1.CertificateSigningRequestSpec{
				Request:    csrPEM,
				SignerName: signer,
				Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
			},
		}
		csr, err := adminCS.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "RBACTest", Message: "approved by the test",
		})
		if _, err := adminCS.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, name, csr, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}

		var got certificatesv1.CertificateSigningRequest
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &got); err != nil {
			t.Fatalf("get CSR: %v", err)
		}
		orig := got.DeepCopy()
		metav1.SetMetaDataAnnotation(&got.ObjectMeta, v1alpha1.SerialAnnotation, "1")
		if err := c.Patch(ctx, &got, client.MergeFrom(orig)); err != nil {
			t.Errorf("annotate CSR: %v", err)
		}
		patch := fmt.Sprintf(`{"status":{"certificate":%q}}`, base64.StdEncoding.EncodeToString(certPEM))
		_, err = cs.CertificatesV1().CertificateSigningRequests().Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
		switch {
		case allowed && err != nil:
			t.Errorf("sign a CSR for %s: %v", signer, err)
		case !allowed:
			mustForbid(t, "sign a CSR for "+signer, err)
		}
	}
	var list certificatesv1.CertificateSigningRequestList
	if err := c.List(ctx, &list); err != nil {
		t.Errorf("list CSRs: %v", err)
	}
}

func checkSecrets(t *testing.T, sa *rest.Config, s managerScope) {
	ctx := context.Background()
	c := saClient(t, sa)
	for _, ns := range s.readableSecret {
		var secret corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "atlas-credentials"}, &secret); err != nil {
			t.Errorf("read the Secret in %s: %v", ns, err)
		} else if string(secret.Data["apiKey"]) != "test-key" {
			t.Errorf("Secret in %s read without its data", ns)
		}
		var list metav1.PartialObjectMetadataList
		list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			t.Errorf("list Secret metadata in %s: %v", ns, err)
		}
		mustForbid(t, "create a Secret in "+ns, c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "written-by-manager"}}))
		orig := secret.DeepCopy()
		secret.Data = map[string][]byte{"apiKey": []byte("overwritten")}
		mustForbid(t, "write a Secret in "+ns, c.Patch(ctx, &secret, client.MergeFrom(orig)))
		mustForbid(t, "delete a Secret in "+ns, c.Delete(ctx, &secret))
	}
	for _, ns := range s.unreadableSecret {
		var secret corev1.Secret
		mustForbid(t, "read the Secret in "+ns, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "atlas-credentials"}, &secret))
	}
	if len(s.unreadableSecret) > 0 {
		mustForbid(t, "list Secrets in all namespaces", c.List(ctx, &corev1.SecretList{}))
	}
}

func checkEvents(t *testing.T, sa *rest.Config) {
	ctx := context.Background()
	c := saClient(t, sa)
	regarding := corev1.ObjectReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "AtlasIssuer", Namespace: appsNamespace, Name: "atlas"}
	now := time.Now()
	core := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: appsNamespace, GenerateName: "atlas-"},
		InvolvedObject: regarding,
		Reason:         "Checked",
		Message:        "rbac test",
		Type:           corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "atlas-issuer"},
		FirstTimestamp: metav1.NewTime(now),
		LastTimestamp:  metav1.NewTime(now),
		Count:          1,
	}
	if err := c.Create(ctx, core); err != nil {
		t.Errorf("create a core Event: %v", err)
	} else {
		orig := core.DeepCopy()
		core.Count = 2
		if err := c.Patch(ctx, core, client.MergeFrom(orig)); err != nil {
			t.Errorf("patch a core Event: %v", err)
		}
	}
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: appsNamespace, GenerateName: "atlas-"},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: "hvca.globalsign.com/atlas-issuer",
		ReportingInstance:   "atlas-issuer-0",
		Action:              "Check",
		Reason:              "Checked",
		Note:                "rbac test",
		Type:                corev1.EventTypeNormal,
		Regarding:           regarding,
	}
	if err := c.Create(ctx, ev); err != nil {
		t.Errorf("create an events.k8s.io Event: %v", err)
	}
}

func checkLeases(t *testing.T, sa *rest.Config, releaseNS string) {
	ctx := context.Background()
	c := saClient(t, sa)
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: releaseNS, Name: "atlas-issuer.hvca.globalsign.com"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: new("atlas-issuer-0"), LeaseDurationSeconds: ptr.To[int32](15)},
	}
	if err := c.Create(ctx, lease); err != nil {
		t.Fatalf("create the leader election Lease: %v", err)
	}
	lease.Spec.HolderIdentity = new("atlas-issuer-1")
	if err := c.Update(ctx, lease); err != nil {
		t.Errorf("update the Lease: %v", err)
	}
	if err := c.Delete(ctx, lease); err != nil {
		t.Errorf("release the Lease: %v", err)
	}
	mustForbid(t, "create a Lease outside the release namespace", c.Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: appsNamespace, Name: "atlas-issuer.hvca.globalsign.com"},
	}))
}

// createFixture creates, as admin, a credentials Secret in each namespace
// and, once, the issuers and a CertificateRequest in appsNamespace.
func createFixture(t *testing.T, c client.Client, secretNamespaces ...string) {
	t.Helper()
	ctx := context.Background()
	create := func(obj client.Object) {
		t.Helper()
		if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create %T %s: %v", obj, client.ObjectKeyFromObject(obj), err)
		}
	}
	for _, ns := range secretNamespaces {
		create(&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "atlas-credentials"},
			Data:       map[string][]byte{"apiKey": []byte("test-key")},
		})
	}
	create(&v1alpha1.AtlasIssuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: appsNamespace, Name: "atlas"},
		Spec:       v1alpha1.AtlasIssuerSpec{AuthSecretName: "atlas-credentials"},
	})
	create(&v1alpha1.AtlasClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: fixtureClusterIssuer},
		Spec:       v1alpha1.AtlasIssuerSpec{AuthSecretName: "atlas-credentials"},
	})
	csrPEM, _ := csrAndCertificate(t)
	create(&cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: appsNamespace, Name: "www"},
		Spec: cmapi.CertificateRequestSpec{
			Request:   csrPEM,
			IssuerRef: cmmeta.IssuerReference{Group: hvcaGroup, Kind: "AtlasIssuer", Name: "atlas"},
		},
	})
}

// csrAndCertificate returns a PEM CSR and a PEM certificate for the same
// key: the API server parses both.
func csrAndCertificate(t *testing.T) (csrPEM, certPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject := pkix.Name{CommonName: "www.example.com"}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, DNSNames: []string{"www.example.com"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      subject,
		DNSNames:     []string{"www.example.com"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert})
}
