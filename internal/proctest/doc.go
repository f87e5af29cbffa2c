// Package proctest runs long-lived programs — a built navarch server,
// agent or quickstart script — as child processes of a test.
//
// Start starts one with its standard output and error appended to a log
// file, tracks its exit, and stops it when the test ends if it still runs.
// Stop ends it gracefully (SIGTERM, then SIGKILL after a grace period);
// Kill ends it at once, as a crash would. With Options.Group the child
// leads a process group of its own: a signal meant for the test does not
// reach it, and Stop also kills what is left of the group (a script's
// children), by the group's id.
//
//	p := proctest.Start(t, "server", proctest.Options{Env: env}, bin, "server", "--port=0")
//	…
//	if err := p.Stop(30 * time.Second); err != nil {
//		t.Errorf("%v\n%s", err, p.Tail(40))
//	}
//
// What such a program leaves behind is the test's to remove:
// ReapContainers kills the containerd shims (and their containers) whose
// daemon ran under a directory of the test's, by PID, and unmounts what is
// mounted under it. Processes reads the machine's process table.
//
// Callers: the tests of cmd/navarch and test/e2e. Short commands that run
// to completion need none of this: exec.CommandContext does.
package proctest
