package memruntime

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/navarch/navarch/kubelet"
)

// EnsureImage follows the pull policy over the in-memory image list.
func (r *Runtime) EnsureImage(ctx context.Context, ref string, policy kubelet.PullPolicy) (kubelet.Image, error) {
	name, err := normalizeRef(ref)
	if err != nil {
		return kubelet.Image{}, err
	}
	if policy != kubelet.PullAlways {
		r.mu.Lock()
		img, ok := r.images[name]
		r.mu.Unlock()
		if ok {
			return img, nil
		}
		if policy == kubelet.PullNever {
			return kubelet.Image{}, fmt.Errorf("%w: %s (pull policy Never)", kubelet.ErrImageNotFound, name)
		}
	}
	digest, err := r.opts.Registry(ctx, name)
	if err != nil {
		return kubelet.Image{}, fmt.Errorf("%w: %s: %w", kubelet.ErrImagePull, name, err)
	}
	img := kubelet.Image{Ref: name, ID: digest}
	r.mu.Lock()
	r.images[name] = img
	r.mu.Unlock()
	return img, nil
}

// ListImages returns the known images.
func (r *Runtime) ListImages(ctx context.Context) ([]kubelet.Image, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]kubelet.Image, 0, len(r.images))
	for _, img := range r.images {
		out = append(out, img)
	}
	return out, nil
}

// ImportImage records the images an archive names: a docker archive's
// manifest.json RepoTags or an OCI layout's index.json ref annotations.
// Layers are not read.
func (r *Runtime) ImportImage(ctx context.Context, archive io.Reader) ([]kubelet.Image, error) {
	imgs, err := archiveImages(archive)
	if err != nil {
		return nil, fmt.Errorf("import image: %w", err)
	}
	if len(imgs) == 0 {
		return nil, errors.New("import image: the archive names no image")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, img := range imgs {
		name, err := normalizeRef(img.Ref)
		if err != nil {
			return nil, err
		}
		imgs[i].Ref = name
		r.images[name] = imgs[i]
	}
	return imgs, nil
}

func archiveImages(archive io.Reader) ([]kubelet.Image, error) {
	tr := tar.NewReader(archive)
	var out []kubelet.Image
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch strings.TrimPrefix(h.Name, "./") {
		case "manifest.json":
			var m []struct {
				Config   string
				RepoTags []string
			}
			if err := json.NewDecoder(tr).Decode(&m); err != nil {
				return nil, fmt.Errorf("manifest.json: %w", err)
			}
			for _, e := range m {
				id := "sha256:" + strings.TrimSuffix(strings.TrimPrefix(e.Config, "sha256:"), ".json")
				for _, tag := range e.RepoTags {
					out = append(out, kubelet.Image{Ref: tag, ID: id})
				}
			}
		case "index.json":
			var idx struct {
				Manifests []struct {
					Digest      string
					Size        int64
					Annotations map[string]string
				}
			}
			if err := json.NewDecoder(tr).Decode(&idx); err != nil {
				return nil, fmt.Errorf("index.json: %w", err)
			}
			for _, m := range idx.Manifests {
				ref := m.Annotations["io.containerd.image.name"]
				if ref == "" {
					ref = m.Annotations["org.opencontainers.image.ref.name"]
				}
				if ref != "" {
					out = append(out, kubelet.Image{Ref: ref, ID: m.Digest, Size: m.Size})
				}
			}
		}
	}
}

// DefaultRegistry resolves references on loopback registries by asking
// them over plain HTTP (GET /v2/<repo>/manifests/<tag>), so pull errors
// carry the registry's own message. Every other reference resolves to a
// synthetic digest without any network traffic.
func DefaultRegistry(ctx context.Context, ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", err
	}
	host := reference.Domain(named)
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if ip := net.ParseIP(h); h != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return syntheticDigest(ref), nil
	}
	tag := "latest"
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		tag = d.Digest().String()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := "http://" + host + "/v2/" + reference.Path(named) + "/manifests/" + tag
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s: %s", ref, resp.Status, strings.TrimSpace(string(body)))
	}
	if d := resp.Header.Get("Docker-Content-Digest"); d != "" {
		return d, nil
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func syntheticDigest(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func normalizeRef(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("%w: image reference %q: %w", kubelet.ErrInvalidConfig, ref, err)
	}
	return named.String(), nil
}
