package main

import (
	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/cmd/logs"
)

// newLogsCommand is `navarch logs`: kubectl logs. The API server proxies
// the request to the kubelet of the pod's node.
func newLogsCommand(k *kubeClient) *cobra.Command {
	return k.attach(logs.NewCmdLogs(k.factory, k.streams))
}
