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
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestMetricsSecurity: by default the metrics endpoint is HTTPS with the
// API server's authentication and authorization, the manager may ask the
// API server about callers, readers are bound to the reader role, and the
// ServiceMonitor scrapes with a token, verifying the certificate when one
// is given; metrics.secure=false turns all of it off.
func TestMetricsSecurity(t *testing.T) {
	t.Parallel()
	reviews := []grant{{group: "authentication.k8s.io", resource: "tokenreviews", verb: "create"},
		{group: "authorization.k8s.io", resource: "subjectaccessreviews", verb: "create"}}
	for _, tc := range []struct {
		name     string
		args     []string
		secure   bool
		verified bool
	}{
		{"default", nil, true, false},
		{"with a certificate", []string{"--set", "metrics.certificateSecret=metrics-tls"}, true, true},
		{"insecure", []string{"--set", "metrics.secure=false"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--set", "serviceMonitor.enabled=true",
				"--set", "metrics.readers[0].kind=ServiceAccount", "--set", "metrics.readers[0].name=prometheus",
				"--set", "metrics.readers[0].namespace=monitoring"}, tc.args...)
			objs := render(t, releaseName, releaseNamespace, args...)
			c := as[appsv1.Deployment](t, only(t, objs, "Deployment")).Spec.Template.Spec.Containers[0]
			wantArg := "--metrics-secure=false"
			if tc.secure {
				wantArg = "--metrics-secure=true"
			}
			if !slices.Contains(c.Args, wantArg) {
				t.Errorf("args %v lack %s", c.Args, wantArg)
			}
			if got := slices.Contains(c.Args, "--metrics-cert-dir=/etc/atlas-issuer/metrics-tls"); got != tc.verified ||
				tc.verified != slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "metrics-tls" }) {
				t.Errorf("certificate directory flag %v, mounts %+v", got, c.VolumeMounts)
			}

			var manager []rbacv1.PolicyRule
			reader, binding := false, false
			for _, o := range ofKind(objs, "ClusterRole") {
				r := as[rbacv1.ClusterRole](t, o)
				switch o.GetName() {
				case releaseName:
					manager = r.Rules
				case releaseName + "-metrics-reader":
					reader = len(r.Rules) == 1 && slices.Equal(r.Rules[0].NonResourceURLs, []string{"/metrics"}) &&
						slices.Equal(r.Rules[0].Verbs, []string{"get"})
				}
			}
			for _, o := range ofKind(objs, "ClusterRoleBinding") {
				b := as[rbacv1.ClusterRoleBinding](t, o)
				binding = binding || (b.RoleRef.Name == releaseName+"-metrics-reader" &&
					slices.Equal(b.Subjects, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "prometheus", Namespace: "monitoring"}}))
			}
			for _, g := range reviews {
				if covers(manager, g) != tc.secure {
					t.Errorf("ClusterRole grants %s: %v, want %v", g, !tc.secure, tc.secure)
				}
			}
			if reader != tc.secure || binding != tc.secure {
				t.Errorf("reader ClusterRole %v, bound to the readers %v; want %v", reader, binding, tc.secure)
			}

			svc := as[corev1.Service](t, only(t, objs, "Service"))
			sm := only(t, objs, "ServiceMonitor")
			eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
			ep, _ := eps[0].(map[string]any)
			if ep["port"] != svc.Spec.Ports[0].Name || svc.Spec.Ports[0].TargetPort.String() != c.Ports[0].Name {
				t.Errorf("ServiceMonitor port %v, Service port %+v, container port %+v do not line up", ep["port"], svc.Spec.Ports[0], c.Ports[0])
			}
			if (ep["scheme"] == "https") != tc.secure || (ep["bearerTokenFile"] != nil) != tc.secure {
				t.Errorf("ServiceMonitor endpoint %v, secure %v", ep, tc.secure)
			}
			skip, _, _ := unstructured.NestedBool(ep, "tlsConfig", "insecureSkipVerify")
			ca, _, _ := unstructured.NestedString(ep, "tlsConfig", "ca", "secret", "name")
			if tc.secure && (skip == tc.verified || (ca == "metrics-tls") != tc.verified) {
				t.Errorf("ServiceMonitor tlsConfig %v: verified %v", ep["tlsConfig"], tc.verified)
			}
		})
	}
}
