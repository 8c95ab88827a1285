//go:build tools

// Package tools pins the Kubernetes commands that envtest and the tests use.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
