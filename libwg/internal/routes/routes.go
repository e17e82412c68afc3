// Package routes is libwg's copy of a device's allowed IPs, to count the
// packets the device drops for want of a route.
package routes

import (
	"bufio"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Table is libwg's copy of a device's allowed IPs, so libwg can count
// the packets the device drops because no peer's allowed IPs cover their
// destination (wireguard-go drops them without a word), and tell which
// peer gets the others. It keeps one map per prefix length in use,
// longest first: a lookup costs at most one map probe per distinct
// length, however many peers there are. A table is never changed once
// built; a new config builds a new one.
type Table struct {
	v4, v6 []prefixLevel
	peers  []string // public keys (hex) of the peers with an allowed IP; prefixes map to an index
}

// prefixLevel holds the prefixes of one length, masked, with their peer.
type prefixLevel struct {
	bits     int
	prefixes map[netip.Prefix]int // index in Table.peers of the peer they route to
}

// FromUAPI builds the table from UAPI "get" text: each allowed_ip
// line belongs to the public_key line before it.
func FromUAPI(text string) (*Table, error) {
	levels := map[bool]map[int]map[netip.Prefix]int{false: {}, true: {}}
	index := map[string]int{}
	var peers []string
	peer := ""
	lines := bufio.NewScanner(strings.NewReader(text))
	for lines.Scan() {
		key, value, _ := strings.Cut(lines.Text(), "=")
		switch key {
		case "public_key":
			peer = value
		case "allowed_ip":
			if peer == "" {
				return nil, fmt.Errorf("allowed_ip=%s before any public_key", value)
			}
			p, err := netip.ParsePrefix(value)
			if err != nil {
				return nil, fmt.Errorf("allowed_ip: %v", err)
			}
			if _, seen := index[peer]; !seen {
				index[peer] = len(peers)
				peers = append(peers, peer)
			}
			byBits := levels[p.Addr().Is6()]
			if byBits[p.Bits()] == nil {
				byBits[p.Bits()] = map[netip.Prefix]int{}
			}
			byBits[p.Bits()][p.Masked()] = index[peer]
		}
	}
	return &Table{v4: sortedLevels(levels[false]), v6: sortedLevels(levels[true]), peers: peers}, lines.Err()
}

func sortedLevels(byBits map[int]map[netip.Prefix]int) []prefixLevel {
	out := make([]prefixLevel, 0, len(byBits))
	for bits, prefixes := range byBits {
		out = append(out, prefixLevel{bits, prefixes})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].bits > out[j].bits })
	return out
}

// lookup returns the index of the peer whose longest allowed prefix
// contains addr.
func (r *Table) lookup(addr netip.Addr) (peer int, ok bool) {
	if r == nil {
		return 0, false
	}
	levels := r.v4
	if addr.Is6() {
		levels = r.v6
	}
	for _, level := range levels {
		p, _ := addr.Prefix(level.bits)
		if peer, ok := level.prefixes[p]; ok {
			return peer, true
		}
	}
	return 0, false
}

// Route tells what the device does with a packet from the application:
// hands it to peer (an index in Peers), or drops it because no peer's
// allowed IPs cover its destination (noRoute). A packet too short for an
// IPv4 or IPv6 header, or of another version, gets neither (peer -1).
func (r *Table) Route(packet []byte) (peer int, noRoute bool) {
	var dst netip.Addr
	switch {
	case len(packet) >= 20 && packet[0]>>4 == 4:
		dst = netip.AddrFrom4([4]byte(packet[16:20]))
	case len(packet) >= 40 && packet[0]>>4 == 6:
		dst = netip.AddrFrom16([16]byte(packet[24:40]))
	default:
		return -1, false
	}
	if peer, ok := r.lookup(dst); ok {
		return peer, false
	}
	return -1, true
}

// Peers are the public keys (hex) of the peers with an allowed IP, in
// the order Route numbers them.
func (r *Table) Peers() []string {
	if r == nil {
		return nil
	}
	return r.peers
}
