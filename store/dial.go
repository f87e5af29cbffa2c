package store

import (
	"context"
	"net"
	"strings"
)

// clientSocketBuffer is the send and receive buffer asked for on the
// client's socket to etcd (the kernel caps it at net.core.wmem_max and
// rmem_max).
const clientSocketBuffer = 4 << 20

// dialEtcd dials an etcd endpoint as gRPC's default dialer would (a unix
// socket for unix://path, TCP otherwise), with large socket buffers.
//
// Why: grpc-go's transport stops reading a connection while more than 50
// control frames wait to be written (controlBuffer.throttle). When the API
// server has many large requests in flight, both directions of the one
// connection can fill at once — the client cannot write requests because
// etcd is not reading, etcd cannot write replies because the client is not
// reading — and every etcd call hangs for good. A unix socket's default
// buffer (~200 KiB) fills with a few dozen pods; a few MiB leave the
// client's side always room to write, which breaks the cycle.
func dialEtcd(ctx context.Context, addr string) (net.Conn, error) {
	network := "tcp"
	if rest, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", strings.TrimPrefix(rest, "//")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if b, ok := conn.(interface {
		SetReadBuffer(int) error
		SetWriteBuffer(int) error
	}); ok {
		_ = b.SetWriteBuffer(clientSocketBuffer)
		_ = b.SetReadBuffer(clientSocketBuffer)
	}
	return conn, nil
}
