package main

import (
	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/cmd/get"
	utilcomp "k8s.io/kubectl/pkg/util/completion"
)

// newGetCommand is `navarch get`: kubectl get.
func newGetCommand(k *kubeClient) *cobra.Command {
	cmd := get.NewCmdGet("navarch", k.factory, k.streams)
	cmd.ValidArgsFunction = utilcomp.ResourceTypeAndNameCompletionFunc(k.factory)
	return k.attach(cmd)
}
