package main

import (
	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/cmd/apply"
)

// newApplyCommand is `navarch apply`: kubectl apply -f FILE|DIR|-.
func newApplyCommand(k *kubeClient) *cobra.Command {
	return k.attach(apply.NewCmdApply("navarch", k.factory, k.streams))
}
