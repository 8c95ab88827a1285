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
