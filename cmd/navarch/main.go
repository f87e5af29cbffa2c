// Command navarch is the one navarch binary: every role (control plane,
// node, client) is a subcommand. Run `navarch help` for the list.
package main

import "os"

func main() {
	os.Exit(execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
