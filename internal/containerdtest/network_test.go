package containerdtest

import (
	"net"
	"testing"
)

func TestClusterCIDRIsASlash20OfTheTestsRangeClearOfEveryRoute(t *testing.T) {
	routes, err := ipv4Routes()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 20 {
		cidr := ClusterCIDR(t)
		ip, ipnet, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatalf("got %q: %v", cidr, err)
		}
		if ones, _ := ipnet.Mask.Size(); ones != 20 || !ip.Equal(ipnet.IP) || !clusterSubnets.Contains(ip) {
			t.Errorf("got %s, want a /20 network of %s", cidr, clusterSubnets)
		}
		for _, r := range routes {
			if r.Contains(ipnet.IP) || ipnet.Contains(r.IP) {
				t.Errorf("got %s, which overlaps the route %s", cidr, r)
			}
		}
		seen[cidr] = true
	}
	if len(seen) < 10 {
		t.Errorf("got %d distinct ranges of 20, want them spread over the 256 /20s", len(seen))
	}
}
