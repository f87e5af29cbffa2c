package kubelet_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/testserver"
)

// TestRealVolumesUserAndLimitsReachTheContainer mounts a secret, a
// downwardAPI file, a memory emptyDir, a hostPath and a subPath, runs as
// a user with limits, and checks what the container sees; deleting the
// pod unmounts and removes its volumes.
func TestRealVolumesUserAndLimitsReachTheContainer(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	ctx := context.Background()
	mustCreate(t)(cs.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"user": []byte("admin"), "pass": []byte("pw")},
	}, metav1.CreateOptions{}))
	n := startRealNode(t, srv, "vol1")
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "from-host.txt"), []byte("host data"), 0o644); err != nil {
		t.Fatal(err)
	}
	uid := int64(65534)
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	pod := testPod("vols", "vol1", []string{"sleep"})
	pod.Labels = map[string]string{"tier": "web"}
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &uid}
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: "creds", Items: []corev1.KeyToPath{{Key: "user", Path: "nested/username"}}}}},
		{Name: "meta", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
			Items: []corev1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
		{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: host, Type: &dirOrCreate}}},
	}
	c := &pod.Spec.Containers[0]
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "creds", MountPath: "/creds"},
		{Name: "meta", MountPath: "/meta"},
		{Name: "scratch", MountPath: "/scratch"},
		{Name: "scratch", MountPath: "/sub", SubPath: "part"},
		{Name: "host", MountPath: "/host", ReadOnly: true},
	}
	c.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{
		corev1.ResourceMemory: resource.MustParse("64Mi"), corev1.ResourceCPU: resource.MustParse("250m")}}
	mustCreate(t)(cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}))
	p := waitPod(t, cs, "default", "vols", time.Minute, "Running", running)
	id := containerStatus(p, "c0").ContainerID
	tests := []struct {
		name     string
		cmd      []string
		wantCode int32
		want     string
	}{
		{"the secret item is a file", []string{"/testapp", "cat", "/creds/nested/username"}, 0, "admin"},
		{"only the listed secret keys appear", []string{"/testapp", "cat", "/creds/pass"}, 2, "no such file"},
		{"the downward API file holds the labels", []string{"/testapp", "cat", "/meta/labels"}, 0, `tier="web"`},
		{"the memory emptyDir is writable", []string{"/testapp", "write", "/scratch/x", "y"}, 0, ""},
		{"a subPath is a folder of its volume", []string{"/testapp", "write", "/sub/z", "w"}, 0, ""},
		{"the hostPath shows the host file", []string{"/testapp", "cat", "/host/from-host.txt"}, 0, "host data"},
		{"the read-only hostPath refuses writes", []string{"/testapp", "write", "/host/new", "x"}, 2, "read-only"},
		{"the process runs as the pod's user", []string{"/testapp", "id"}, 0, "uid=65534"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := n.exec(t, id, tt.cmd...)
			if code != tt.wantCode || !strings.Contains(out, tt.want) {
				t.Errorf("got exit %d output %q, want %d and %q", code, out, tt.wantCode, tt.want)
			}
		})
	}
	t.Run("limits are the container's cgroup's", func(t *testing.T) {
		st, err := n.runtime().ContainerStatus(ctx, strings.TrimPrefix(id, "containerd://"))
		if err != nil {
			t.Fatal(err)
		}
		if got := cgroupValue(t, st.Pid, "memory", "memory.limit_in_bytes", "memory.max"); got != "67108864" {
			t.Errorf("memory limit: got %q, want 67108864", got)
		}
		if got := cgroupValue(t, st.Pid, "cpu", "cpu.cfs_quota_us", "cpu.max"); got != "25000" && got != "25000 100000" {
			t.Errorf("cpu quota: got %q, want 25000 per 100000", got)
		}
	})
	scratch := volumePath(n, p, "scratch", "")
	if b, err := os.ReadFile(filepath.Join(scratch, "part", "z")); err != nil || string(b) != "w" {
		t.Errorf("subPath file on the node: got %q, %v; want w", b, err)
	}
	if err := cs.CoreV1().Pods("default").Delete(ctx, "vols", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, cs, "default", "vols", 30*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := os.Stat(filepath.Join(n.dataDir, "pods", string(p.UID)))
		if os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod folder still there after deletion (%v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil && strings.Contains(string(b), string(p.UID)) {
		t.Errorf("a mount of the deleted pod is left")
	}
	if b, err := os.ReadFile(filepath.Join(host, "from-host.txt")); err != nil || string(b) != "host data" {
		t.Errorf("the hostPath's content after deletion: got %q, %v; want it untouched", b, err)
	}
}

// cgroupValue reads a file of the cgroup of process pid, from the host:
// v1File under the controller's hierarchy, or v2File on a unified one.
func cgroupValue(t *testing.T, pid uint32, controller, v1File, v2File string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(int(pid)), "cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var path string
		switch {
		case slices.Contains(strings.Split(parts[1], ","), controller):
			path = filepath.Join("/sys/fs/cgroup", controller, parts[2], v1File)
		case parts[0] == "0" && parts[1] == "" && !strings.Contains(string(b), ":"+controller):
			path = filepath.Join("/sys/fs/cgroup", parts[2], v2File)
		default:
			continue
		}
		v, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(v))
	}
	t.Fatalf("no %s cgroup for pid %d in %q", controller, pid, b)
	return ""
}
