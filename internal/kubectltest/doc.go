// Package kubectltest runs the real kubectl, built from the k8s.io/kubectl
// module navarch requires, against a navarch API server in a test.
//
// Build compiles a main package once per test binary and caches the
// executable for every test of the package; New binds the kubectl binary
// to a kubeconfig (WriteKubeconfig writes one for a rest.Config) and Run
// executes it, returning standard output, standard error and the exit code.
// kubectl runs with its own HOME and discovery cache, so that nothing of
// the machine's ~/.kube leaks in or is written.
//
// Against an in-process server of package testserver:
//
//	k := kubectltest.New(t, srv.WriteKubeconfig())
//	out := k.MustRun(t, "get", "pods", "-o", "wide")
//
// Callers: tests that show real clients work, in cmd/navarch and the API
// server. A package that uses Build calls Main from its TestMain so that
// the built executables are removed when its tests end:
//
//	func TestMain(m *testing.M) { os.Exit(kubectltest.Main(m)) }
package kubectltest
