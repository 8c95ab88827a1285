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

// Package chart tests the Helm chart, the kustomize manifests and the
// Dockerfile: lint and golden renders, the values schema and its generated
// docs, the CRD templates against the generated CRDs, the chart's RBAC
// against the generated ClusterRole, and, on a real API server (envtest),
// that the chart's ServiceAccount can do everything the manager needs and
// nothing it must not.
//
// Run it with `make test-chart`; it needs bin/helm, bin/kubectl and
// KUBEBUILDER_ASSETS (bin/k8s). `go test ./test/chart -update` rewrites the
// golden files.
package chart
