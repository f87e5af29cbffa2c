package proxy_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/proxy"
)

// nodePortIPs returns the elements of table's nodeport-ips set, as nft
// lists them.
func nodePortIPs(t *testing.T, table string) string {
	t.Helper()
	out, err := exec.Command("nft", "list", "set", "ip", table, "nodeport-ips").CombinedOutput()
	if err != nil {
		return ""
	}
	_, elems, _ := strings.Cut(string(out), "elements = {")
	elems, _, _ = strings.Cut(elems, "}")
	return strings.Join(strings.Fields(elems), " ")
}

func TestNodePortsFollowTheNodesAddressesWhenNoneAreGiven(t *testing.T) {
	requireRoot(t)
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	ctx := context.Background()
	b := make([]byte, 4)
	rand.Read(b)
	table := "navarch-test-" + hex.EncodeToString(b)
	// One address no one uses here: the test routes only that locally.
	serviceCIDR := "10.250.254.1/32"
	runProxier(t, proxy.Options{
		NodeName: "node-ips", TableName: table, ServiceCIDR: serviceCIDR, Client: cs,
		MinSyncInterval: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})

	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := nodePortIPs(t, table)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("nodeport-ips holds %q, want %q", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	node, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-ips"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeHostName, Address: "node-ips"},
		{Type: corev1.NodeInternalIP, Address: "198.51.100.77"},
	}
	if node, err = cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("198.51.100.77")

	node.Status.Addresses[1].Address = "198.51.100.78"
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("198.51.100.78")
}
