package alloc

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
)

// span is a range of integers handed out one by one: offsets 0..size-1
// stand for base..base+size-1. Random allocation draws from the upper band
// [low, size) first and never draws the offsets below skip.
type span struct {
	kind   string // "IP" or "port", for messages
	prefix string // key prefix, ending in "/"
	base   uint32
	size   uint32
	low    uint32 // offsets below low are the static band
	skip   uint32 // offsets below skip are never drawn (the kubernetes Service IP)
	valid  string // the range as users know it, for messages
	format func(v uint32) string
}

// ipSpan is the span of usable addresses of cidr: the network and
// broadcast addresses are left out; its first usable address is reserved
// for the kubernetes Service.
func ipSpan(cidr netip.Prefix) *span {
	n := uint32(1) << (32 - cidr.Bits())
	network := binary.BigEndian.Uint32(cidr.Addr().AsSlice())
	size := n - 2
	return &span{
		kind: "IP", prefix: ServiceIPsPrefix, base: network + 1, size: size,
		low: bandSize(size, 16, 256), skip: 1, valid: cidr.String(),
		format: func(v uint32) string {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], v)
			return netip.AddrFrom4(b).String()
		},
	}
}

// portSpan is the span of node ports first..last.
func portSpan(first, last int32) *span {
	size := uint32(last - first + 1)
	return &span{
		kind: "port", prefix: NodePortsPrefix, base: uint32(first), size: size,
		low: bandSize(size, 32, 128), valid: fmt.Sprintf("%d-%d", first, last),
		format: func(v uint32) string { return strconv.FormatUint(uint64(v), 10) },
	}
}

// bandSize is Kubernetes' size of the static band of a range:
// size/divisor, at least 16 and at most ceiling, and never the whole range.
func bandSize(size, divisor, ceiling uint32) uint32 {
	b := min(max(size/divisor, 16), ceiling)
	if b >= size {
		return 0
	}
	return b
}

// contains reports whether v is in the span.
func (s *span) contains(v uint32) bool { return v >= s.base && v-s.base < s.size }

// key returns the etcd key of value v.
func (s *span) key(v uint32) string { return s.prefix + s.format(v) }

// random draws an offset from the upper band (the whole drawable range
// when the upper band is empty).
func (s *span) random() uint32 {
	lo := max(s.low, s.skip)
	if lo >= s.size {
		lo = s.skip
	}
	return s.base + lo + rand.Uint32N(s.size-lo)
}

// scan returns a value not in used, looking through the upper band from a
// random point first and then through the lower band, and false when
// every drawable value is used.
func (s *span) scan(used map[uint32]bool) (uint32, bool) {
	try := func(from, to uint32) (uint32, bool) {
		if from >= to {
			return 0, false
		}
		start := from + rand.Uint32N(to-from)
		for i := uint32(0); i < to-from; i++ {
			off := from + (start-from+i)%(to-from)
			if !used[s.base+off] {
				return s.base + off, true
			}
		}
		return 0, false
	}
	upper := max(s.low, s.skip)
	if v, ok := try(upper, s.size); ok {
		return v, true
	}
	return try(s.skip, min(upper, s.size))
}
