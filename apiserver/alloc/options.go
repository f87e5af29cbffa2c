package alloc

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Defaults of Options, Kubernetes' own.
const (
	// DefaultServiceCIDR is the range cluster IPs come from.
	DefaultServiceCIDR = "10.96.0.0/12"
	// DefaultNodePortRange is the range node ports come from.
	DefaultNodePortRange = "30000-32767"
)

// Options configures an Allocator.
type Options struct {
	// ServiceCIDR is the IPv4 range of cluster IPs, at least 8 addresses
	// (a /29); empty means DefaultServiceCIDR.
	ServiceCIDR string
	// NodePortRange is the inclusive range of node ports, "first-last";
	// empty means DefaultNodePortRange.
	NodePortRange string
}

func (o Options) withDefaults() Options {
	if o.ServiceCIDR == "" {
		o.ServiceCIDR = DefaultServiceCIDR
	}
	if o.NodePortRange == "" {
		o.NodePortRange = DefaultNodePortRange
	}
	return o
}

// Validate reports every invalid option; nil means New accepts them.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if _, err := ParseServiceCIDR(o.ServiceCIDR); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := ParsePortRange(o.NodePortRange); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ParseServiceCIDR parses an IPv4 Service CIDR of at least 8 addresses and
// returns it masked. It fails on anything else.
func ParseServiceCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("service CIDR %q: %w", s, err)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("service CIDR %q: only IPv4 is supported", s)
	}
	if p.Bits() > 29 {
		return netip.Prefix{}, fmt.Errorf("service CIDR %q: must hold at least 8 addresses (/29)", s)
	}
	if p.Bits() < 8 {
		return netip.Prefix{}, fmt.Errorf("service CIDR %q: may hold at most 2^24 addresses (/8)", s)
	}
	return p.Masked(), nil
}

// ParsePortRange parses "first-last" (inclusive) within 1-65535.
func ParsePortRange(s string) (first, last int32, err error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("node port range %q: want first-last", s)
	}
	a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	if err1 != nil || err2 != nil || a == 0 || b < a {
		return 0, 0, fmt.Errorf("node port range %q: want first-last with 1 <= first <= last <= 65535", s)
	}
	return int32(a), int32(b), nil
}

// KubernetesServiceIP returns the first address of a Service CIDR, the one
// Kubernetes gives the `kubernetes` Service in the default namespace
// (10.96.0.1 for 10.96.0.0/12). Random allocation never hands it out.
func KubernetesServiceIP(cidr netip.Prefix) netip.Addr {
	return cidr.Masked().Addr().Next()
}
