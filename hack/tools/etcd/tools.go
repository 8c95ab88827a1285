//go:build tools

// Package tools pins the etcd server that envtest runs.
package tools

import _ "go.etcd.io/etcd/server/v3"
