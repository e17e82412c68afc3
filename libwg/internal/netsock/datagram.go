package netsock

// UDP: binding, sending, and the queue of received datagrams.

import (
	"bytes"
	"net"
	"net/netip"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
)

type datagram struct {
	from netip.AddrPort
	data []byte
}

func (s *Socket) bindUDPLocked(addr netip.AddrPort) *Error {
	c, err := s.stack.net.DialUDPAddrPort(addr, netip.AddrPort{})
	if err != nil {
		return toError(err)
	}
	s.udp, s.state, s.local = c, bound, addr
	s.updateLocked()
	go s.receiveDatagrams(c)
	return nil
}

func (s *Socket) bindAnyLocked() *Error {
	a, e := s.stack.localAddr(s.v6)
	if e != nil {
		return e
	}
	return s.bindUDPLocked(netip.AddrPortFrom(a, 0))
}

// SendTo sends one datagram to addr (invalid: the connected peer),
// binding an unbound socket first.
func (s *Socket) SendTo(p []byte, addr netip.AddrPort) (int, *Error) {
	s.mu.Lock()
	if s.stream {
		s.mu.Unlock()
		if addr.IsValid() {
			return 0, errorf(syscall.EISCONN, "a TCP socket sends to its peer only")
		}
		return s.Write(p)
	}
	if !addr.IsValid() {
		addr = s.peer
	}
	e := s.checkFamily(addr)
	if !addr.IsValid() {
		e = errorf(syscall.EDESTADDRREQ, "the socket is not connected: give an address")
	}
	if e == nil && s.state == fresh {
		e = s.bindAnyLocked()
	}
	if e == nil && s.state != bound {
		e = s.deadLocked()
	}
	c := s.udp
	s.mu.Unlock()
	if e != nil {
		return 0, e
	}
	if !s.stack.beginSend() {
		return 0, errorf(syscall.ECONNRESET, "the tunnel was turned off")
	}
	defer s.stack.endSend()
	_ = c.SetWriteDeadline(time.Now().Add(udpSendTimeout))
	n, err := c.WriteTo(p, net.UDPAddrFromAddrPort(addr))
	return n, toError(err)
}

func (s *Socket) receiveDatagrams(c *gonet.UDPConn) {
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFrom(buf)
		s.mu.Lock()
		if s.state != bound {
			s.mu.Unlock()
			return
		}
		addr := addrPort(from)
		if err != nil || !addr.IsValid() {
			s.failLocked(toError(err))
			s.mu.Unlock()
			return
		}
		if (!s.peer.IsValid() || addr == s.peer) && len(s.queue) < datagramQueue {
			s.queue = append(s.queue, datagram{addr, bytes.Clone(buf[:n])})
			s.updateLocked()
		}
		s.mu.Unlock()
	}
}

// RecvFrom takes the next datagram (truncated to p) and its sender.
func (s *Socket) RecvFrom(p []byte) (int, netip.AddrPort, *Error) {
	if s.stream {
		n, e := s.Read(p)
		addr, _ := s.RemoteAddr()
		return n, addr, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == failed || s.state == closed {
		return 0, netip.AddrPort{}, s.deadLocked()
	}
	if len(s.queue) == 0 {
		return 0, netip.AddrPort{}, errAgain
	}
	d := s.queue[0]
	s.queue[0] = datagram{}
	s.queue = s.queue[1:]
	s.updateLocked()
	return copy(p, d.data), d.from, nil
}
