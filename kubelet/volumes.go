package kubelet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// volumeRefreshPeriod is how often the files of configMap, secret and
// downwardAPI volumes are brought up to date.
const volumeRefreshPeriod = time.Minute

// defaultVolumeMode is the mode of the files of configMap, secret and
// downwardAPI volumes without defaultMode (0644).
const defaultVolumeMode = 0o644

// volumeDir is where the kubelet keeps a pod's volume.
func (k *Kubelet) volumeDir(uid types.UID, name string) string {
	return filepath.Join(k.podDir(uid), "volumes", name)
}

// prepareVolumes makes every volume of pod ready to mount: emptyDir
// folders (tmpfs for medium Memory), hostPath checks, and the files of
// configMap, secret, downwardAPI and projected volumes, written
// atomically (a ..data link swapped to a new folder) so a container never
// sees half an update.
func (k *Kubelet) prepareVolumes(ctx context.Context, w *podWorker, pod *corev1.Pod) error {
	r := &envResolver{k: k, ctx: ctx, ns: pod.Namespace, cms: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	for _, v := range pod.Spec.Volumes {
		if err := k.prepareVolume(r, pod, v); err != nil {
			return fmt.Errorf("volume %q: %w", v.Name, err)
		}
	}
	w.volumesAt = k.opts.Now()
	return nil
}

func (k *Kubelet) prepareVolume(r *envResolver, pod *corev1.Pod, v corev1.Volume) error {
	dir := k.volumeDir(pod.UID, v.Name)
	switch {
	case v.EmptyDir != nil:
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		os.Chmod(dir, 0o777)
		if v.EmptyDir.Medium == corev1.StorageMediumMemory && !isTmpfs(dir) {
			opts := ""
			if l := v.EmptyDir.SizeLimit; l != nil && l.Value() > 0 {
				opts = fmt.Sprintf("size=%d", l.Value())
			}
			if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
				return fmt.Errorf("mount tmpfs: %w", err)
			}
		}
		return nil
	case v.HostPath != nil:
		return checkHostPath(v.HostPath)
	}
	payload, err := k.volumePayload(r, pod, v)
	if err != nil {
		return err
	}
	_, err = writeAtomic(dir, payload)
	return err
}

// fileData is one file of a projected volume.
type fileData struct {
	data []byte
	mode os.FileMode
}

// volumePayload returns the files of a configMap, secret, downwardAPI or
// projected volume.
func (k *Kubelet) volumePayload(r *envResolver, pod *corev1.Pod, v corev1.Volume) (map[string]fileData, error) {
	out := map[string]fileData{}
	switch {
	case v.ConfigMap != nil:
		return out, r.configMapFiles(out, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, mode(v.ConfigMap.DefaultMode))
	case v.Secret != nil:
		return out, r.secretFiles(out, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, mode(v.Secret.DefaultMode))
	case v.DownwardAPI != nil:
		return out, k.downwardFiles(out, pod, v.DownwardAPI.Items, mode(v.DownwardAPI.DefaultMode))
	case v.Projected != nil:
		def := mode(v.Projected.DefaultMode)
		for _, s := range v.Projected.Sources {
			var err error
			switch {
			case s.ConfigMap != nil:
				err = r.configMapFiles(out, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional, def)
			case s.Secret != nil:
				err = r.secretFiles(out, s.Secret.Name, s.Secret.Items, s.Secret.Optional, def)
			case s.DownwardAPI != nil:
				err = k.downwardFiles(out, pod, s.DownwardAPI.Items, def)
			case s.ServiceAccountToken != nil:
				// navarch issues no service account tokens; the path
				// stays absent.
			default:
				err = errors.New("unsupported projected volume source")
			}
			if err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, errors.New("unsupported volume type (navarch supports emptyDir, hostPath, configMap, secret, downwardAPI and projected)")
}

func mode(m *int32) os.FileMode {
	if m == nil {
		return defaultVolumeMode
	}
	return os.FileMode(*m) & 0o777
}

func (r *envResolver) configMapFiles(out map[string]fileData, name string, items []corev1.KeyToPath, opt *bool, def os.FileMode) error {
	cm, err := r.configMap(name)
	if err != nil {
		return err
	}
	if cm == nil {
		if optional(opt) {
			return nil
		}
		return fmt.Errorf("configmap %q not found", name)
	}
	data := map[string][]byte{}
	for key, v := range cm.Data {
		data[key] = []byte(v)
	}
	for key, v := range cm.BinaryData {
		data[key] = v
	}
	return keyFiles(out, "configmap", name, data, items, opt, def)
}

func (r *envResolver) secretFiles(out map[string]fileData, name string, items []corev1.KeyToPath, opt *bool, def os.FileMode) error {
	s, err := r.secret(name)
	if err != nil {
		return err
	}
	if s == nil {
		if optional(opt) {
			return nil
		}
		return fmt.Errorf("secret %q not found", name)
	}
	return keyFiles(out, "secret", name, s.Data, items, opt, def)
}

// keyFiles adds a file per key (or per item) to out.
func keyFiles(out map[string]fileData, kind, name string, data map[string][]byte, items []corev1.KeyToPath, opt *bool, def os.FileMode) error {
	if len(items) == 0 {
		for key, v := range data {
			out[key] = fileData{v, def}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional(opt) {
				continue
			}
			return fmt.Errorf("%s %q has no key %q", kind, name, it.Key)
		}
		m := def
		if it.Mode != nil {
			m = os.FileMode(*it.Mode) & 0o777
		}
		out[it.Path] = fileData{v, m}
	}
	return nil
}

func (k *Kubelet) downwardFiles(out map[string]fileData, pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, def os.FileMode) error {
	r := &envResolver{k: k}
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = podField(pod, it.FieldRef.FieldPath, k.opts.NodeIP, pod.Status.PodIP)
		case it.ResourceFieldRef != nil:
			v, err = r.resourceField(pod, &corev1.Container{}, it.ResourceFieldRef)
		}
		if err != nil {
			return err
		}
		m := def
		if it.Mode != nil {
			m = os.FileMode(*it.Mode) & 0o777
		}
		out[it.Path] = fileData{[]byte(v), m}
	}
	return nil
}

// writeAtomic makes dir hold exactly payload: the files go into a new
// hidden folder, the ..data link is swapped to it in one rename, and each
// top-level name links through ..data. It reports whether anything
// changed; an unchanged payload writes nothing.
func writeAtomic(dir string, payload map[string]fileData) (bool, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	for p := range payload {
		if filepath.IsAbs(p) || strings.HasPrefix(filepath.Clean(p), "..") {
			return false, fmt.Errorf("path %q must be relative and stay inside the volume", p)
		}
	}
	data := filepath.Join(dir, "..data")
	old, _ := os.Readlink(data)
	if old != "" && sameFiles(filepath.Join(dir, old), payload) {
		return false, nil
	}
	ts, err := os.MkdirTemp(dir, ".."+time.Now().UTC().Format("2006_01_02_15_04_05."))
	if err != nil {
		return false, err
	}
	os.Chmod(ts, 0o755)
	for p, f := range payload {
		path := filepath.Join(ts, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(path, f.data, f.mode); err != nil {
			return false, err
		}
		if err := os.Chmod(path, f.mode); err != nil {
			return false, err
		}
	}
	tmp := filepath.Join(dir, "..data_tmp")
	os.Remove(tmp)
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, data); err != nil {
		return false, err
	}
	top := map[string]bool{}
	for p := range payload {
		top[strings.SplitN(filepath.ToSlash(filepath.Clean(p)), "/", 2)[0]] = true
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") && !top[e.Name()] {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	for name := range top {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			return false, err
		}
	}
	if old != "" {
		os.RemoveAll(filepath.Join(dir, old))
	}
	return true, nil
}

// sameFiles reports whether folder holds exactly payload.
func sameFiles(folder string, payload map[string]fileData) bool {
	n := 0
	err := filepath.WalkDir(folder, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		rel, _ := filepath.Rel(folder, path)
		f, ok := payload[rel]
		if !ok {
			return errors.New("extra file")
		}
		info, err := d.Info()
		if err != nil || info.Mode().Perm() != f.mode {
			return errors.New("mode differs")
		}
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(b, f.data) {
			return errors.New("content differs")
		}
		return nil
	})
	return err == nil && n == len(payload)
}

// checkHostPath checks (or creates) a hostPath as its type asks.
func checkHostPath(h *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if h.Type != nil {
		t = *h.Type
	}
	info, err := os.Stat(h.Path)
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if err != nil {
			return os.MkdirAll(h.Path, 0o755)
		}
		if !info.IsDir() {
			return fmt.Errorf("hostPath %s is not a directory", h.Path)
		}
		return nil
	case corev1.HostPathFileOrCreate:
		if err != nil {
			f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		if info.IsDir() {
			return fmt.Errorf("hostPath %s is a directory, not a file", h.Path)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("hostPath type check failed: %s does not exist", h.Path)
	}
	ok := map[corev1.HostPathType]bool{
		corev1.HostPathDirectory: info.IsDir(),
		corev1.HostPathFile:      info.Mode().IsRegular(),
		corev1.HostPathSocket:    info.Mode()&os.ModeSocket != 0,
		corev1.HostPathCharDev:   info.Mode()&os.ModeCharDevice != 0,
		corev1.HostPathBlockDev:  info.Mode()&os.ModeDevice != 0 && info.Mode()&os.ModeCharDevice == 0,
	}[t]
	if !ok {
		return fmt.Errorf("hostPath type check failed: %s is not a %s", h.Path, t)
	}
	return nil
}

// containerMounts turns c's volumeMounts into bind mounts. configMap,
// secret, downwardAPI and projected volumes are always read-only.
func (k *Kubelet) containerMounts(pod *corev1.Pod, c *corev1.Container) ([]Mount, error) {
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v
	}
	out := make([]Mount, 0, len(c.VolumeMounts))
	for _, vm := range c.VolumeMounts {
		v, ok := vols[vm.Name]
		if !ok {
			return nil, fmt.Errorf("volumeMount %q: no such volume", vm.Name)
		}
		src := k.volumeDir(pod.UID, v.Name)
		ro := vm.ReadOnly
		switch {
		case v.HostPath != nil:
			src = v.HostPath.Path
		case v.EmptyDir == nil:
			ro = true
		}
		if vm.SubPath != "" {
			clean := filepath.Clean(vm.SubPath)
			if filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") {
				return nil, fmt.Errorf("volumeMount %q: subPath %q must stay inside the volume", vm.Name, vm.SubPath)
			}
			root := src
			src = filepath.Join(src, clean)
			if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
				// The folder gets its volume's mode: an emptyDir's 0777
				// stays writable for any user.
				perm := os.FileMode(0o755)
				if st, err := os.Stat(root); err == nil {
					perm = st.Mode().Perm()
				}
				if err := os.MkdirAll(src, perm); err != nil {
					return nil, err
				}
				os.Chmod(src, perm)
			}
		}
		out = append(out, Mount{HostPath: src, ContainerPath: vm.MountPath, ReadOnly: ro})
	}
	return out, nil
}

// cleanupVolumes unmounts the pod's tmpfs volumes and removes its folder.
func (k *Kubelet) cleanupVolumes(uid types.UID) error {
	dir := k.podDir(uid)
	vols, _ := os.ReadDir(filepath.Join(dir, "volumes"))
	for _, v := range vols {
		p := filepath.Join(dir, "volumes", v.Name())
		if isTmpfs(p) {
			if err := unix.Unmount(p, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s: %w", p, err)
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove pod dir: %w", err)
	}
	return nil
}

func isTmpfs(path string) bool {
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil {
		return false
	}
	var parent unix.Statfs_t
	if unix.Statfs(filepath.Dir(path), &parent) != nil {
		return false
	}
	// A tmpfs mounted on path, not a tmpfs the data dir itself lives on.
	return st.Type == unix.TMPFS_MAGIC && (parent.Type != unix.TMPFS_MAGIC || st.Fsid != parent.Fsid)
}
