// Package netsock gives a C host non-blocking TCP and UDP sockets on a
// wireguard-go netstack (gVisor's userspace TCP/IP stack). No call waits:
// goroutines move the bytes between gVisor and per-socket buffers, and
// each socket has two eventfds, readable while the socket is readable or
// writable, for the host to poll.
package netsock

import (
	"context"
	"net/netip"
	"sync"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
)

// Net is what sockets are made with: wireguard-go's *netstack.Net.
type Net interface {
	DialContextTCPAddrPort(ctx context.Context, addr netip.AddrPort) (*gonet.TCPConn, error)
	ListenTCPAddrPort(addr netip.AddrPort) (*gonet.TCPListener, error)
	DialUDPAddrPort(laddr, raddr netip.AddrPort) (*gonet.UDPConn, error)
}

// Stack is the netstack of one tunnel and the sockets open on it.
type Stack struct {
	net    Net
	v4, v6 netip.Addr // the interface's first address of each family

	mu     sync.Mutex
	down   bool
	socket map[*Socket]struct{}

	// sends is held for reading while a host thread hands gVisor a
	// datagram; Close takes it to wait them out, so the netstack TUN is
	// closed with no such send in flight (see mode_netstack.go).
	sends sync.RWMutex
}

// NewStack wraps net, whose interface has addresses.
func NewStack(net Net, addresses []netip.Addr) *Stack {
	s := &Stack{net: net, socket: map[*Socket]struct{}{}}
	for _, a := range addresses {
		if a.Is4() && !s.v4.IsValid() {
			s.v4 = a
		} else if a.Is6() && !s.v6.IsValid() {
			s.v6 = a
		}
	}
	return s
}

// localAddr is the interface's address of the family, for binds to the
// unspecified address (gVisor binds sockets to an interface address).
func (s *Stack) localAddr(v6 bool) (netip.Addr, *Error) {
	a := s.v4
	if v6 {
		a = s.v6
	}
	if !a.IsValid() {
		family := "IPv4"
		if v6 {
			family = "IPv6"
		}
		return a, errorf(syscall.EADDRNOTAVAIL, "the tunnel has no "+family+" address")
	}
	return a, nil
}

func (s *Stack) add(sock *Socket) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errorf(syscall.ENETDOWN, "the tunnel is turned off")
	}
	s.socket[sock] = struct{}{}
	return nil
}

func (s *Stack) remove(sock *Socket) {
	s.mu.Lock()
	delete(s.socket, sock)
	s.mu.Unlock()
}

// Close fails every open socket with ECONNRESET (the handles stay valid
// until their owner closes them), refuses new ones and new datagram sends,
// and returns once the sends in flight are done.
func (s *Stack) Close() {
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		return
	}
	s.down = true
	open := make([]*Socket, 0, len(s.socket))
	for sock := range s.socket {
		open = append(open, sock)
	}
	s.mu.Unlock()
	for _, sock := range open {
		sock.abort(errorf(syscall.ECONNRESET, "the tunnel was turned off"))
	}
	s.sends.Lock() // once taken, no send is in flight, and none starts
	s.sends.Unlock()
}

// beginSend marks a datagram send in flight; false once the stack is down.
func (s *Stack) beginSend() bool {
	s.sends.RLock()
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		s.sends.RUnlock()
	}
	return !down
}

func (s *Stack) endSend() { s.sends.RUnlock() }
