package main

import (
	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/cmd/rollout"
)

// newRolloutCommand is `navarch rollout`: kubectl rollout status,
// history, undo [--to-revision N], pause, resume and restart. The
// Deployment controller keeps the revision annotations these read.
func newRolloutCommand(k *kubeClient) *cobra.Command {
	return k.attach(rollout.NewCmdRollout("navarch", k.factory, k.streams))
}
