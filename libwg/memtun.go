package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"

	"golang.zx2c4.com/wireguard/tun"
)

// memTun is a tun.Device with no kernel behind it: the host writes IP
// packets into outbound (the device encrypts them) and reads the packets
// the device decrypted from inbound.
type memTun struct {
	outbound *packetQueue
	inbound  *packetQueue
	mtu      int
	events   chan tun.Event
	once     sync.Once
	gate     *hostGate // how Write waits for room in inbound
}

var _ tun.Device = (*memTun)(nil)

func newMemTun(mtu, capacity int, gate *hostGate) *memTun {
	return &memTun{
		outbound: newPacketQueue(capacity, mtu),
		inbound:  newPacketQueue(capacity, mtu),
		mtu:      mtu,
		events:   make(chan tun.Event),
		gate:     gate,
	}
}

func (t *memTun) Read(buf []byte, offset int) (int, error) {
	n, err := t.outbound.takeOne(buf[offset:], nil)
	if err != nil {
		return 0, os.ErrClosed
	}
	return n, nil
}

// Write hands a decrypted packet to the host, waiting while inbound is
// full (see hostGate): back-pressure reaches the sender instead of
// packets being lost.
func (t *memTun) Write(buf []byte, offset int) (int, error) {
	packet := buf[offset:]
	switch err := t.gate.put(t.inbound, packet); err {
	case nil:
		return len(packet), nil
	case errTurnedOff:
		return 0, err
	}
	return 0, os.ErrClosed
}

func (t *memTun) File() *os.File           { return nil }
func (t *memTun) Flush() error             { return nil }
func (t *memTun) MTU() (int, error)        { return t.mtu, nil }
func (t *memTun) Name() (string, error)    { return "memtun", nil }
func (t *memTun) Events() <-chan tun.Event { return t.events }

func (t *memTun) Close() error {
	t.once.Do(func() {
		t.outbound.close()
		t.inbound.close()
		close(t.events)
	})
	return nil
}

// checkIPPacket accepts an IPv4 or IPv6 packet no larger than mtu whose
// header's length matches its size (the receiving peer drops others).
func checkIPPacket(p []byte, mtu int) error {
	if len(p) > mtu {
		return fmt.Errorf("%d bytes is more than the MTU (%d)", len(p), mtu)
	}
	if len(p) == 0 {
		return fmt.Errorf("empty packet")
	}
	var headerLen, declared int
	switch p[0] >> 4 {
	case 4:
		headerLen = 20
		if len(p) >= headerLen {
			declared = int(binary.BigEndian.Uint16(p[2:4]))
		}
	case 6:
		headerLen = 40
		if len(p) >= headerLen {
			declared = headerLen + int(binary.BigEndian.Uint16(p[4:6]))
		}
	default:
		return fmt.Errorf("IP version %d is neither 4 nor 6", p[0]>>4)
	}
	if len(p) < headerLen {
		return fmt.Errorf("%d bytes is too short for IPv%d", len(p), p[0]>>4)
	}
	if declared != len(p) {
		return fmt.Errorf("the IP header says %d bytes, the packet has %d", declared, len(p))
	}
	return nil
}

func errDatagramSize(n, max int) error {
	return fmt.Errorf("a datagram of %d bytes is outside 1..%d", n, max)
}
