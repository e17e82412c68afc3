package netsock

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
)

const (
	bufferSize     = 256 << 10       // bytes each TCP socket buffers per direction
	chunkSize      = 64 << 10        // bytes a pump moves per gVisor call
	datagramQueue  = 256             // datagrams a UDP socket holds before dropping
	defaultBacklog = 128             // connections a listener holds unaccepted
	lingerTime     = 5 * time.Second // how long a closed socket flushes what it buffered
	udpSendTimeout = time.Second     // a UDP send waits this long for room in gVisor
)

type state int

const (
	fresh      state = iota
	connecting       // TCP: a connect is in flight
	connected        // TCP: a connection
	listening        // TCP: a listener
	bound            // UDP: an endpoint
	failed           // the socket is dead; err says why
	closed
)

// Socket is one TCP or UDP socket. Its methods never wait on the network.
type Socket struct {
	stack  *Stack
	v6     bool
	stream bool

	mu     sync.Mutex
	wake   *sync.Cond // the pumps wait on it for room or data
	state  state
	err    *Error // why the socket failed (state failed)
	local  netip.AddrPort
	cancel context.CancelFunc // of a connect in flight

	tcp        *gonet.TCPConn
	in, out    bytes.Buffer // received, not yet read / written, not yet sent
	eof        bool
	readErr    *Error
	writeErr   *Error
	shutRead   bool
	shutWrite  bool
	writerDone bool

	listener *gonet.TCPListener
	accepted []pending
	backlog  int

	udp   *gonet.UDPConn
	peer  netip.AddrPort // the peer: a connected UDP socket's, a TCP connection's as it connected
	queue []datagram

	readable, writable *flag
}

// New opens a TCP (stream) or UDP socket of one family on stack.
func New(stack *Stack, v6, stream bool) (*Socket, *Error) {
	s := &Socket{stack: stack, v6: v6, stream: stream}
	s.wake = sync.NewCond(&s.mu)
	var err error
	if s.readable, err = newFlag(); err != nil {
		return nil, toError(err)
	}
	if s.writable, err = newFlag(); err != nil {
		s.readable.close()
		return nil, toError(err)
	}
	if e := stack.add(s); e != nil {
		s.readable.close()
		s.writable.close()
		return nil, e
	}
	s.mu.Lock()
	s.updateLocked()
	s.mu.Unlock()
	return s, nil
}

// ReadyFD is the eventfd readable while the socket is readable (or, with
// writable, while it is writable): data, EOF, an error, a connection to
// accept; room to write, a connect finished.
func (s *Socket) ReadyFD(writable bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if writable {
		return s.writable.fd
	}
	return s.readable.fd
}

func (s *Socket) updateLocked() {
	var r, w bool
	switch s.state {
	case fresh:
		w = !s.stream // a UDP send binds the socket
	case connected:
		r = s.in.Len() > 0 || s.eof || s.readErr != nil || s.shutRead
		w = s.out.Len() < bufferSize || s.writeErr != nil || s.shutWrite
	case listening:
		r = len(s.accepted) > 0
	case bound:
		r, w = len(s.queue) > 0, true
	case failed:
		r, w = true, true
	}
	s.readable.update(r)
	s.writable.update(w)
}

// failLocked kills the socket with e (nil: gVisor ended it with EOF).
func (s *Socket) failLocked(e *Error) {
	if e == nil {
		e = errorf(syscall.ECONNRESET, "the network stack closed the socket")
	}
	s.state, s.err = failed, e
	s.wake.Broadcast()
	s.updateLocked()
}

func (s *Socket) checkFamily(addr netip.AddrPort) *Error {
	if addr.Addr().Is6() != s.v6 {
		return errorf(syscall.EAFNOSUPPORT, "the address's family is not the socket's")
	}
	return nil
}

// Bind sets the local address: at once for UDP, at Listen for TCP. The
// unspecified address stands for the tunnel's address of the family.
func (s *Socket) Bind(addr netip.AddrPort) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.checkFamily(addr); e != nil {
		return e
	}
	if s.state != fresh || s.local.IsValid() {
		return errorf(syscall.EINVAL, "the socket is already bound")
	}
	if addr.Addr().IsUnspecified() {
		a, e := s.stack.localAddr(s.v6)
		if e != nil {
			return e
		}
		addr = netip.AddrPortFrom(a, addr.Port())
	}
	if s.stream {
		s.local = addr
		return nil
	}
	return s.bindUDPLocked(addr)
}

// Connect starts a TCP connect (the socket turns writable when it ends;
// Err then tells how), or sets a UDP socket's peer.
func (s *Socket) Connect(addr netip.AddrPort, timeout time.Duration) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.checkFamily(addr); e != nil {
		return e
	}
	if !s.stream {
		if s.state == fresh {
			if e := s.bindAnyLocked(); e != nil {
				return e
			}
		}
		if s.state != bound {
			return s.deadLocked()
		}
		s.peer = addr
		return nil
	}
	switch s.state {
	case connecting:
		return errorf(syscall.EALREADY, "a connect is already in progress")
	case connected:
		return errorf(syscall.EISCONN, "the socket is already connected")
	case fresh:
	default:
		return s.deadLocked()
	}
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	s.state, s.cancel = connecting, cancel
	s.updateLocked()
	go func() {
		c, err := s.stack.net.DialContextTCPAddrPort(ctx, addr)
		cancel()
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case s.state != connecting:
			if c != nil {
				c.Close()
			}
		case err != nil:
			s.failLocked(toError(err))
		default:
			s.startLocked(c, addr)
		}
	}()
	return nil
}

// deadLocked is the error of a call on a failed or closed socket.
func (s *Socket) deadLocked() *Error {
	if s.state == failed {
		return s.err
	}
	return errorf(syscall.EBADF, "the socket is closed")
}

// Err is how a connect ended: nil once connected, EINPROGRESS while it
// runs, the socket's error once it failed.
func (s *Socket) Err() *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case connecting:
		return errorf(syscall.EINPROGRESS, "the connect is in progress")
	case failed, closed:
		return s.deadLocked()
	}
	return nil
}

// abort fails the socket with e and drops its connection (tunnel off).
func (s *Socket) abort(e *Error) {
	s.mu.Lock()
	if s.state == closed {
		s.mu.Unlock()
		return
	}
	release := s.releaseLocked()
	s.failLocked(e)
	s.mu.Unlock()
	release()
}

// releaseLocked stops what runs for the socket and returns how to close
// its gVisor endpoint (outside the lock); a connection that still has
// bytes to send is closed by its sender once they are sent.
func (s *Socket) releaseLocked() func() {
	if s.cancel != nil {
		s.cancel()
	}
	for _, p := range s.accepted {
		p.conn.Close()
	}
	s.accepted = nil
	s.wake.Broadcast()
	switch s.state {
	case connected:
		c, flush := s.tcp, !s.writerDone && s.readErr == nil && s.writeErr == nil
		_ = c.SetReadDeadline(time.Now())
		if flush {
			_ = c.SetWriteDeadline(time.Now().Add(lingerTime))
			return func() {}
		}
		_ = c.SetWriteDeadline(time.Now())
		return func() { _ = c.Close() }
	case listening:
		return func() { _ = s.listener.Close() }
	case bound:
		c := s.udp
		_ = c.SetDeadline(time.Now())
		return func() { _ = c.Close() }
	}
	return func() {}
}

// Close closes the socket; it flushes what it buffered in the background.
func (s *Socket) Close() {
	s.mu.Lock()
	if s.state == closed {
		s.mu.Unlock()
		return
	}
	release := s.releaseLocked()
	s.state = closed
	s.readable.close()
	s.writable.close()
	s.mu.Unlock()
	release()
	s.stack.remove(s)
}

// LocalAddr is the socket's address (port 0 before it has one).
func (s *Socket) LocalAddr() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.tcp != nil:
		return addrPort(s.tcp.LocalAddr())
	case s.listener != nil:
		return addrPort(s.listener.Addr())
	case s.udp != nil:
		return addrPort(s.udp.LocalAddr())
	case s.local.IsValid():
		return s.local
	case s.v6:
		return netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
}

// RemoteAddr is the peer of a connected socket.
func (s *Socket) RemoteAddr() (netip.AddrPort, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peer.IsValid() {
		return s.peer, nil
	}
	return netip.AddrPort{}, errorf(syscall.ENOTCONN, "the socket is not connected")
}

func addrPort(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
