package testimage

import (
	"strconv"
	"strings"
	"time"
)

// Behavior is what a testapp command line does, described for runtimes that
// simulate processes instead of running them (hollow nodes).
type Behavior struct {
	// ExitAfter is how long the program runs before exiting on its own;
	// 0 with Exits false means it runs until stopped.
	ExitAfter time.Duration
	Exits     bool
	ExitCode  int32
	// IgnoreSIGTERM: only SIGKILL ends it.
	IgnoreSIGTERM bool
	// Output is what it prints when it starts (echo, exit).
	Output string
}

// Describe returns the Behavior of the testapp command line argv (the
// container's full argv, starting with the binary). Unknown commands
// behave as testapp does: they print a message and exit 2.
func Describe(argv []string) Behavior {
	if len(argv) > 0 && (argv[0] == Binary || argv[0] == strings.TrimPrefix(Binary, "/")) {
		argv = argv[1:]
	}
	if len(argv) == 0 {
		return Behavior{Exits: true, ExitCode: 2, Output: "testapp: usage: testapp COMMAND [ARGS]\n"}
	}
	arg := func(i int, def string) string {
		if i+1 < len(argv) {
			return argv[i+1]
		}
		return def
	}
	switch argv[0] {
	case "serve", "log", "alloc", "tick":
		return Behavior{}
	case "sleep":
		if len(argv) == 1 {
			return Behavior{Output: "sleeping\n"}
		}
		d, _ := time.ParseDuration(arg(0, "0s"))
		return Behavior{ExitAfter: d, Exits: true}
	case "ignore-sigterm":
		return Behavior{IgnoreSIGTERM: true, Output: "ignoring SIGTERM\n"}
	case "exit":
		code, _ := strconv.Atoi(arg(0, "0"))
		return Behavior{Exits: true, ExitCode: int32(code), Output: "exiting with " + arg(0, "0") + "\n"}
	case "crash-after":
		d, _ := time.ParseDuration(arg(0, "1s"))
		code, _ := strconv.Atoi(arg(1, "1"))
		return Behavior{ExitAfter: d, Exits: true, ExitCode: int32(code)}
	case "echo":
		return Behavior{Exits: true, Output: strings.Join(argv[1:], " ") + "\n"}
	case "id", "cat", "write", "connect":
		return Behavior{Exits: true}
	default:
		return Behavior{Exits: true, ExitCode: 2, Output: "testapp: unknown command " + argv[0] + "\n"}
	}
}
