// Package udpbind is a conn.Bind over UDP sockets that can report their fds.
package udpbind

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/conn"
)

// Bind is a conn.Bind over one IPv4 and one IPv6 UDP socket that, unlike
// wireguard-go's StdNetBind on Linux, can report its sockets' fds (for
// routing exemptions, see wgGetSocketV4/V6).
//
// Each socket receives with recvmmsg (and UDP_GRO where the kernel
// offers it) and sends from a goroutine of its own with sendmmsg (and
// UDP_SEGMENT), so the single-datagram calls of the device cost a
// fraction of a system call each. A datagram counts as sent (see
// CountHandover) just before the kernel gets it.
type Bind struct {
	mu      sync.Mutex
	v4      *net.UDPConn
	v6      *net.UDPConn
	senders [2]*sender // v4, v6
	paths   [2]path
	mark    uint32
	count   func([]byte)
}

// CountHandover makes the bind call count with each datagram just before
// it goes to the kernel (Send only queues it).
func (b *Bind) CountHandover(count func([]byte)) { b.count = count }

// Offloads describes the path of the open sockets, e.g. "udp4 gso+gro".
func (b *Bind) Offloads() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var parts []string
	for i, c := range []*net.UDPConn{b.v4, b.v6} {
		if c != nil {
			parts = append(parts, []string{"udp4 ", "udp6 "}[i]+b.paths[i].String())
		}
	}
	return strings.Join(parts, ", ")
}

func (b *Bind) Open(port uint16) ([]conn.ReceiveFunc, uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.v4 != nil || b.v6 != nil {
		return nil, 0, conn.ErrBindAlreadyOpen
	}
	for tries := 0; ; tries++ {
		v4, v6, err := listenBoth(int(port))
		if err != nil && port == 0 && errors.Is(err, syscall.EADDRINUSE) && tries < 100 {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		b.v4, b.v6 = v4, v6
		break
	}
	count := b.count
	if count == nil {
		count = func([]byte) {}
	}
	var fns []conn.ReceiveFunc
	for i, c := range []*net.UDPConn{b.v4, b.v6} {
		if c == nil {
			continue
		}
		growBuffers(c)
		if b.mark != 0 {
			setMark(c, b.mark)
		}
		b.paths[i] = path{}
		if raw, err := c.SyscallConn(); err == nil {
			raw.Control(func(fd uintptr) { b.paths[i] = enableOffloads(int(fd)) })
		}
		var pc batchConn = ipv4.NewPacketConn(c)
		if i == 1 {
			pc = ipv6.NewPacketConn(c)
		}
		fns = append(fns, newReader(pc, i == 0).receive)
		b.senders[i] = newSender(pc, &b.paths[i], count)
	}
	return fns, uint16(localPort(firstOf(b.v4, b.v6))), nil
}

// listenBoth opens the IPv4 socket on port, then the IPv6 one on the port
// the first got; a family the host lacks is skipped.
func listenBoth(port int) (v4, v6 *net.UDPConn, err error) {
	v4, err = net.ListenUDP("udp4", &net.UDPAddr{Port: port})
	if err != nil && !errors.Is(err, syscall.EAFNOSUPPORT) {
		return nil, nil, err
	}
	if v4 != nil {
		port = localPort(v4)
	}
	v6, err = net.ListenUDP("udp6", &net.UDPAddr{Port: port})
	if err != nil && !errors.Is(err, syscall.EAFNOSUPPORT) {
		if v4 != nil {
			v4.Close()
		}
		return nil, nil, err
	}
	if v4 == nil && v6 == nil {
		return nil, nil, syscall.EAFNOSUPPORT
	}
	return v4, v6, nil
}

func firstOf(a, b *net.UDPConn) *net.UDPConn {
	if a != nil {
		return a
	}
	return b
}

func localPort(c *net.UDPConn) int {
	return c.LocalAddr().(*net.UDPAddr).Port
}

func (b *Bind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for i, c := range []*net.UDPConn{b.v4, b.v6} {
		if c != nil {
			errs = append(errs, c.Close())
			b.senders[i].close()
		}
	}
	b.v4, b.v6, b.senders = nil, nil, [2]*sender{}
	return errors.Join(errs...)
}

func (b *Bind) SetMark(mark uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mark = mark
	for _, c := range []*net.UDPConn{b.v4, b.v6} {
		if c != nil {
			if err := setMark(c, mark); err != nil {
				return err
			}
		}
	}
	return nil
}

// socketBufferSize is asked for both socket buffers so bursts are not
// dropped by the kernel; beyond net.core.[rw]mem_max it needs CAP_NET_ADMIN
// (the FORCE options), without it the kernel caps it there.
const socketBufferSize = 7 << 20

func growBuffers(c *net.UDPConn) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		for _, opts := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opts[0], socketBufferSize) != nil {
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opts[1], socketBufferSize)
			}
		}
	})
}

func setMark(c *net.UDPConn, mark uint32) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	err = raw.Control(func(fd uintptr) {
		opErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, int(mark))
	})
	return errors.Join(err, opErr)
}

func (b *Bind) Send(buf []byte, ep conn.Endpoint) error {
	dst, ok := ep.(conn.StdNetEndpoint)
	if !ok {
		return conn.ErrWrongEndpointType
	}
	to := netip.AddrPortFrom(netip.AddrPort(dst).Addr().Unmap(), netip.AddrPort(dst).Port())
	family := 0
	if to.Addr().Is6() {
		family = 1
	}
	b.mu.Lock()
	s, open := b.senders[family], b.v4 != nil || b.v6 != nil
	b.mu.Unlock()
	switch {
	case s != nil:
		return s.enqueue(buf, to)
	case open:
		return syscall.EAFNOSUPPORT
	}
	return net.ErrClosed
}

func (b *Bind) ParseEndpoint(s string) (conn.Endpoint, error) {
	ap, err := netip.ParseAddrPort(s)
	return conn.StdNetEndpoint(ap), err
}

// socketFD returns the fd of the IPv4 or IPv6 socket; it stays owned by
// the bind.
func (b *Bind) SocketFD(v6 bool) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.v4
	if v6 {
		c = b.v6
	}
	if c == nil {
		return -1, errors.New("socket not open")
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	err = raw.Control(func(f uintptr) { fd = int(f) })
	return fd, err
}
