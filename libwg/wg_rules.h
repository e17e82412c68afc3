/*
 * The rules libwg and its host share, in one place: MTU bounds, overheads,
 * and what a host may write into a tunnel's rings. libwg.h includes this
 * file; Go reads the numbers through cgo (libwg/rules.go) and Cython calls
 * the checks (wgcore/_packets.pxi), so no rule is written twice.
 */
#ifndef WG_RULES_H
#define WG_RULES_H

#include <stddef.h>
#include <stdint.h>

/* The MTU every turn-on accepts (a multihop link: WG_MULTIHOP_MIN_MTU up). */
#define WG_MIN_MTU 576
#define WG_MAX_MTU 65475 /* the largest whose data message, mtu + 32, fits UDP over IPv4 */
/* The MTU a tunnel gets when none is given (wg-quick's, for IPv4 and IPv6
 * links of 1500 bytes: 1500 - 80). */
#define WG_DEFAULT_MTU 1420

/* A datagram is its packet plus this (WireGuard's data header and tag), so
 * none is longer than the tunnel's mtu + WG_DATAGRAM_OVERHEAD. */
#define WG_DATAGRAM_OVERHEAD 32

/* A multihop exit hop's MTU is the entry hop's mtu - WG_MULTIHOP_OVERHEAD:
 * the exit's WireGuard header (32) and the hop's IPv4 and UDP headers (28).
 * WG_MULTIHOP_MIN_MTU (WG_MIN_MTU + 60) is the least a multihop turn-on
 * takes. */
#define WG_MULTIHOP_OVERHEAD 60
#define WG_MULTIHOP_MIN_MTU 636

/* What is wrong with a packet a host would write (wg_ip_packet_problem). */
#define WG_PACKET_OK              0
#define WG_PACKET_TOO_BIG         1 /* more bytes than the MTU */
#define WG_PACKET_EMPTY           2
#define WG_PACKET_BAD_VERSION     3 /* the IP version is neither 4 nor 6 */
#define WG_PACKET_TOO_SHORT       4 /* shorter than its version's header */
#define WG_PACKET_LENGTH_MISMATCH 5 /* the header's length is not the size */

/*
 * Whether len bytes at p are an IP packet a tunnel of mtu bytes sends:
 * an IPv4 or IPv6 packet no larger than mtu whose header's length matches
 * its size (the receiving peer drops others). Returns WG_PACKET_OK or the
 * first problem, checked in the order of the codes. *version gets the IP
 * version (0 for an empty packet) and *stated the length the header states
 * (0 when the packet is too short to hold it), for the message.
 */
static inline int32_t wg_ip_packet_problem(const uint8_t *p, size_t len,
                                           uint32_t mtu, uint32_t *version,
                                           uint32_t *stated) {
    uint32_t header_len;
    *version = len > 0 ? p[0] >> 4 : 0;
    *stated = 0;
    if (len > mtu)
        return WG_PACKET_TOO_BIG;
    if (len == 0)
        return WG_PACKET_EMPTY;
    if (*version == 4) {
        header_len = 20;
        if (len >= header_len)
            *stated = (uint32_t)p[2] << 8 | p[3];
    } else if (*version == 6) {
        header_len = 40;
        if (len >= header_len)
            *stated = header_len + ((uint32_t)p[4] << 8 | p[5]);
    } else {
        return WG_PACKET_BAD_VERSION;
    }
    if (len < header_len)
        return WG_PACKET_TOO_SHORT;
    if (*stated != len)
        return WG_PACKET_LENGTH_MISMATCH;
    return WG_PACKET_OK;
}

/* Whether len is the size of a datagram a host-carried tunnel of mtu bytes
 * can take: 1..mtu + WG_DATAGRAM_OVERHEAD. */
static inline int wg_datagram_size_ok(size_t len, uint32_t mtu) {
    return len >= 1 && len <= (size_t)mtu + WG_DATAGRAM_OVERHEAD;
}

#endif /* WG_RULES_H */
