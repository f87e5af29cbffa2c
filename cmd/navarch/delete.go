package main

import (
	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/cmd/delete"
)

// newDeleteCommand is `navarch delete`: kubectl delete.
func newDeleteCommand(k *kubeClient) *cobra.Command {
	return k.attach(delete.NewCmdDelete(k.factory, k.streams))
}
