// Package routes is libwg's copy of a device's allowed IPs, to count the
// packets the device drops for want of a route.
package routes

import (
	"bufio"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// Table is libwg's copy of a device's allowed IPs, so libwg can count
// the packets the device drops because no peer's allowed IPs cover their
// destination (wireguard-go drops them without a word). It keeps one map
// per prefix length in use, longest first: a lookup costs at most one map
// probe per distinct length, however many peers there are. A table is
// never changed once built; a new config builds a new one.
type Table struct {
	v4, v6 []prefixLevel
}

// prefixLevel holds the prefixes of one length, masked, with their peer.
type prefixLevel struct {
	bits     int
	prefixes map[netip.Prefix]string // public key (hex) of the peer they route to
}

// FromUAPI builds the table from UAPI "get" text: each allowed_ip
// line belongs to the public_key line before it.
func FromUAPI(text string) (*Table, error) {
	levels := map[bool]map[int]map[netip.Prefix]string{false: {}, true: {}}
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
			byBits := levels[p.Addr().Is6()]
			if byBits[p.Bits()] == nil {
				byBits[p.Bits()] = map[netip.Prefix]string{}
			}
			byBits[p.Bits()][p.Masked()] = peer
		}
	}
	return &Table{v4: sortedLevels(levels[false]), v6: sortedLevels(levels[true])}, lines.Err()
}

func sortedLevels(byBits map[int]map[netip.Prefix]string) []prefixLevel {
	out := make([]prefixLevel, 0, len(byBits))
	for bits, prefixes := range byBits {
		out = append(out, prefixLevel{bits, prefixes})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].bits > out[j].bits })
	return out
}

// Lookup returns the peer whose longest allowed prefix contains addr.
func (r *Table) Lookup(addr netip.Addr) (peer string, ok bool) {
	if r == nil {
		return "", false
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
	return "", false
}

// Route tells what the device does with a packet from the application:
// hands it to peer (public key, hex), or drops it because no peer's
// allowed IPs cover its destination (noRoute). A packet too short for an
// IPv4 or IPv6 header, or of another version, gets neither.
func (r *Table) Route(packet []byte) (peer string, noRoute bool) {
	var dst netip.Addr
	switch {
	case len(packet) >= 20 && packet[0]>>4 == 4:
		dst = netip.AddrFrom4([4]byte(packet[16:20]))
	case len(packet) >= 40 && packet[0]>>4 == 6:
		dst = netip.AddrFrom16([16]byte(packet[24:40]))
	default:
		return "", false
	}
	peer, ok := r.Lookup(dst)
	return peer, !ok
}

// Peers are the public keys (hex) of the peers with an allowed IP.
func (r *Table) Peers() []string {
	if r == nil {
		return nil
	}
	seen := map[string]bool{}
	for _, level := range append(append([]prefixLevel{}, r.v4...), r.v6...) {
		for _, peer := range level.prefixes {
			seen[peer] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}
