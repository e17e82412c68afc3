package udpbind

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.zx2c4.com/wireguard/conn"
)

// receiveBatch is how many datagrams (each possibly several GRO
// segments) one recvmmsg asks for.
const receiveBatch = 16

// receiveBufferSize holds the largest datagram, or GRO run of segments.
const receiveBufferSize = 1 << 16

// batchConn is what x/net's ipv4 and ipv6 packet conns share.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// reader hands the device one datagram a call out of batches it reads
// with recvmmsg, splitting GRO runs by their segment size. One goroutine
// calls it (the device's receive routine for that socket).
type reader struct {
	pc      batchConn
	v4      bool
	msgs    []ipv4.Message
	read    int // messages of the last batch
	next    int // message being handed out
	offset  int // within it
	segment int // its segment size
}

func newReader(pc batchConn, v4 bool) *reader {
	r := &reader{pc: pc, v4: v4, msgs: make([]ipv4.Message, receiveBatch)}
	for i := range r.msgs {
		r.msgs[i].Buffers = [][]byte{make([]byte, receiveBufferSize)}
		r.msgs[i].OOB = make([]byte, 64)
	}
	return r
}

func (r *reader) receive(b []byte) (int, conn.Endpoint, error) {
	for r.next >= r.read {
		n, err := r.pc.ReadBatch(r.msgs, 0)
		if err != nil {
			return 0, nil, err
		}
		r.read, r.next, r.offset = n, 0, 0
		if n > 0 {
			r.segment = groSize(r.msgs[0].OOB[:r.msgs[0].NN])
		}
	}
	m := &r.msgs[r.next]
	end := m.N
	if r.segment > 0 {
		end = min(r.offset+r.segment, m.N)
	}
	n := copy(b, m.Buffers[0][r.offset:end])
	from := m.Addr.(*net.UDPAddr).AddrPort()
	if r.v4 {
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	}
	r.offset = end
	if r.offset >= m.N {
		r.next++
		r.offset = 0
		if r.next < r.read {
			r.segment = groSize(r.msgs[r.next].OOB[:r.msgs[r.next].NN])
		}
	}
	return n, conn.StdNetEndpoint(from), nil
}
