package testserver_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/testserver"
)

func TestStartGivesAServingAPIWithTheSystemNamespaces(t *testing.T) {
	srv := testserver.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := srv.ClientSet().CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, ns := range list.Items {
		have[ns.Name] = true
	}
	for _, want := range []string{"default", "kube-system", "kube-node-lease", "navarch-system"} {
		if !have[want] {
			t.Errorf("namespaces %v: want %s", have, want)
		}
	}
}

func TestRestartKeepsEveryObjectItsUIDAndResourceVersion(t *testing.T) {
	srv := testserver.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs := srv.ClientSet()
	before, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL()

	srv.Restart()

	if srv.URL() != url {
		t.Errorf("URL after restart: got %s, want %s", srv.URL(), url)
	}
	// The client made before the restart still works: same URL, CA and token.
	after, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get after restart: %v", err)
	}
	if after.UID != before.UID || after.ResourceVersion != before.ResourceVersion || after.Data["a"] != "1" {
		t.Errorf("after restart: uid %s rv %s data %v; want uid %s rv %s data a=1", after.UID, after.ResourceVersion, after.Data, before.UID, before.ResourceVersion)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.ResourceVersion == "" {
		t.Error("default namespace has no resourceVersion")
	}
}

func TestTokensAddedWhileRunningWork(t *testing.T) {
	srv := testserver.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	viewer := srv.ClientSetFor(srv.AddToken("alice", "navarch:view"))
	if _, err := viewer.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("viewer list: %v", err)
	}
	node := srv.ClientSetFor(srv.NodeToken("n1"))
	if _, err := node.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("node registering itself: %v", err)
	}
}
