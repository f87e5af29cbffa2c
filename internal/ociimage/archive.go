package ociimage

import (
	"archive/tar"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// WriteDockerArchive writes img to w as a docker archive (the format of
// `docker save`) naming it ref. It fails on a ref that is not a tag
// reference such as "example.test/hello:v1".
func WriteDockerArchive(w io.Writer, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", ref, err)
	}
	return tarball.Write(tag, img, w)
}

// WriteOCIArchive writes the images of refs to w as one tar of an OCI image
// layout, each named by its reference in both io.containerd.image.name and
// org.opencontainers.image.ref.name, so containerd imports them under
// those names.
func WriteOCIArchive(w io.Writer, refs map[string]v1.Image) error {
	dir, err := os.MkdirTemp("", "ociimage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	for _, ref := range slices.Sorted(maps.Keys(refs)) {
		if _, err := name.NewTag(ref); err != nil {
			return fmt.Errorf("image reference %q: %w", ref, err)
		}
		ann := map[string]string{"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref}
		if err := p.AppendImage(refs[ref], layout.WithAnnotations(ann)); err != nil {
			return fmt.Errorf("image %s: %w", ref, err)
		}
	}
	return tarDir(dir, w)
}

// WriteOCIArchiveFile is WriteOCIArchive into the file at path, written
// to a temporary name first so that a reader never sees half an archive.
func WriteOCIArchiveFile(path string, refs map[string]v1.Image) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := WriteOCIArchive(tmp, refs); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func tarDir(dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
