package main

import (
	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/cmd/describe"
)

// newDescribeCommand is `navarch describe`: kubectl describe.
func newDescribeCommand(k *kubeClient) *cobra.Command {
	return k.attach(describe.NewCmdDescribe("navarch", k.factory, k.streams))
}
