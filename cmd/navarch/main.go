// Command navarch is the one navarch binary: every role (control plane,
// node, client) is a subcommand. Run `navarch help` for the list.
package main

import (
	"os"

	// kubectl's message catalog only where it translates anything.
	_ "github.com/navarch/navarch/internal/kubectli18n"
)

func main() {
	os.Exit(execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
