package netsock

// TCP: listening and accepting, the pumps between gVisor and a
// connection's buffers, stream reads and writes, shutdown.

import (
	"net/netip"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
)

// Listen makes a TCP socket accept up to backlog waiting connections.
func (s *Socket) Listen(backlog int) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stream {
		return errorf(syscall.EOPNOTSUPP, "a UDP socket cannot listen")
	}
	if s.state == listening {
		return nil
	}
	if s.state != fresh {
		return errorf(syscall.EINVAL, "the socket is connected or closed")
	}
	addr := s.local
	if !addr.IsValid() {
		a, e := s.stack.localAddr(s.v6)
		if e != nil {
			return e
		}
		addr = netip.AddrPortFrom(a, 0)
	}
	l, err := s.stack.net.ListenTCPAddrPort(addr)
	if err != nil {
		return toError(err)
	}
	if backlog <= 0 {
		backlog = defaultBacklog
	}
	s.listener, s.state, s.backlog = l, listening, backlog
	go s.acceptConnections(l)
	return nil
}

// startLocked makes the socket a connection over c and starts its pumps.
func (s *Socket) startLocked(c *gonet.TCPConn, peer netip.AddrPort) {
	s.tcp, s.peer, s.state = c, peer, connected
	s.updateLocked()
	go s.receive(c)
	go s.send(c)
}

// receive moves what c receives into the socket's buffer while it has room.
func (s *Socket) receive(c *gonet.TCPConn) {
	buf := make([]byte, chunkSize)
	for {
		n, err := c.Read(buf)
		s.mu.Lock()
		s.in.Write(buf[:n])
		if err != nil {
			if e := toError(err); e != nil {
				s.readErr = e
			} else {
				s.eof = true
			}
		}
		s.updateLocked()
		for err == nil && s.state == connected && s.in.Len() >= bufferSize {
			s.wake.Wait()
		}
		stop := err != nil || s.state != connected
		s.mu.Unlock()
		if stop {
			return
		}
	}
}

// send moves what the socket buffered to c; after a close it flushes the
// rest (for up to lingerTime) and closes c.
func (s *Socket) send(c *gonet.TCPConn) {
	buf := make([]byte, chunkSize)
	for {
		s.mu.Lock()
		for s.out.Len() == 0 && !s.shutWrite && s.state == connected {
			s.wake.Wait()
		}
		n, _ := s.out.Read(buf)
		open := s.state == connected
		if n == 0 {
			s.writerDone = true
		}
		s.updateLocked()
		s.mu.Unlock()
		if n == 0 {
			if open {
				_ = c.CloseWrite()
			} else {
				_ = c.Close()
			}
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			s.mu.Lock()
			s.writeErr, s.writerDone = toError(err), true
			s.out.Reset()
			open = s.state == connected
			s.updateLocked()
			s.mu.Unlock()
			if !open {
				_ = c.Close()
			}
			return
		}
	}
}

func (s *Socket) acceptConnections(l *gonet.TCPListener) {
	for {
		c, err := l.Accept()
		s.mu.Lock()
		if s.state != listening {
			s.mu.Unlock()
			if c != nil {
				c.Close()
			}
			return
		}
		if err != nil {
			s.failLocked(toError(err))
			s.mu.Unlock()
			return
		}
		if len(s.accepted) < s.backlog {
			// the peer's address now: gVisor forgets it once the connection resets
			s.accepted = append(s.accepted, pending{c.(*gonet.TCPConn), addrPort(c.RemoteAddr())})
		} else {
			c.Close()
		}
		s.updateLocked()
		s.mu.Unlock()
	}
}

// Accept takes a waiting connection as a new socket (EAGAIN: none waits).
func (s *Socket) Accept() (*Socket, *Error) {
	s.mu.Lock()
	if s.state != listening {
		defer s.mu.Unlock()
		if s.state == failed {
			return nil, s.err
		}
		return nil, errorf(syscall.EINVAL, "the socket is not listening")
	}
	if len(s.accepted) == 0 {
		s.mu.Unlock()
		return nil, errAgain
	}
	p := s.accepted[0]
	s.accepted = s.accepted[1:]
	s.updateLocked()
	s.mu.Unlock()
	conn, e := New(s.stack, s.v6, true)
	if e != nil {
		p.conn.Close()
		return nil, e
	}
	conn.mu.Lock()
	conn.startLocked(p.conn, p.peer)
	conn.mu.Unlock()
	return conn, nil
}

// pending is a connection a listener accepted that the host has not
// taken yet, with its peer's address.
type pending struct {
	conn *gonet.TCPConn
	peer netip.AddrPort
}

// Read copies received bytes into p: 0 at EOF, EAGAIN when none wait.
func (s *Socket) Read(p []byte) (int, *Error) {
	if !s.stream {
		n, _, e := s.RecvFrom(p)
		return n, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != connected {
		if s.state == fresh || s.state == connecting || s.state == listening {
			return 0, errorf(syscall.ENOTCONN, "the socket is not connected")
		}
		return 0, s.deadLocked()
	}
	if s.in.Len() > 0 {
		n, _ := s.in.Read(p)
		s.wake.Broadcast()
		s.updateLocked()
		return n, nil
	}
	if s.eof || s.shutRead {
		return 0, nil
	}
	if s.readErr != nil {
		return 0, s.readErr
	}
	return 0, errAgain
}

// Write buffers as much of p as fits and returns how much (EAGAIN: none).
func (s *Socket) Write(p []byte) (int, *Error) {
	if !s.stream {
		return s.SendTo(p, netip.AddrPort{})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.state == fresh || s.state == connecting || s.state == listening:
		return 0, errorf(syscall.ENOTCONN, "the socket is not connected")
	case s.state != connected:
		return 0, s.deadLocked()
	case s.writeErr != nil:
		return 0, s.writeErr
	case s.shutWrite:
		return 0, errorf(syscall.EPIPE, "the socket was shut down for writing")
	}
	room := bufferSize - s.out.Len()
	if room <= 0 {
		return 0, errAgain
	}
	n := min(room, len(p))
	s.out.Write(p[:n])
	s.wake.Broadcast()
	s.updateLocked()
	return n, nil
}

// Shutdown ends reading (EOF from now on), writing (a FIN once the buffer
// is sent) or both.
func (s *Socket) Shutdown(read, write bool) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != connected {
		if s.state == failed {
			return s.err
		}
		return errorf(syscall.ENOTCONN, "the socket is not connected")
	}
	s.shutRead = s.shutRead || read
	s.shutWrite = s.shutWrite || write
	s.wake.Broadcast()
	s.updateLocked()
	return nil
}
