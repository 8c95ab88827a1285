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
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/version"
)

const versionLong = `Print the version of this plugin and of the atlas-issuer manager in the
cluster. The manager records its version in the status of every issuer it
checks (status.controllerVersion); the plugin reads it from the issuer named
by --issuer or --cluster-issuer, or else from the issuer checked most
recently: AtlasClusterIssuers and AtlasIssuers in all namespaces, or in
the current namespace when you may not list them cluster-wide. Before any
issuer has been checked, it reads the image tag of the manager's Deployment
(label app.kubernetes.io/name=atlas-issuer), if you may list Deployments.`

// versionInfo is what kubectl atlas version prints.
type versionInfo struct {
	Client componentVersion  `json:"client"`
	Server *componentVersion `json:"server,omitempty"`
}

// componentVersion is one binary's version and, for the manager, where it
// was read.
type componentVersion struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Source   string `json:"source,omitempty"`
}

type versionOptions struct{ readOptions }

func newVersionCommand(o *options) *cobra.Command {
	vo := &versionOptions{readOptions{options: o}}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's and the manager's versions",
		Long:  versionLong,
		Example: `  # Versions, the manager's read from the issuer checked last
  kubectl atlas version

  # The manager's version as the AtlasIssuer "atlas" in namespace "web" records it
  kubectl atlas version --issuer atlas -n web -o json`,
		Args: exactArgs(),
		RunE: runE(vo),
	}
}

// Run prints the client version, then the manager's when an issuer records
// it. A cluster that cannot be read is an error after the client line.
func (vo *versionOptions) Run(cmd *cobra.Command) error {
	info := versionInfo{Client: componentVersion{Version: version.Version, Revision: version.Revision}}
	server, err := vo.serverVersion(cmd.Context())
	info.Server = server
	if emitErr := vo.emit(vo.format, info, func(w io.Writer) {
		row(w, "Client:", "kubectl-atlas "+version.Version+" (revision "+version.Revision+")")
		switch {
		case server != nil:
			row(w, "Server:", "atlas-issuer "+server.Version+" (from "+server.Source+")")
		case err == nil:
			row(w, "Server:", "unknown (no issuer has been checked by a manager that records its version)")
		}
	}); emitErr != nil {
		return emitErr
	}
	return err
}

// serverVersion reads the manager's version from an issuer's status; nil
// when no issuer records one.
func (vo *versionOptions) serverVersion(ctx context.Context) (*componentVersion, error) {
	kc, ns, err := vo.kubeClient()
	if err != nil {
		return nil, err
	}
	var candidates []versionSource
	switch {
	case vo.issuer != "":
		var iss v1alpha1.AtlasIssuer
		if err := kc.Get(ctx, types.NamespacedName{Namespace: ns, Name: vo.issuer}, &iss); err != nil {
			return nil, kubeError(err, "issuer "+vo.issuer, "namespace "+ns, "atlasissuers", "kubectl get atlasissuers -n "+ns)
		}
		candidates = append(candidates, versionSource{name: "AtlasIssuer " + ns + "/" + iss.Name, status: iss.Status})
	case vo.clusterIssuer != "":
		var iss v1alpha1.AtlasClusterIssuer
		if err := kc.Get(ctx, types.NamespacedName{Name: vo.clusterIssuer}, &iss); err != nil {
			return nil, kubeError(err, "cluster issuer "+vo.clusterIssuer, "the cluster", "atlasclusterissuers", "kubectl get atlasclusterissuers")
		}
		candidates = append(candidates, versionSource{name: "AtlasClusterIssuer " + iss.Name, status: iss.Status})
	default:
		if candidates, err = allSources(ctx, kc, ns); err != nil {
			return nil, err
		}
	}
	if v := newest(candidates); v != nil {
		return v, nil
	}
	return deploymentVersion(ctx, kc)
}

// ManagerLabel selects the manager's Deployment: the Helm chart and the
// kustomize install both set it.
const ManagerLabel = "app.kubernetes.io/name=atlas-issuer"

// deploymentVersion is the image tag of the manager's Deployment, for a
// cluster where no issuer has been checked yet. Not finding it, or not
// being allowed to list Deployments, leaves the version unknown.
func deploymentVersion(ctx context.Context, kc client.Client) (*componentVersion, error) {
	selector, err := labels.Parse(ManagerLabel)
	if err != nil {
		return nil, err
	}
	var deployments appsv1.DeploymentList
	if err := kc.List(ctx, &deployments, client.MatchingLabelsSelector{Selector: selector}); err != nil {
		if apierrors.IsForbidden(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing Deployments labelled %s: %w", ManagerLabel, err)
	}
	for _, d := range deployments.Items {
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name == "manager" {
				return &componentVersion{
					Version: imageVersion(c.Image),
					Source:  "Deployment " + d.Namespace + "/" + d.Name + " image " + c.Image + "; no issuer has been checked yet",
				}, nil
			}
		}
	}
	return nil, nil
}

// imageVersion is an image reference's tag, or the whole reference when
// it has none (a digest alone names no version).
func imageVersion(ref string) string {
	name, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[i+1:]
	}
	return ref
}

// versionSource is one issuer's record of the manager that checked it.
type versionSource struct {
	name   string
	status v1alpha1.AtlasIssuerStatus
}

// allSources reads every issuer the user may list: cluster issuers, and
// namespaced issuers cluster-wide or, failing that, in ns.
func allSources(ctx context.Context, kc client.Client, ns string) ([]versionSource, error) {
	var out []versionSource
	var clusters v1alpha1.AtlasClusterIssuerList
	switch err := kc.List(ctx, &clusters); {
	case err == nil:
		for _, c := range clusters.Items {
			out = append(out, versionSource{name: "AtlasClusterIssuer " + c.Name, status: c.Status})
		}
	case !apierrors.IsForbidden(err):
		return nil, kubeError(err, "AtlasClusterIssuers", "the cluster", "atlasclusterissuers", "kubectl get atlasclusterissuers")
	}
	var issuers v1alpha1.AtlasIssuerList
	err := kc.List(ctx, &issuers)
	if apierrors.IsForbidden(err) {
		err = kc.List(ctx, &issuers, client.InNamespace(ns))
	}
	if err != nil {
		return nil, kubeError(err, "AtlasIssuers", "namespace "+ns, "atlasissuers", "kubectl get atlasissuers -n "+ns)
	}
	for _, i := range issuers.Items {
		out = append(out, versionSource{name: "AtlasIssuer " + i.Namespace + "/" + i.Name, status: i.Status})
	}
	return out, nil
}

// newest is the version recorded by the most recent check: after an
// upgrade, issuers not yet re-checked still name the old version.
func newest(sources []versionSource) *componentVersion {
	var best *versionSource
	for i := range sources {
		s := &sources[i]
		if s.status.ControllerVersion == "" || s.status.LastCheckTime == nil {
			continue
		}
		if best == nil || s.status.LastCheckTime.After(best.status.LastCheckTime.Time) {
			best = s
		}
	}
	if best == nil {
		return nil
	}
	return &componentVersion{
		Version: best.status.ControllerVersion,
		Source:  fmt.Sprintf("%s, checked %s", best.name, formatTime(best.status.LastCheckTime.Time)),
	}
}
