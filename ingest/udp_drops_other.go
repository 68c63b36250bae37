//go:build !linux

package ingest

import (
	"net"
	"net/netip"
)

// dropOOBSize is zero: only Linux reports its drops to the reader.
var dropOOBSize = 0

// enableDropCount reports that this system does not tell the reader how
// many datagrams the kernel dropped; tocsin_ingest_udp_kernel_drops_total
// stays at zero here.
func enableDropCount(*net.UDPConn) (bool, error) { return false, nil }

// readDatagram reads one datagram into buf; no drop count comes with it.
func readDatagram(conn *net.UDPConn, buf, _ []byte) (n int, from netip.AddrPort, drops uint32, counted bool, err error) {
	n, from, err = conn.ReadFromUDPAddrPort(buf)
	return n, from, 0, false, err
}
