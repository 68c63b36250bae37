//go:build linux

package ingest

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// dropOOBSize is the ancillary buffer for one SO_RXQ_OVFL message.
var dropOOBSize = syscall.CmsgSpace(4)

// enableDropCount asks the kernel to attach its count of the datagrams
// it dropped for this socket (SO_RXQ_OVFL) to each datagram read.
func enableDropCount(conn *net.UDPConn) (bool, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return false, fmt.Errorf("cannot reach the udp socket: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1)
	}); err != nil {
		return false, fmt.Errorf("cannot reach the udp socket: %w", err)
	}
	if serr != nil {
		return false, fmt.Errorf("cannot set SO_RXQ_OVFL: %w", serr)
	}
	return true, nil
}

// readDatagram reads one datagram into buf. When the kernel attached its
// drop count (it does once the count is above zero), counted is true.
func readDatagram(conn *net.UDPConn, buf, oob []byte) (n int, from netip.AddrPort, drops uint32, counted bool, err error) {
	n, oobn, _, from, err := conn.ReadMsgUDPAddrPort(buf, oob)
	if oobn > 0 {
		drops, counted = kernelDrops(oob[:oobn])
	}
	return n, from, drops, counted, err
}

// kernelDrops finds the SO_RXQ_OVFL message in oob: a 32-bit count in
// host byte order. The header is read field by field, so the buffer need
// not be aligned.
func kernelDrops(oob []byte) (uint32, bool) {
	lenSize := syscall.SizeofCmsghdr - 8 // the length field is a C size_t
	hdr := syscall.CmsgLen(0)
	for len(oob) >= hdr {
		var size int
		if lenSize == 8 {
			size = int(binary.NativeEndian.Uint64(oob))
		} else {
			size = int(binary.NativeEndian.Uint32(oob))
		}
		if size < hdr || size > len(oob) {
			return 0, false
		}
		level := int32(binary.NativeEndian.Uint32(oob[lenSize:]))
		typ := int32(binary.NativeEndian.Uint32(oob[lenSize+4:]))
		if level == syscall.SOL_SOCKET && typ == syscall.SO_RXQ_OVFL && size-hdr >= 4 {
			return binary.NativeEndian.Uint32(oob[hdr:]), true
		}
		next := syscall.CmsgSpace(size - hdr)
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	return 0, false
}
