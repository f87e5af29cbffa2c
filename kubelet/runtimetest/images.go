package runtimetest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/navarch/navarch/internal/testimage"
	"github.com/navarch/navarch/kubelet"
)

func imageCases() []testCase {
	return []testCase{
		{name: "reports its version and answers pings", run: func(t *testing.T, h *harness) {
			v, err := h.rt.Version(h.ctx)
			if err != nil || v.RuntimeName == "" || v.RuntimeVersion == "" {
				t.Fatalf("got version %+v, %v; want a name and version", v, err)
			}
			if err := h.rt.Ping(h.ctx); err != nil {
				t.Fatalf("got ping error %v, want nil", err)
			}
		}},
		{name: "imports docker and OCI archives and finds them with every local policy", run: testImport},
		{name: "an absent image with policy Never is ErrImageNotFound", run: func(t *testing.T, h *harness) {
			_, err := h.rt.EnsureImage(h.ctx, h.fx.pullRef, kubelet.PullNever)
			wantErr(t, "ensure absent image with Never", err, kubelet.ErrImageNotFound)
		}},
		{name: "IfNotPresent and Always pull an absent image from the registry", run: testPull},
		{name: "an image missing from the registry fails to pull with the registry's message", run: func(t *testing.T, h *harness) {
			for _, policy := range []kubelet.PullPolicy{kubelet.PullIfNotPresent, kubelet.PullAlways} {
				_, err := h.rt.EnsureImage(h.ctx, h.fx.missingRef, policy)
				wantErr(t, "pull missing image with "+string(policy), err, kubelet.ErrImagePull)
				msg := strings.ToLower(err.Error())
				if !strings.Contains(msg, "missing") || !strings.Contains(msg, "not found") {
					t.Errorf("%s: got message %q, want the reference and the registry's not found", policy, err)
				}
			}
		}},
		{name: "a container of an image that is not on the node is ErrImageNotFound", run: func(t *testing.T, h *harness) {
			sb := h.sandbox(t, "noimage", nil)
			_, err := h.rt.CreateContainer(h.ctx, sb.ID, kubelet.ContainerConfig{Name: "c", Image: h.fx.pullRef})
			wantErr(t, "create container of an absent image", err, kubelet.ErrImageNotFound)
		}},
	}
}

func testImport(t *testing.T, h *harness) {
	tests := []struct {
		name    string
		archive []byte
		ref     string
	}{
		{"docker archive", h.fx.archive, testimage.Ref},
		{"oci layout", h.fx.ociArchive, h.fx.ociRef},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imgs, err := h.rt.ImportImage(h.ctx, bytes.NewReader(tt.archive))
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if len(imgs) != 1 || imgs[0].Ref != tt.ref || !strings.HasPrefix(imgs[0].ID, "sha256:") {
				t.Fatalf("got images %+v, want one named %s with a sha256 ID", imgs, tt.ref)
			}
			for _, policy := range []kubelet.PullPolicy{kubelet.PullNever, kubelet.PullIfNotPresent} {
				img, err := h.rt.EnsureImage(h.ctx, tt.ref, policy)
				if err != nil || img.ID != imgs[0].ID {
					t.Errorf("ensure with %s: got %+v, %v; want ID %s", policy, img, err, imgs[0].ID)
				}
			}
			list, err := h.rt.ListImages(h.ctx)
			if err != nil || !hasImage(list, tt.ref) {
				t.Errorf("got list %+v, %v; want it to hold %s", list, err, tt.ref)
			}
		})
	}
}

func testPull(t *testing.T, h *harness) {
	img, err := h.rt.EnsureImage(h.ctx, h.fx.pullRef, kubelet.PullIfNotPresent)
	if err != nil {
		t.Fatalf("pull with IfNotPresent: %v", err)
	}
	if img.Ref != h.fx.pullRef || !strings.HasPrefix(img.ID, "sha256:") {
		t.Fatalf("got image %+v, want %s with a sha256 ID", img, h.fx.pullRef)
	}
	again, err := h.rt.EnsureImage(h.ctx, h.fx.pullRef, kubelet.PullAlways)
	if err != nil || again.ID != img.ID {
		t.Fatalf("pull with Always: got %+v, %v; want ID %s", again, err, img.ID)
	}
	if _, err := h.rt.EnsureImage(h.ctx, h.fx.pullRef, kubelet.PullNever); err != nil {
		t.Fatalf("after the pull, Never: got %v, want the image", err)
	}
	list, err := h.rt.ListImages(h.ctx)
	if err != nil || !hasImage(list, h.fx.pullRef) {
		t.Errorf("got list %+v, %v; want it to hold %s", list, err, h.fx.pullRef)
	}
}

func hasImage(list []kubelet.Image, ref string) bool {
	for _, img := range list {
		if img.Ref == ref {
			return true
		}
	}
	return false
}
