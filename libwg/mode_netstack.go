//go:build !upstream

package main

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"golang.zx2c4.com/wireguard/tun"
	"golang.zx2c4.com/wireguard/tun/netstack"

	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/netsock"
	"wgcore/libwg/internal/udpbind"
)

// netstackMode is a tunnel whose TUN is gVisor's userspace TCP/IP stack
// (mode "netstack"): the host opens sockets on it (wgSock*), no kernel
// TUN and no root; the datagrams go over UDP sockets.
type netstackMode struct {
	dev   tun.Device
	stack *netsock.Stack
	udpWire
}

// Mode "netstack" takes params addresses=<the interface's IPs> and
// dns=<DNS servers' IPs>, each comma-separated (dns may be empty).
func init() {
	registerMode("netstack", modeSpec{params: []string{"addresses", "dns"}, start: func(r *turnOn) (int32, int32) {
		m, err := newNetstackMode(r.params["addresses"], r.params["dns"], int(r.mtu))
		if err != nil {
			return -1, fail(errInvalidArgument, "%v", err)
		}
		return r.startSingle(func(*hostgate.Gate) mode { return m })
	}})
}

// newNetstackMode builds the stack with the interface's addresses, DNS
// servers (comma-separated IP text) and MTU.
func newNetstackMode(addresses, dns string, mtu int) (*netstackMode, error) {
	local, err := parseAddrs("address", addresses)
	if err != nil {
		return nil, err
	}
	if len(local) == 0 {
		return nil, fmt.Errorf("a netstack tunnel needs at least one interface address")
	}
	servers, err := parseAddrs("DNS server", dns)
	if err != nil {
		return nil, err
	}
	dev, net, err := netstack.CreateNetTUN(local, servers, mtu)
	if err != nil {
		return nil, err
	}
	stack := netsock.NewStack(net, local)
	return &netstackMode{&closingNetstack{Device: dev, stack: stack}, stack, udpWire{&udpbind.Bind{}}}, nil
}

// closingNetstack is the fork's netstack TUN with a Close that cannot
// abort the process. gVisor hands each packet it sends to that TUN by a
// send on a channel, from the goroutine that made it (a host thread
// sending a datagram, the device's receiver whose packet gVisor answers),
// and the fork's Close closes the channel: a send still on its way then
// panics ("send on closed channel"). So Close first stops both: the
// sockets (waiting out datagram sends in flight) and the packets the
// device writes in (waiting out the one being written).
type closingNetstack struct {
	tun.Device
	stack  *netsock.Stack
	writes sync.RWMutex // held for reading while the device writes a packet in
	closed bool         // under writes
}

func (c *closingNetstack) Write(buf []byte, offset int) (int, error) {
	c.writes.RLock()
	defer c.writes.RUnlock()
	if c.closed {
		return len(buf), nil // dropped, as by a TUN going down
	}
	return c.Device.Write(buf, offset)
}

func (c *closingNetstack) Close() error {
	c.stack.Close()
	c.writes.Lock()
	c.closed = true
	c.writes.Unlock()
	return c.Device.Close()
}

func parseAddrs(what, text string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, field := range strings.Split(text, ",") {
		if field = strings.TrimSpace(field); field == "" {
			continue
		}
		a, err := netip.ParseAddr(field)
		if err != nil || a.Zone() != "" || a.IsUnspecified() {
			return nil, fmt.Errorf("%s %q is not an IPv4 or IPv6 address", what, field)
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}

func (m *netstackMode) tun() tun.Device { return m.dev }

func (m *netstackMode) hostQueue(int32) (*hostQueue, error) {
	return nil, notSupported("this tunnel runs a userspace network stack: it has no packet or datagram queue; use its sockets")
}

func (m *netstackMode) close() { m.stack.Close() }
