//go:build linux

package ingest

import (
	"encoding/binary"
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadDatagramDoesNotAllocate(t *testing.T) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer srv.Close()
	ok, err := enableDropCount(srv)
	require.NoError(t, err)
	require.True(t, ok)
	c, err := net.DialUDP("udp", nil, srv.LocalAddr().(*net.UDPAddr))
	require.NoError(t, err)
	defer c.Close()
	msg := []byte(sshLine("h", 1, "u"))
	buf, oob := make([]byte, 2048), make([]byte, dropOOBSize)
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = c.Write(msg)
		if n, _, _, _, err := readDatagram(srv, buf, oob); err != nil || n != len(msg) {
			t.Fatalf("read %d bytes: %v", n, err)
		}
	})
	require.Zero(t, allocs)
}

func TestKernelDropsParsesControlMessages(t *testing.T) {
	// Another message first, then SO_RXQ_OVFL, as the kernel lays them out.
	oob := make([]byte, syscall.CmsgSpace(8)+syscall.CmsgSpace(4))
	put := func(b []byte, level, typ int32, data []byte) {
		h := syscall.Cmsghdr{Level: level, Type: typ}
		h.SetLen(syscall.CmsgLen(len(data)))
		lenSize := syscall.SizeofCmsghdr - 8
		if lenSize == 8 {
			binary.NativeEndian.PutUint64(b, uint64(h.Len))
		} else {
			binary.NativeEndian.PutUint32(b, uint32(h.Len))
		}
		binary.NativeEndian.PutUint32(b[lenSize:], uint32(level))
		binary.NativeEndian.PutUint32(b[lenSize+4:], uint32(typ))
		copy(b[syscall.CmsgLen(0):], data)
	}
	put(oob, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, make([]byte, 8))
	count := make([]byte, 4)
	binary.NativeEndian.PutUint32(count, 123456)
	put(oob[syscall.CmsgSpace(8):], syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, count)
	n, ok := kernelDrops(oob)
	require.True(t, ok)
	require.Equal(t, uint32(123456), n)

	_, ok = kernelDrops(oob[:syscall.CmsgSpace(8)])
	require.False(t, ok, "no SO_RXQ_OVFL message")
	_, ok = kernelDrops(oob[:5])
	require.False(t, ok, "a cut header")
	bad := append([]byte(nil), oob...)
	put(bad, syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, count)
	binary.NativeEndian.PutUint32(bad, 0xffff) // a length past the buffer
	_, ok = kernelDrops(bad)
	require.False(t, ok, "a length past the buffer")
}
