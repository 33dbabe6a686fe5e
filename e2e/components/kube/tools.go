//go:build tools

// Package tools pins the Kubernetes commands the cluster-in-a-box builds, so `go mod tidy` keeps their
// dependencies and `go build k8s.io/kubernetes/cmd/<name>` works from this module.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
