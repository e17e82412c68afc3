package udpbind

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"

	"wgcore/libwg/internal/offloads"
)

// path is what a UDP socket does beyond one datagram per call:
// gso sends several equal datagrams to one address as one buffer
// (UDP_SEGMENT), gro receives several as one (UDP_GRO).
type path struct{ gso, gro bool }

// enableOffloads turns GRO on for fd and asks whether it can do GSO.
func enableOffloads(fd int) path {
	if offloads.Refused() {
		return path{}
	}
	_, segErr := unix.GetsockoptInt(fd, unix.SOL_UDP, unix.UDP_SEGMENT)
	groErr := unix.SetsockoptInt(fd, unix.SOL_UDP, unix.UDP_GRO, 1)
	return path{gso: segErr == nil, gro: groErr == nil}
}

func (p path) String() string {
	switch {
	case p.gso && p.gro:
		return "gso+gro"
	case p.gso:
		return "gso"
	case p.gro:
		return "gro"
	}
	return "plain"
}

// Probe is the path a new IPv4 socket of the bind would take here.
func Probe() string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return "unknown"
	}
	defer unix.Close(fd)
	return enableOffloads(fd).String()
}

// groSize is the segment size the kernel reports in a UDP_GRO control
// message of oob, or 0 when oob has none (the datagram is one segment).
func groSize(oob []byte) int {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		if h.Len < unix.SizeofCmsghdr || int(h.Len) > len(oob) {
			return 0
		}
		if h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && int(h.Len) >= unix.CmsgLen(2) {
			data := oob[unix.CmsgLen(0):h.Len]
			if len(data) >= 4 {
				return int(binary.NativeEndian.Uint32(data))
			}
			return int(binary.NativeEndian.Uint16(data))
		}
		oob = oob[min(unix.CmsgSpace(int(h.Len)-unix.CmsgLen(0)), len(oob)):]
	}
	return 0
}

// putSegmentSize writes into oob a UDP_SEGMENT control message of size
// and returns the bytes it used.
func putSegmentSize(oob []byte, size int) []byte {
	oob = oob[:unix.CmsgSpace(2)]
	clear(oob)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], uint16(size))
	return oob
}
