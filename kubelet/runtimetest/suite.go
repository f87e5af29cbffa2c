package runtimetest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/navarch/navarch/internal/testimage"
	"github.com/navarch/navarch/kubelet"
)

// Run runs the conformance suite against the runtimes newRuntime returns.
// newRuntime is called once per case and must return an empty runtime
// that lives until the case's t ends (it registers its own cleanup). The
// runtime must run testimage's program: really, or simulated with
// testimage.Describe. Cases needing real processes or a real network run
// only when the runtime reports those Capabilities.
func Run(t *testing.T, newRuntime func(t *testing.T) kubelet.Runtime) {
	fx := newFixture(t)
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			rt := newRuntime(t)
			caps := kubelet.Capabilities{}
			if cr, ok := rt.(kubelet.CapabilityReporter); ok {
				caps = cr.Capabilities()
			}
			if c.needs.Processes && !caps.Processes {
				t.Skip("the runtime runs no real processes")
			}
			if c.needs.Network && !caps.Network {
				t.Skip("the runtime has no real pod network")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			t.Cleanup(cancel)
			c.run(t, &harness{rt: rt, fx: fx, caps: caps, ctx: ctx})
		})
	}
}

type testCase struct {
	name  string
	needs kubelet.Capabilities
	run   func(t *testing.T, h *harness)
}

func cases() []testCase {
	var all []testCase
	all = append(all, imageCases()...)
	all = append(all, sandboxCases()...)
	all = append(all, containerCases()...)
	all = append(all, execCases()...)
	all = append(all, realCases()...)
	return all
}

// fixture is built once per Run: the image archives and a registry
// holding the image.
type fixture struct {
	archive    []byte // docker archive naming testimage.Ref
	ociArchive []byte // OCI layout naming ociRef
	ociRef     string
	pullRef    string // in the registry
	missingRef string // not in the registry
}

func newFixture(t *testing.T) *fixture {
	img := testimage.Image(t, "v1")
	reg := testimage.StartRegistry(t)
	return &fixture{
		archive:    testimage.Archive(t, testimage.Ref, img),
		ociArchive: testimage.OCIArchive(t, "navarch.test/testapp-oci:v1", img),
		ociRef:     "navarch.test/testapp-oci:v1",
		pullRef:    reg.Push(t, "testapp", "v1", img),
		missingRef: reg.Host + "/missing:v1",
	}
}

// harness is one case's runtime with helpers.
type harness struct {
	rt   kubelet.Runtime
	fx   *fixture
	caps kubelet.Capabilities
	ctx  context.Context
}

// importImage imports the docker archive and returns its reference.
func (h *harness) importImage(t *testing.T) string {
	t.Helper()
	imgs, err := h.rt.ImportImage(h.ctx, bytes.NewReader(h.fx.archive))
	if err != nil {
		t.Fatalf("import image: %v", err)
	}
	if len(imgs) != 1 {
		t.Fatalf("got %d images from the archive, want 1", len(imgs))
	}
	return testimage.Ref
}

// sandbox runs a sandbox removed when the test ends.
func (h *harness) sandbox(t *testing.T, name string, labels map[string]string) kubelet.Sandbox {
	t.Helper()
	sb, err := h.rt.RunPodSandbox(h.ctx, kubelet.SandboxConfig{
		UID: "uid-" + name, Name: name, Namespace: "conformance", Labels: labels,
		Annotations: map[string]string{"note": "conformance"}, LogDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("run sandbox %s: %v", name, err)
	}
	t.Cleanup(func() { h.rt.RemovePodSandbox(context.Background(), sb.ID) })
	return sb
}

// create creates a container running testapp with args; its log goes to
// a file in a temp dir.
func (h *harness) create(t *testing.T, sandboxID, name string, args ...string) (string, kubelet.ContainerConfig) {
	t.Helper()
	cfg := kubelet.ContainerConfig{
		Name: name, Image: testimage.Ref, Args: args,
		LogPath: filepath.Join(t.TempDir(), name+".log"),
	}
	id, err := h.rt.CreateContainer(h.ctx, sandboxID, cfg)
	if err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	return id, cfg
}

// start creates and starts a container and waits for it to run (or to
// have run, for commands that end at once).
func (h *harness) start(t *testing.T, sandboxID, name string, args ...string) (string, kubelet.ContainerConfig) {
	t.Helper()
	id, cfg := h.create(t, sandboxID, name, args...)
	if err := h.rt.StartContainer(h.ctx, id); err != nil {
		t.Fatalf("start container %s: %v", name, err)
	}
	h.waitReady(t, cfg)
	return id, cfg
}

// waitReady waits, on runtimes that run real processes, until the test
// program has installed its signal handling, so that a stop right after is
// not lost.
func (h *harness) waitReady(t *testing.T, cfg kubelet.ContainerConfig) {
	t.Helper()
	if h.caps.Processes {
		waitLog(t, cfg.LogPath, testimage.ReadyLine, 10*time.Second)
	}
}

// waitState polls ContainerStatus until the state is reached.
func (h *harness) waitState(t *testing.T, id string, want kubelet.ContainerState, within time.Duration) kubelet.ContainerStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := h.rt.ContainerStatus(h.ctx, id)
		if err != nil {
			t.Fatalf("status of %s: %v", id, err)
		}
		if st.State == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: got state %s after %s, want %s", id, st.State, within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog polls a log file until it contains want.
func waitLog(t *testing.T, path, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log %s: got %q after %s, want it to contain %q", path, b, within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want one wrapping %q", what, err, want)
	}
}
