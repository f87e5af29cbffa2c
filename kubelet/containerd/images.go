package containerd

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"

	"github.com/navarch/navarch/kubelet"
)

// EnsureImage makes ref present following policy (see kubelet.Runtime).
func (r *Runtime) EnsureImage(ctx context.Context, ref string, policy kubelet.PullPolicy) (kubelet.Image, error) {
	ctx = r.ns(ctx)
	name, err := normalizeRef(ref)
	if err != nil {
		return kubelet.Image{}, err
	}
	if policy != kubelet.PullAlways {
		img, err := r.client.GetImage(ctx, name)
		switch {
		case err == nil:
			if err := r.unpack(ctx, img); err != nil {
				return kubelet.Image{}, err
			}
			return toImage(ctx, img), nil
		case !errdefs.IsNotFound(err):
			return kubelet.Image{}, mapErr(err)
		case policy == kubelet.PullNever:
			return kubelet.Image{}, fmt.Errorf("%w: %s (pull policy Never)", kubelet.ErrImageNotFound, name)
		}
	}
	img, err := r.pulls.do(ctx, name, func() (containerd.Image, error) {
		// The pull outlives one caller's cancellation: others may wait on it.
		return r.pull(context.WithoutCancel(ctx), name)
	})
	if err != nil {
		return kubelet.Image{}, err
	}
	return toImage(ctx, img), nil
}

func (r *Runtime) pull(ctx context.Context, name string) (containerd.Image, error) {
	resolver := docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(r.plainHTTP)),
	})
	img, err := r.client.Pull(ctx, name,
		containerd.WithPullUnpack,
		containerd.WithPullSnapshotter(r.snap),
		containerd.WithResolver(resolver))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", kubelet.ErrImagePull, name, err)
	}
	r.opts.Logger.Info("pulled image", "image", name, "digest", img.Target().Digest)
	return img, nil
}

// plainHTTP says whether a registry host is spoken to without TLS:
// loopback addresses and the configured insecure registries.
func (r *Runtime) plainHTTP(host string) (bool, error) {
	if slices.Contains(r.opts.InsecureRegistries, host) {
		return true, nil
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback(), nil
}

// ListImages returns the images on the node.
func (r *Runtime) ListImages(ctx context.Context) ([]kubelet.Image, error) {
	ctx = r.ns(ctx)
	imgs, err := r.client.ListImages(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]kubelet.Image, 0, len(imgs))
	for _, img := range imgs {
		out = append(out, toImage(ctx, img))
	}
	return out, nil
}

// ImportImage loads an OCI layout or docker archive tar and unpacks what it
// names. OCI layouts must name images in the io.containerd.image.name or
// org.opencontainers.image.ref.name annotation with a full reference.
func (r *Runtime) ImportImage(ctx context.Context, archive io.Reader) ([]kubelet.Image, error) {
	ctx = r.ns(ctx)
	imported, err := r.client.Import(ctx, archive)
	if err != nil {
		return nil, fmt.Errorf("import image: %w", mapErr(err))
	}
	if len(imported) == 0 {
		return nil, fmt.Errorf("import image: the archive names no image")
	}
	out := make([]kubelet.Image, 0, len(imported))
	for _, i := range imported {
		img := containerd.NewImage(r.client, i)
		if err := r.unpack(ctx, img); err != nil {
			return nil, err
		}
		out = append(out, toImage(ctx, img))
	}
	return out, nil
}

func (r *Runtime) unpack(ctx context.Context, img containerd.Image) error {
	ok, err := img.IsUnpacked(ctx, r.snap)
	if err != nil {
		return fmt.Errorf("image %s: %w", img.Name(), mapErr(err))
	}
	if ok {
		return nil
	}
	if err := img.Unpack(ctx, r.snap); err != nil {
		return fmt.Errorf("unpack image %s: %w", img.Name(), mapErr(err))
	}
	return nil
}

func toImage(ctx context.Context, img containerd.Image) kubelet.Image {
	size, _ := img.Size(ctx)
	return kubelet.Image{Ref: img.Name(), ID: img.Target().Digest.String(), Size: size}
}

// normalizeRef turns "nginx" into "docker.io/library/nginx:latest", the
// name containerd stores.
func normalizeRef(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("%w: image reference %q: %w", kubelet.ErrInvalidConfig, ref, err)
	}
	return named.String(), nil
}

// pullGroup lets concurrent pulls of one reference share the first.
type pullGroup struct {
	mu    sync.Mutex
	calls map[string]*pullCall
}

type pullCall struct {
	done chan struct{}
	img  containerd.Image
	err  error
}

// do runs fn once for concurrent callers of one name; each caller waits
// until fn is done or its own ctx ends.
func (g *pullGroup) do(ctx context.Context, name string, fn func() (containerd.Image, error)) (containerd.Image, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*pullCall{}
	}
	c, ok := g.calls[name]
	if !ok {
		c = &pullCall{done: make(chan struct{})}
		g.calls[name] = c
		go func() {
			c.img, c.err = fn()
			g.mu.Lock()
			delete(g.calls, name)
			g.mu.Unlock()
			close(c.done)
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.img, c.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %s: %w", kubelet.ErrImagePull, name, ctx.Err())
	}
}
