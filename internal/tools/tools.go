//go:build tools

// Package tools pins the modules navarch's packages build on, so that the
// module graph holds them before every package imports them.
package tools

import (
	_ "github.com/containerd/containerd/v2/client"
	_ "github.com/containernetworking/cni/libcni"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/google/go-containerregistry/pkg/v1/tarball"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/viper"
	_ "go.etcd.io/etcd/client/v3"
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "k8s.io/apimachinery/pkg/util/strategicpatch"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/tools/leaderelection"
	_ "k8s.io/kube-openapi/pkg/spec3"
	_ "k8s.io/kubectl/pkg/cmd"
	_ "sigs.k8s.io/knftables"
	_ "sigs.k8s.io/structured-merge-diff/v6/typed"
)
