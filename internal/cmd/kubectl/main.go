// Command kubectl is Kubernetes' own kubectl, built from the k8s.io/kubectl
// module that navarch requires. Tests run it against a navarch API server to
// show that the real client works unchanged; it is not shipped.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
