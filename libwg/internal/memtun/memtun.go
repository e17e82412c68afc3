// Package memtun is a tun.Device with no kernel behind it: its packets
// are the host's to write and read.
package memtun

import (
	"os"
	"sync"

	"golang.zx2c4.com/wireguard/tun"

	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/packetqueue"
)

// Device is a tun.Device with no kernel behind it: the host writes IP
// packets into outbound (the device encrypts them) and reads the packets
// the device decrypted from inbound.
type Device struct {
	Outbound *packetqueue.Queue
	Inbound  *packetqueue.Queue
	mtu      int
	events   chan tun.Event
	once     sync.Once
	gate     *hostgate.Gate // how Write waits for room in inbound
}

var _ tun.Device = (*Device)(nil)

// MaxPacket bounds a received packet: the peer's MTU, not ours, sizes it.
const MaxPacket = 65535

// New makes a device of mtu bytes whose queues hold capacity packets.
func New(mtu, capacity int, gate *hostgate.Gate) *Device {
	return &Device{
		Outbound: packetqueue.New(capacity, mtu),
		Inbound:  packetqueue.New(capacity, MaxPacket),
		mtu:      mtu,
		events:   make(chan tun.Event),
		gate:     gate,
	}
}

func (t *Device) Read(buf []byte, offset int) (int, error) {
	n, err := t.Outbound.TakeOne(buf[offset:], nil)
	if err != nil {
		return 0, os.ErrClosed
	}
	return n, nil
}

// Write hands a decrypted packet to the host, waiting while inbound is
// full (see hostgate.Gate): back-pressure reaches the sender instead of
// packets being lost.
func (t *Device) Write(buf []byte, offset int) (int, error) {
	packet := buf[offset:]
	switch err := t.gate.Put(t.Inbound, packet); err {
	case nil:
		t.Outbound.ExpectReply()
		return len(packet), nil
	case hostgate.ErrTurnedOff:
		return 0, err
	}
	return 0, os.ErrClosed
}

// WriteNow hands a packet to the host only if inbound has room right
// now, with count (not the handover count) seeing it; it reports whether
// it did.
func (t *Device) WriteNow(packet []byte, count func(packet []byte)) bool {
	return t.Inbound.PutNow(packet, count)
}

// CountHandover has count see each packet as the host can first read it.
func (t *Device) CountHandover(count func(packet []byte)) { t.Inbound.OnPublish = count }

func (t *Device) File() *os.File           { return nil }
func (t *Device) Flush() error             { return nil }
func (t *Device) MTU() (int, error)        { return t.mtu, nil }
func (t *Device) Name() (string, error)    { return "memtun", nil }
func (t *Device) Events() <-chan tun.Event { return t.events }

func (t *Device) Close() error {
	t.once.Do(func() {
		t.Outbound.Close()
		t.Inbound.Close()
		close(t.events)
	})
	return nil
}
