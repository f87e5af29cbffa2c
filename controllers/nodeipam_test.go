package controllers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/navarch/navarch/internal/testserver"
)

func TestCIDRSetHandsOutEachSubnetOnce(t *testing.T) {
	s, err := NewCIDRSet("10.244.0.0/22", 24)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Occupy("10.244.1.0/24") {
		t.Fatal("Occupy of a subnet of the set: got false, want true")
	}
	var got []string
	for range 3 {
		c, err := s.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	want := []string{"10.244.0.0/24", "10.244.2.0/24", "10.244.3.0/24"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := s.Allocate(); !errors.Is(err, ErrCIDRsExhausted) {
		t.Errorf("allocate from a full set: got %v, want ErrCIDRsExhausted", err)
	}
	s.Release("10.244.2.0/24")
	if c, err := s.Allocate(); err != nil || c != "10.244.2.0/24" {
		t.Errorf("allocate after release: got %q, %v; want 10.244.2.0/24", c, err)
	}
	if s.Used() != 4 {
		t.Errorf("got %d used, want 4", s.Used())
	}
}

func TestCIDRSetRefusesForeignSubnets(t *testing.T) {
	s, err := NewCIDRSet(DefaultClusterCIDR, DefaultNodeMaskSize)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"10.245.0.0/24", "10.244.0.0/25", "nonsense", "fd00::/64"} {
		if s.Occupy(c) {
			t.Errorf("Occupy(%q): got true, want false", c)
		}
	}
}

func TestNewCIDRSetRejectsBadMasks(t *testing.T) {
	tests := []struct {
		cidr string
		mask int
	}{
		{"10.244.0.0/16", 15},
		{"10.244.0.0/16", 31},
		{"10.0.0.0/8", 25},
		{"fd00::/48", 64},
		{"bad", 24},
	}
	for _, tt := range tests {
		if _, err := NewCIDRSet(tt.cidr, tt.mask); err == nil {
			t.Errorf("NewCIDRSet(%q, %d): got nil error, want one", tt.cidr, tt.mask)
		}
	}
}

func TestNodeIPAMAssignsDistinctCIDRsAndKeepsExistingOnes(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	create := func(name, cidr string) {
		t.Helper()
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDR: cidr}}
		if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create("has-one", "10.244.0.0/24")
	c, err := NewNodeIPAM(NodeIPAMOptions{Client: cs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	rctx, stop := context.WithCancel(ctx)
	go func() { done <- c.Run(rctx) }()
	defer func() { stop(); <-done }()
	for i := range 3 {
		create(fmt.Sprintf("n%d", i), "")
	}
	_, cluster, _ := net.ParseCIDR(DefaultClusterCIDR)
	seen := map[string]string{}
	for i := range 3 {
		name := fmt.Sprintf("n%d", i)
		cidr := waitPodCIDR(t, ctx, cs.CoreV1().Nodes().Get, name)
		ip, _, err := net.ParseCIDR(cidr)
		if err != nil || !cluster.Contains(ip) || cidr == "10.244.0.0/24" {
			t.Errorf("node %s: got podCIDR %q, want a free /24 of %s", name, cidr, DefaultClusterCIDR)
		}
		if other, dup := seen[cidr]; dup {
			t.Errorf("nodes %s and %s both got %s", other, name, cidr)
		}
		seen[cidr] = name
	}
	n, err := cs.CoreV1().Nodes().Get(ctx, "has-one", metav1.GetOptions{})
	if err != nil || n.Spec.PodCIDR != "10.244.0.0/24" {
		t.Errorf("node with a CIDR: got %q (%v), want it kept", n.Spec.PodCIDR, err)
	}
}

func waitPodCIDR(t *testing.T, ctx context.Context, get func(context.Context, string, metav1.GetOptions) (*corev1.Node, error), name string) string {
	t.Helper()
	for {
		n, err := get(ctx, name, metav1.GetOptions{})
		if err == nil && n.Spec.PodCIDR != "" {
			if len(n.Spec.PodCIDRs) != 1 || n.Spec.PodCIDRs[0] != n.Spec.PodCIDR {
				t.Errorf("node %s: got podCIDRs %v, want [%s]", name, n.Spec.PodCIDRs, n.Spec.PodCIDR)
			}
			return n.Spec.PodCIDR
		}
		select {
		case <-ctx.Done():
			t.Fatalf("node %s: no podCIDR: %v", name, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestACIDRSetOfOneNodesSizeHoldsOneSubnet(t *testing.T) {
	s, err := NewCIDRSet("10.213.7.0/24", 24)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.Allocate(); err != nil || c != "10.213.7.0/24" {
		t.Errorf("first allocation: got %q, %v; want 10.213.7.0/24", c, err)
	}
	if _, err := s.Allocate(); !errors.Is(err, ErrCIDRsExhausted) {
		t.Errorf("second allocation: got %v, want ErrCIDRsExhausted", err)
	}
}

func TestTheManagerGivesNodesCIDRsOfItsClusterCIDR(t *testing.T) {
	const clusterCIDR = "10.213.0.0/16"
	c := startCluster(t, Options{Controllers: []string{NodeIPAMController}, ClusterCIDR: clusterCIDR})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, cluster, _ := net.ParseCIDR(clusterCIDR)
	for _, name := range []string{"a", "b"} {
		createNode(t, c.cs, name)
		cidr := waitPodCIDR(t, ctx, c.cs.CoreV1().Nodes().Get, name)
		ip, ipnet, err := net.ParseCIDR(cidr)
		if ones, _ := ipnet.Mask.Size(); err != nil || !cluster.Contains(ip) || ones != DefaultNodeMaskSize {
			t.Errorf("node %s: got podCIDR %q, want a /%d of %s", name, cidr, DefaultNodeMaskSize, clusterCIDR)
		}
	}
}

func TestTheManagerRefusesAClusterCIDRItCannotSplit(t *testing.T) {
	for _, cidr := range []string{"10.244.0.0", "10.244.0.0/25", "fd00::/48"} {
		_, err := New(Options{Config: &rest.Config{Host: "https://127.0.0.1:1"}, ClusterCIDR: cidr})
		if !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("cluster CIDR %q: got %v, want ErrInvalidOptions", cidr, err)
		}
	}
}
