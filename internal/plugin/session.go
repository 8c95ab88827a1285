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
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/credentials"
)

// session is one command's connection: the Kubernetes client, the issuer it
// resolved and the Atlas client built from the issuer's Secret.
type session struct {
	kube      client.Client
	namespace string
	// issuer names the issuer in messages: "AtlasIssuer web/atlas".
	issuer string
	url    string
	atlas  *atlas.Client
}

// usageError reports a mistake on the command line; it carries the hint to
// the command's help because SilenceUsage keeps cobra from printing it.
func usageError(cmd *cobra.Command, format string, args ...any) error {
	return fmt.Errorf("%s\nSee '%s --help'.", fmt.Sprintf(format, args...), cmd.CommandPath())
}

func (o *options) clientConfig() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &o.overrides)
}

// kubeClient connects to the cluster of the kubeconfig and returns the
// namespace commands work in.
func (o *options) kubeClient() (client.Client, string, error) {
	cc := o.clientConfig()
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", kubeconfigError(err)
	}
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, "", kubeconfigError(err)
	}
	rc.UserAgent = "kubectl-atlas"
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, "", err
	}
	if err := appsv1.AddToScheme(scheme); err != nil {
		return nil, "", err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, "", err
	}
	kc, err := client.New(rc, client.Options{Scheme: scheme})
	if err != nil {
		return nil, "", fmt.Errorf("connecting to the cluster at %s: %w", rc.Host, err)
	}
	return kc, ns, nil
}

// kubeconfigError replaces client-go's advice to set KUBERNETES_MASTER,
// which kubectl users never do.
func kubeconfigError(err error) error {
	if clientcmd.IsEmptyConfig(err) {
		return errors.New("no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config")
	}
	return fmt.Errorf("kubeconfig: %w", err)
}

// connect resolves the issuer named by --issuer or --cluster-issuer and
// builds the Atlas client from its Secret, as the controller does.
func (o *options) connect(ctx context.Context, cmd *cobra.Command) (*session, error) {
	if (o.issuer == "") == (o.clusterIssuer == "") {
		return nil, usageError(cmd, "name exactly one issuer whose Atlas account to use: --issuer NAME (an AtlasIssuer) or --cluster-issuer NAME (an AtlasClusterIssuer)")
	}
	kc, ns, err := o.kubeClient()
	if err != nil {
		return nil, err
	}
	s := &session{kube: kc, namespace: ns}

	var obj client.Object
	if o.issuer != "" {
		obj = &v1alpha1.AtlasIssuer{}
		s.issuer = "AtlasIssuer " + ns + "/" + o.issuer
		if err := kc.Get(ctx, types.NamespacedName{Namespace: ns, Name: o.issuer}, obj); err != nil {
			return nil, kubeError(err, "issuer "+o.issuer, "namespace "+ns, "atlasissuers", "kubectl get atlasissuers -n "+ns)
		}
	} else {
		obj = &v1alpha1.AtlasClusterIssuer{}
		s.issuer = "AtlasClusterIssuer " + o.clusterIssuer
		if err := kc.Get(ctx, types.NamespacedName{Name: o.clusterIssuer}, obj); err != nil {
			return nil, kubeError(err, "cluster issuer "+o.clusterIssuer, "the cluster", "atlasclusterissuers", "kubectl get atlasclusterissuers")
		}
	}
	resolved, err := v1alpha1.Resolve(obj, o.clusterResourceNamespace)
	if err != nil {
		return nil, err
	}
	s.url = resolved.URL
	secretKey := resolved.Secret
	loader := &credentials.Loader{
		Cache: credentials.NewCache(atlas.Config{Timeout: o.atlasTimeout, UserAgent: "kubectl-atlas"}),
		API:   kc,
		Clock: o.clock,
	}
	cl, _, err := loader.Load(ctx, secretKey, credentials.Endpoint{URL: s.url, CABundle: resolved.Spec.CABundle})
	if err != nil {
		var ce *credentials.Error
		switch {
		case errors.As(err, &ce) && ce.Reason == credentials.ReasonSecretNotFound && o.clusterIssuer != "":
			return nil, fmt.Errorf("%s: %w (AtlasClusterIssuer Secrets are read from --cluster-resource-namespace, here %q)", s.issuer, err, o.clusterResourceNamespace)
		case errors.As(err, &ce):
			return nil, fmt.Errorf("%s: %w", s.issuer, err)
		case apierrors.IsForbidden(err):
			return nil, fmt.Errorf("%s: you may not read its Secret %s: %w", s.issuer, secretKey, err)
		}
		return nil, fmt.Errorf("%s: %w", s.issuer, err)
	}
	s.atlas = cl
	return s, nil
}

// kubeError turns a failed Get of an issuer into what the user should do.
func kubeError(err error, what, where, resource, listCmd string) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s not found in %s (%s lists them)", what, where, listCmd)
	case meta.IsNoMatchError(err):
		return fmt.Errorf("this cluster does not serve %s.%s/%s: is atlas-issuer installed?", resource, v1alpha1.GroupVersion.Group, v1alpha1.GroupVersion.Version)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("you may not read %s in %s: %w", what, where, err)
	}
	return fmt.Errorf("reading %s in %s: %w", what, where, err)
}

// explain turns an error from an Atlas call into a sentence naming the
// issuer. doing says what was attempted ("revoking certificate X").
// Messages come from Atlas's description and the HTTP status only: neither
// carries credentials or tokens.
func (s *session) explain(doing string, err error) error {
	if err == nil {
		return nil
	}
	var unknownCA x509.UnknownAuthorityError
	var verifyErr *tls.CertificateVerificationError
	ae, isAtlas := errors.AsType[*atlas.Error](err)
	switch {
	case atlas.IsAuth(err):
		return fmt.Errorf("Atlas refused the API key and secret of %s (%s)", s.issuer, ae.Status())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", doing, err)
	case isAtlas:
		return fmt.Errorf("%s: Atlas answered %s", doing, ae.Summary())
	case errors.As(err, &unknownCA), errors.As(err, &verifyErr):
		return fmt.Errorf("%s: the server certificate of %s is not trusted (%w); for a private endpoint set spec.caBundle of %s", doing, s.url, err, s.issuer)
	case atlas.IsTLSRejection(err):
		return fmt.Errorf("Atlas refused the mTLS client certificate of %s: %w", s.issuer, err)
	}
	return fmt.Errorf("%s: cannot reach Atlas at %s: %w", doing, s.url, err)
}
