//go:build tools

// Package tools pins the kube-apiserver and kubectl main packages as
// dependencies of this module, so that `go build
// k8s.io/kubernetes/cmd/kube-apiserver` (and .../kubectl) resolves them with
// the versions in go.mod and go.sum.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
