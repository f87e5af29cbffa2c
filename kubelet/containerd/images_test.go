package containerd_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/internal/testimage"
	"github.com/navarch/navarch/kubelet"
	ctrd "github.com/navarch/navarch/kubelet/containerd"
)

// navarch image import/ls talk to a node's containerd without a pod network.
func TestRuntimeWithoutNetworkManagesImagesOnly(t *testing.T) {
	address := containerdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt, err := ctrd.New(ctx, ctrd.Options{Address: address, StateDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	imgs, err := rt.ImportImage(ctx, bytes.NewReader(testimage.Archive(t, testimage.Ref, testimage.Image(t, "v2"))))
	if err != nil || len(imgs) != 1 || imgs[0].Ref != testimage.Ref {
		t.Fatalf("import: got %+v, %v; want %s", imgs, err, testimage.Ref)
	}
	list, err := rt.ListImages(ctx)
	if err != nil || len(list) != 1 || list[0].ID != imgs[0].ID || list[0].Size == 0 {
		t.Fatalf("list: got %+v, %v; want the imported image with its size", list, err)
	}
	if _, err := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{UID: "u", Name: "n", Namespace: "ns"}); err == nil {
		t.Fatal("run sandbox without a network: got nil error, want one")
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(); err != nil {
		t.Errorf("second close: got %v, want nil", err)
	}
}

func TestNewFailsWithErrUnavailableWhenContainerdIsAbsent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := ctrd.New(ctx, ctrd.Options{Address: t.TempDir() + "/none.sock", StateDir: t.TempDir(),
		DialTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	wantUnavailable(t, err)
}

func wantUnavailable(t *testing.T, err error) {
	t.Helper()
	if err == nil || !errors.Is(err, kubelet.ErrUnavailable) {
		t.Fatalf("got %v, want an error wrapping ErrUnavailable", err)
	}
}
