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

// Package migrate plans the move from GlobalSign's earlier Atlas issuer
// (kinds Issuer and ClusterIssuer in the hvca.globalsign.com group) to
// AtlasIssuer and AtlasClusterIssuer. Planning is a pure function of what
// the cluster holds, so that a dry run and --apply agree, and a second run
// after --apply plans nothing.
package migrate

import (
	"bytes"
	"cmp"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/credentials"
)

// The earlier issuer's kinds share our API group.
const (
	OldIssuerKind        = "Issuer"
	OldClusterIssuerKind = "ClusterIssuer"
	// OldVersion is the earlier issuer's only API version.
	OldVersion = "v1alpha1"
)

// cert-manager's annotations on Ingresses and Gateways that name an issuer.
const (
	AnnotationIssuer      = "cert-manager.io/issuer"
	AnnotationIssuerKind  = "cert-manager.io/issuer-kind"
	AnnotationIssuerGroup = "cert-manager.io/issuer-group"
)

// MigratedFromAnnotation on an object the migration created names the
// earlier object it came from.
const MigratedFromAnnotation = "hvca.globalsign.com/migrated-from"

// oldSecretKeys maps the earlier issuer's Secret keys to ours.
var oldSecretKeys = map[string]string{
	"apikey":    credentials.KeyAPIKey,
	"apisecret": credentials.KeyAPISecret,
	"cert":      credentials.KeyCertificate,
	"certkey":   credentials.KeyPrivateKey,
}

// OldIssuer is an Issuer or ClusterIssuer of the earlier issuer.
type OldIssuer struct {
	Kind           string
	Namespace      string
	Name           string
	URL            string
	AuthSecretName string
}

// Referrer is an object that names an issuer: a Certificate by its
// spec.issuerRef, an Ingress or Gateway by cert-manager's annotations.
type Referrer struct {
	// Kind is Certificate, Ingress or Gateway.
	Kind      string
	Namespace string
	Name      string
	// IssuerRef is a Certificate's spec.issuerRef (group, kind, name).
	IssuerRef *IssuerRef
	// Annotations are an Ingress's or Gateway's annotations.
	Annotations map[string]string
}

// IssuerRef is cert-manager's reference to an issuer.
type IssuerRef struct {
	Group string
	Kind  string
	Name  string
}

// Inventory is what the cluster holds that the migration reads.
type Inventory struct {
	Old       []OldIssuer
	Issuers   map[types.NamespacedName]*v1alpha1.AtlasIssuer
	Clusters  map[string]*v1alpha1.AtlasClusterIssuer
	Secrets   map[types.NamespacedName]*corev1.Secret
	Referrers []Referrer
}

// Options are where the earlier and the new controller read ClusterIssuer
// Secrets from.
type Options struct {
	// FromNamespace is the earlier controller's cluster resource namespace.
	FromNamespace string
	// ToNamespace is our controller's cluster resource namespace.
	ToNamespace string
}

// Action is what a step does.
type Action string

// Actions of a step.
const (
	Create Action = "create"
	Patch  Action = "patch"
)

// Change is one field a patch sets; Old is empty when the field is new.
type Change struct {
	Field string
	Old   string
	New   string
}

// Step is one object to create or change.
type Step struct {
	Action Action
	// Kind, Namespace and Name identify the object.
	Kind      string
	Namespace string
	Name      string
	// From says where a created object comes from, for the plan.
	From string
	// Object is the object to create.
	Object any
	// Changes are the fields a patch sets.
	Changes []Change
	// MergePatch is the JSON merge patch of a patch step.
	MergePatch map[string]any
}

// Plan is the migration: steps in the order they must run (Secrets, then
// issuers, then the objects that name them), and what it leaves alone.
type Plan struct {
	Steps []Step
	// Unchanged counts objects already migrated.
	Unchanged int
	// Warnings are what the migration cannot do by itself.
	Warnings []string
}

// NewKind is our kind for an issuerRef in our group; ok is false when the
// reference is not to the earlier issuer. An empty kind is cert-manager's
// default, Issuer.
func NewKind(group, kind string) (string, bool) {
	if group != v1alpha1.GroupVersion.Group {
		return "", false
	}
	switch kind {
	case "", OldIssuerKind:
		return "AtlasIssuer", true
	case OldClusterIssuerKind:
		return "AtlasClusterIssuer", true
	}
	return "", false
}

// Build plans the migration of what inv holds.
func Build(inv Inventory, opts Options) Plan {
	var p Plan
	var secrets, issuers []Step
	for _, old := range inv.Old {
		switch old.Kind {
		case OldIssuerKind:
			issuers = p.issuer(issuers, inv, old)
		case OldClusterIssuerKind:
			secrets = p.clusterSecret(secrets, inv, old, opts)
			issuers = p.clusterIssuer(issuers, inv, old)
		}
	}
	p.Steps = append(append(secrets, issuers...), p.referrers(inv.Referrers)...)
	return p
}

func from(old OldIssuer) string {
	if old.Namespace == "" {
		return old.Kind + " " + old.Name
	}
	return old.Kind + " " + old.Namespace + "/" + old.Name
}

func spec(old OldIssuer) v1alpha1.AtlasIssuerSpec {
	return v1alpha1.AtlasIssuerSpec{URL: old.URL, AuthSecretName: old.AuthSecretName}
}

func objectMeta(namespace, name string, old OldIssuer) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Namespace:   namespace,
		Name:        name,
		Annotations: map[string]string{MigratedFromAnnotation: from(old)},
		Labels:      map[string]string{"app.kubernetes.io/created-by": "kubectl-atlas-migrate"},
	}
}

// sameSpec compares what the migration sets; an empty URL is the default.
func sameSpec(have v1alpha1.AtlasIssuerSpec, want v1alpha1.AtlasIssuerSpec) bool {
	url := func(u string) string {
		if u == "" {
			return v1alpha1.DefaultURL
		}
		return u
	}
	return url(have.URL) == url(want.URL) && have.AuthSecretName == want.AuthSecretName
}

func (p *Plan) issuer(steps []Step, inv Inventory, old OldIssuer) []Step {
	key := types.NamespacedName{Namespace: old.Namespace, Name: old.Name}
	want := spec(old)
	if have, ok := inv.Issuers[key]; ok {
		if sameSpec(have.Spec, want) {
			p.Unchanged++
		} else {
			p.Warnings = append(p.Warnings, "AtlasIssuer "+key.String()+" exists with another url or authSecretName than "+from(old)+"; left alone")
		}
		return steps
	}
	obj := &v1alpha1.AtlasIssuer{ObjectMeta: objectMeta(old.Namespace, old.Name, old), Spec: want}
	obj.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("AtlasIssuer"))
	return append(steps, Step{Action: Create, Kind: "AtlasIssuer", Namespace: old.Namespace, Name: old.Name, From: from(old), Object: obj})
}

func (p *Plan) clusterIssuer(steps []Step, inv Inventory, old OldIssuer) []Step {
	want := spec(old)
	if have, ok := inv.Clusters[old.Name]; ok {
		if sameSpec(have.Spec, want) {
			p.Unchanged++
		} else {
			p.Warnings = append(p.Warnings, "AtlasClusterIssuer "+old.Name+" exists with another url or authSecretName than "+from(old)+"; left alone")
		}
		return steps
	}
	obj := &v1alpha1.AtlasClusterIssuer{ObjectMeta: objectMeta("", old.Name, old), Spec: want}
	obj.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("AtlasClusterIssuer"))
	return append(steps, Step{Action: Create, Kind: "AtlasClusterIssuer", Name: old.Name, From: from(old), Object: obj})
}

// clusterSecret copies a ClusterIssuer's Secret into our cluster resource
// namespace, under our key names, when the two controllers read from
// different namespaces. An Issuer's Secret stays where it is: both read it
// from the issuer's namespace, and our parser accepts the earlier key names.
func (p *Plan) clusterSecret(steps []Step, inv Inventory, old OldIssuer, opts Options) []Step {
	if opts.FromNamespace == opts.ToNamespace {
		return steps
	}
	src := types.NamespacedName{Namespace: opts.FromNamespace, Name: old.AuthSecretName}
	dst := types.NamespacedName{Namespace: opts.ToNamespace, Name: old.AuthSecretName}
	oldSecret, ok := inv.Secrets[src]
	if !ok {
		p.Warnings = append(p.Warnings, "Secret "+src.String()+" of "+from(old)+" not found; copy it to "+dst.String()+
			" yourself, or pass --from-cluster-resource-namespace with the earlier controller's cluster resource namespace")
		return steps
	}
	data := convertSecretData(oldSecret.Data)
	if have, ok := inv.Secrets[dst]; ok {
		if sameData(have.Data, data) {
			p.Unchanged++
		} else {
			p.Warnings = append(p.Warnings, "Secret "+dst.String()+" exists and differs from "+src.String()+"; left alone")
		}
		return steps
	}
	for _, s := range steps {
		if s.Kind == "Secret" && s.Namespace == dst.Namespace && s.Name == dst.Name {
			return steps // two ClusterIssuers share one Secret
		}
	}
	obj := &corev1.Secret{ObjectMeta: objectMeta(dst.Namespace, dst.Name, old), Type: corev1.SecretTypeOpaque, Data: data}
	obj.Annotations[MigratedFromAnnotation] = "Secret " + src.String()
	obj.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return append(steps, Step{Action: Create, Kind: "Secret", Namespace: dst.Namespace, Name: dst.Name, From: "Secret " + src.String(), Object: obj})
}

// convertSecretData renames the earlier issuer's keys to ours and keeps
// any other key as it is; a key present under both names keeps ours.
func convertSecretData(in map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(in))
	for k, v := range in {
		if _, old := oldSecretKeys[k]; !old {
			out[k] = v
		}
	}
	for oldKey, newKey := range oldSecretKeys {
		if v, ok := in[oldKey]; ok {
			if _, taken := out[newKey]; !taken {
				out[newKey] = v
			}
		}
	}
	return out
}

func sameData(a, b map[string][]byte) bool {
	return maps.EqualFunc(a, b, bytes.Equal)
}

// referrers rewrites the kind in every reference to the earlier issuer.
func (p *Plan) referrers(refs []Referrer) []Step {
	var steps []Step
	for _, r := range refs {
		step := Step{Action: Patch, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
		switch {
		case r.IssuerRef != nil:
			kind, ok := NewKind(r.IssuerRef.Group, r.IssuerRef.Kind)
			if !ok {
				continue
			}
			step.Changes = []Change{{Field: "spec.issuerRef.kind", Old: r.IssuerRef.Kind, New: kind}}
			step.MergePatch = map[string]any{"spec": map[string]any{"issuerRef": map[string]any{"kind": kind}}}
		case r.Annotations[AnnotationIssuer] != "":
			kind, ok := NewKind(r.Annotations[AnnotationIssuerGroup], r.Annotations[AnnotationIssuerKind])
			if !ok {
				continue
			}
			step.Changes = []Change{{Field: "metadata.annotations." + AnnotationIssuerKind, Old: r.Annotations[AnnotationIssuerKind], New: kind}}
			step.MergePatch = map[string]any{"metadata": map[string]any{"annotations": map[string]any{AnnotationIssuerKind: kind}}}
		default:
			continue
		}
		steps = append(steps, step)
	}
	// Ingresses and Gateways go first: cert-manager's ingress-shim owns the
	// Certificates it made for them and would set a Certificate changed
	// before its Ingress back to the earlier kind, ordering a certificate
	// from the earlier issuer on the way.
	slices.SortStableFunc(steps, func(a, b Step) int {
		return cmp.Or(
			cmp.Compare(boolRank(a.Kind == "Certificate"), boolRank(b.Kind == "Certificate")),
			cmp.Compare(a.Kind+"/"+a.Namespace+"/"+a.Name, b.Kind+"/"+b.Namespace+"/"+b.Name),
		)
	})
	return steps
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
