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

package plugin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/migrate"
)

// DefaultFromClusterResourceNamespace is where the earlier issuer's
// controller runs when installed from its kustomize manifests, and so where
// it reads ClusterIssuer Secrets.
const DefaultFromClusterResourceNamespace = "atlas-issuer-system"

const migrateLong = `Migrate from GlobalSign's earlier Atlas issuer (kinds Issuer and
ClusterIssuer in the hvca.globalsign.com group) to AtlasIssuer and
AtlasClusterIssuer, across the whole cluster:

  1. every Issuer gets an AtlasIssuer of the same name and namespace, with
     the same url and authSecretName; its Secret is used as it is (the
     earlier key names apikey, apisecret, cert and certkey are accepted);
  2. every ClusterIssuer gets an AtlasClusterIssuer of the same name; its
     Secret is copied from the earlier controller's namespace
     (--from-cluster-resource-namespace) to this controller's
     (--cluster-resource-namespace), with the keys renamed to apiKey,
     apiSecret, tls.crt and tls.key;
  3. Certificates whose spec.issuerRef names an Issuer or ClusterIssuer of
     the group, and Ingresses and Gateways whose cert-manager.io/issuer-kind
     annotation does (with cert-manager.io/issuer-group: hvca.globalsign.com),
     are changed to name AtlasIssuer or AtlasClusterIssuer.

Without --apply nothing changes: the plan is printed as a diff (Secret
values never appear, only their sizes). With --apply the plan is carried
out. The earlier objects are never deleted or changed, and an object that
already exists is left alone (a differing one is reported), so running the
command again is safe and plans nothing once the migration is done.

cert-manager re-issues a Certificate whose issuerRef changes, so applying
the plan orders one certificate per migrated Certificate from the account.
Once the new issuers are Ready (kubectl get atlasissuers -A), uninstall the
earlier controller and delete its objects yourself.`

// migrateOptions are the settings of kubectl atlas migrate.
type migrateOptions struct {
	*options
	apply         bool
	fromNamespace string
}

func newMigrateCommand(o *options) *cobra.Command {
	mo := &migrateOptions{options: o}
	cmd := &cobra.Command{
		Use:   "migrate [--apply]",
		Short: "Move from GlobalSign's earlier Issuer/ClusterIssuer to AtlasIssuer/AtlasClusterIssuer",
		Long:  migrateLong,
		Example: `  # Show what would change
  kubectl atlas migrate

  # Do it
  kubectl atlas migrate --apply`,
		RunE: runE(mo),
	}
	cmd.Flags().BoolVar(&mo.apply, "apply", false, "carry out the plan instead of only printing it")
	cmd.Flags().StringVar(&mo.fromNamespace, "from-cluster-resource-namespace", DefaultFromClusterResourceNamespace,
		"namespace the earlier controller read ClusterIssuer Secrets from")
	return cmd
}

// Validate takes no arguments.
func (mo *migrateOptions) Validate(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError(cmd, "unexpected argument %q", args[0])
	}
	if mo.fromNamespace == "" {
		return usageError(cmd, "--from-cluster-resource-namespace must not be empty")
	}
	return nil
}

// Run reads the cluster, prints the plan and, with --apply, carries it out.
func (mo *migrateOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	kc, _, err := mo.kubeClient()
	if err != nil {
		return err
	}
	opts := migrate.Options{FromNamespace: mo.fromNamespace, ToNamespace: mo.clusterResourceNamespace}
	inv, err := inventory(ctx, kc, opts)
	if err != nil {
		return err
	}
	if len(inv.Old) == 0 {
		_, err := fmt.Fprintln(mo.streams.ErrOut, "no Issuer or ClusterIssuer of hvca.globalsign.com found: nothing to migrate")
		return err
	}
	plan := migrate.Build(inv, opts)
	if err := migrate.Render(mo.streams.Out, plan); err != nil {
		return err
	}
	if !mo.apply {
		_, err := fmt.Fprintln(mo.streams.ErrOut, "dry run: nothing was changed; run again with --apply to carry out this plan")
		return err
	}
	return mo.carryOut(ctx, kc, plan)
}

// referrerKinds are the kinds whose objects can name an issuer.
var referrerKinds = []schema.GroupVersionKind{
	{Group: "cert-manager.io", Version: "v1", Kind: "Certificate"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
	{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"},
}

// inventory reads what the migration needs. Kinds the cluster does not
// serve (no earlier issuer, no Gateway API) hold nothing.
func inventory(ctx context.Context, kc client.Client, opts migrate.Options) (migrate.Inventory, error) {
	inv := migrate.Inventory{
		Issuers:  map[types.NamespacedName]*v1alpha1.AtlasIssuer{},
		Clusters: map[string]*v1alpha1.AtlasClusterIssuer{},
		Secrets:  map[types.NamespacedName]*corev1.Secret{},
	}
	for _, kind := range []string{migrate.OldIssuerKind, migrate.OldClusterIssuerKind} {
		gvk := schema.GroupVersionKind{Group: v1alpha1.GroupVersion.Group, Version: migrate.OldVersion, Kind: kind}
		items, err := listKind(ctx, kc, gvk)
		if err != nil {
			return inv, err
		}
		for _, u := range items {
			url, _, _ := unstructured.NestedString(u.Object, "spec", "url")
			secret, _, _ := unstructured.NestedString(u.Object, "spec", "authSecretName")
			inv.Old = append(inv.Old, migrate.OldIssuer{Kind: kind, Namespace: u.GetNamespace(), Name: u.GetName(), URL: url, AuthSecretName: secret})
		}
	}
	if len(inv.Old) == 0 {
		return inv, nil
	}
	if err := readNew(ctx, kc, &inv, opts); err != nil {
		return inv, err
	}
	for _, gvk := range referrerKinds {
		items, err := listKind(ctx, kc, gvk)
		if err != nil {
			return inv, err
		}
		for _, u := range items {
			r := migrate.Referrer{Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName(), Annotations: u.GetAnnotations()}
			if gvk.Kind == "Certificate" {
				ref, _, _ := unstructured.NestedStringMap(u.Object, "spec", "issuerRef")
				r.IssuerRef = &migrate.IssuerRef{Group: ref["group"], Kind: ref["kind"], Name: ref["name"]}
			}
			inv.Referrers = append(inv.Referrers, r)
		}
	}
	return inv, nil
}

// readNew reads our issuers and the Secrets of the earlier ClusterIssuers,
// at their old and new places.
func readNew(ctx context.Context, kc client.Client, inv *migrate.Inventory, opts migrate.Options) error {
	var issuers v1alpha1.AtlasIssuerList
	if err := kc.List(ctx, &issuers); err != nil {
		return fmt.Errorf("listing AtlasIssuers: %w", err)
	}
	for i := range issuers.Items {
		inv.Issuers[client.ObjectKeyFromObject(&issuers.Items[i])] = &issuers.Items[i]
	}
	var clusters v1alpha1.AtlasClusterIssuerList
	if err := kc.List(ctx, &clusters); err != nil {
		return fmt.Errorf("listing AtlasClusterIssuers: %w", err)
	}
	for i := range clusters.Items {
		inv.Clusters[clusters.Items[i].Name] = &clusters.Items[i]
	}
	for _, old := range inv.Old {
		if old.Kind != migrate.OldClusterIssuerKind || old.AuthSecretName == "" {
			continue
		}
		for _, ns := range []string{opts.FromNamespace, opts.ToNamespace} {
			key := types.NamespacedName{Namespace: ns, Name: old.AuthSecretName}
			var s corev1.Secret
			switch err := kc.Get(ctx, key, &s); {
			case err == nil:
				inv.Secrets[key] = &s
			case !apierrors.IsNotFound(err):
				return fmt.Errorf("reading Secret %s: %w", key, err)
			}
		}
	}
	return nil
}

// listKind lists every object of a kind in all namespaces; a kind the
// cluster does not serve has none.
func listKind(ctx context.Context, kc client.Client, gvk schema.GroupVersionKind) ([]unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := kc.List(ctx, list); err != nil {
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing %s: %w", gvk.GroupKind(), err)
	}
	return list.Items, nil
}

// carryOut runs the plan's steps in order and stops at the first error;
// running the command again continues where it stopped.
func (mo *migrateOptions) carryOut(ctx context.Context, kc client.Client, plan migrate.Plan) error {
	for _, s := range plan.Steps {
		name := s.Kind + " " + types.NamespacedName{Namespace: s.Namespace, Name: s.Name}.String()
		switch s.Action {
		case migrate.Create:
			switch err := kc.Create(ctx, s.Object.(client.Object)); {
			case apierrors.IsAlreadyExists(err):
				// Created since the plan was read; a second run compares it.
				_, _ = fmt.Fprintf(mo.streams.ErrOut, "%s already exists, left alone\n", name)
			case err != nil:
				return fmt.Errorf("creating %s: %w", name, err)
			default:
				_, _ = fmt.Fprintf(mo.streams.ErrOut, "created %s\n", name)
			}
		case migrate.Patch:
			body, err := json.Marshal(s.MergePatch)
			if err != nil {
				return err
			}
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(referrerGVK(s.Kind))
			u.SetNamespace(s.Namespace)
			u.SetName(s.Name)
			if err := kc.Patch(ctx, u, client.RawPatch(types.MergePatchType, body)); err != nil {
				return fmt.Errorf("changing %s: %w", name, err)
			}
			_, _ = fmt.Fprintf(mo.streams.ErrOut, "changed %s\n", name)
		}
	}
	_, err := fmt.Fprintln(mo.streams.ErrOut, "migration applied; the earlier objects are untouched: delete them once the new issuers are Ready")
	return err
}

func referrerGVK(kind string) schema.GroupVersionKind {
	for _, gvk := range referrerKinds {
		if gvk.Kind == kind {
			return gvk
		}
	}
	return schema.GroupVersionKind{}
}
