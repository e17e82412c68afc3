/*
 * libwg — wireguard-go behind a plain C ABI. This hand-written header is the
 * contract; libwg/header_test.go fails when cgo's exports disagree with it.
 *
 * Handles are int32 >= 0. Functions returning int32 give 0 (or a handle,
 * count or fd) on success and one of the negative WG_ERR_* codes on failure.
 * After a failure, wgTakeLastError() on the same thread returns the detail.
 * Every function is safe to call from any thread.
 */
#ifndef LIBWG_H
#define LIBWG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WG_ERR_GENERAL           (-1) /* general failure */
#define WG_ERR_INTERMITTENT      (-2) /* intermittent failure: a retry may help */
#define WG_ERR_INVALID_ARGUMENT  (-3) /* bad argument, settings text or fd */
#define WG_ERR_UNKNOWN_TUNNEL    (-4) /* no tunnel has this handle (never opened or turned off) */
#define WG_ERR_UNKNOWN_PEER      (-5) /* the tunnel has no peer with this public key */
#define WG_ERR_DAITA             (-6) /* enabling DAITA failed, or DAITA is not compiled in */
#define WG_ERR_BUFFER_TOO_SMALL  (-7) /* the next packet does not fit the caller's buffer */
#define WG_ERR_NOT_SUPPORTED     (-8) /* the tunnel's kind does not offer this operation */

#define WG_LOG_ERROR   1u
#define WG_LOG_VERBOSE 2u

/*
 * The rules libwg and its host share: WG_MIN_MTU, WG_MAX_MTU,
 * WG_DEFAULT_MTU, WG_DATAGRAM_OVERHEAD, WG_MULTIHOP_OVERHEAD,
 * WG_MULTIHOP_MIN_MTU, and the checks of what a host writes into a ring
 * (wg_ip_packet_problem, wg_datagram_size_ok) as static inline C.
 */
#include "wg_rules.h"

/* Called from Go threads; msg is freed when the callback returns. */
typedef void (*wg_log_sink)(uint32_t level, const char *msg, uint64_t ctx);

/*
 * Turn a tunnel on in a mode; returns a handle >= 0. Every turn-on takes
 * mtu (WG_MIN_MTU..WG_MAX_MTU), settings (UAPI "set" text; for multihop
 * the exit hop's), log_sink (may be NULL; log_ctx is passed back to it).
 * params are "key=value" lines separated by "\n" (NULL or "" for none; a
 * key a mode does not take is WG_ERR_INVALID_ARGUMENT, naming it):
 *
 *   mode        params                         tun_fd  entry_settings
 *   "tun"       (none)                         >= 0    NULL
 *   "memory"    transport=udp|host             -1      NULL
 *   "netstack"  addresses=IP,... dns=IP,...    -1      NULL
 *   "multihop"  private_ip=IPv4 transport=...  either  the entry hop's
 *
 * tun: over an existing Linux TUN device. tun_fd must be opened with
 *   IFF_TUN | IFF_NO_PI (no packet-information header); a TAP device or a
 *   TUN without IFF_NO_PI is WG_ERR_INVALID_ARGUMENT. The interface MTU is
 *   set to mtu when the calling thread is in its network namespace.
 * memory: no kernel TUN, no root. The host writes the IP packets the
 *   tunnel should send and reads the ones it received (WG_KIND_PACKETS).
 *   transport=host (default udp): the encrypted side is host-carried too:
 *   the host reads the datagrams the tunnel sends and writes the ones it
 *   received (WG_KIND_DATAGRAMS), one point-to-point link with no
 *   addresses; with udp the tunnel uses UDP sockets.
 * netstack: see "Netstack tunnels" below.
 * multihop: see "Multihop" below; with tun_fd >= 0 over that TUN (whose
 *   MTU is set to mtu - WG_MULTIHOP_OVERHEAD), with -1 in memory.
 *
 * A tun_fd >= 0 moves to libwg whatever the result: it is closed on
 * failure (also in a mode that takes none) and at wgTurnOff. An unknown
 * mode is WG_ERR_INVALID_ARGUMENT (the message names the modes); a mode
 * this build lacks (netstack, multihop on upstream wireguard-go) is
 * WG_ERR_NOT_SUPPORTED. A mode is a new mode_<name>.go in libwg: it
 * changes this table, not the ABI.
 */
int32_t wgTurnOnMode(const char *mode, int32_t mtu, const char *settings,
                     const char *entry_settings, const char *params,
                     int32_t tun_fd, wg_log_sink log_sink, uint64_t log_ctx);

/* wgTurnOnMode("tun", mtu, settings, NULL, NULL, tun_fd, ...). */
int32_t wgTurnOn(int32_t mtu, const char *settings, int32_t tun_fd,
                 wg_log_sink log_sink, uint64_t log_ctx);

/* What a host reads and writes on an in-memory tunnel (wgReadyFd,
 * wgPacketRing): IP packets, or a host-carried transport's datagrams. */
#define WG_KIND_PACKETS   0
#define WG_KIND_DATAGRAMS 1

/*
 * An eventfd that is readable while packets of the given kind wait to be
 * read (after a read that left none, possibly once more with none: read
 * again with timeout 0). Owned by libwg: closed once the tunnel is off and
 * every wgPacketRing reference is released, so stop polling it first.
 */
int32_t wgReadyFd(int32_t handle, int32_t kind);

/*
 * Packet rings: an in-memory tunnel's queues, for a host that copies
 * packets itself with no call into libwg per batch. wg_ring.h describes the
 * shared memory and gives the host's side as static inline C functions:
 * wg_ring_write / wg_ring_read (wg_ring_put / wg_ring_take never wait),
 * waiting on futexes outside Go, and wg_ring_release. Packets the host
 * writes are checked by the host, at most slot_size bytes each:
 * WG_KIND_PACKETS must be whole IPv4 or IPv6 packets no larger than the
 * MTU whose header length matches (the receiving peer drops others:
 * wg_ip_packet_problem), WG_KIND_DATAGRAMS 1 to MTU + WG_DATAGRAM_OVERHEAD
 * bytes (wg_datagram_size_ok).
 */
#include "wg_ring.h"

/*
 * The rings of one kind of an in-memory tunnel: *host_writes is the one
 * the host writes, *host_reads the one it reads (whose ready_fd wgReadyFd
 * returns). Each comes with a reference: drop it with wg_ring_release once
 * done; the memory stays valid until then, also after wgTurnOff (which
 * closes the rings: calls then give WG_RING_CLOSED).
 */
int32_t wgPacketRing(int32_t handle, int32_t kind, wg_ring **host_writes,
                     wg_ring **host_reads);

/*
 * Multihop: two WireGuard devices in one tunnel. The exit hop is the
 * user's side (a kernel TUN, or in-memory packets); its encrypted
 * datagrams travel, inside the process, as IPv4/UDP packets from
 * private_ip to the exit endpoint through the entry hop, whose datagrams
 * go over UDP sockets (or the host's link). Only the entry relay sees this
 * machine; it sees the exit hop's ciphertext, never the user's packets.
 *
 * exit_settings and entry_settings are UAPI "set" text for each hop. The
 * exit settings must name exactly one peer endpoint, the exit relay's
 * IPv4 address and port as the entry relay reaches it: the hop's packets
 * go there (changing it later with wgSetConfig does not move them).
 * private_ip is the exit hop's IPv4 address inside the entry tunnel, the
 * source of the hop's packets; the entry's peer must allow the exit
 * endpoint's address. Both are IPv4 only (the fork's hop builds IPv4
 * headers); anything else is WG_ERR_INVALID_ARGUMENT.
 *
 * MTU: mtu is the entry hop's, what a single-hop tunnel on the same link
 * would get (e.g. 1420). The exit hop, and so the TUN interface or the
 * in-memory packets, gets mtu - 60: each exit packet gains the exit's
 * WireGuard header (32) and the hop's IPv4 and UDP headers (28), so an
 * exit packet of mtu - 60 bytes is an entry packet of exactly mtu bytes.
 * (An IPv6 hop would need 80.) WG_MULTIHOP_OVERHEAD is that 60; mtu must
 * be WG_MULTIHOP_MIN_MTU (636)..WG_MAX_MTU.
 *
 * Mode "multihop" of wgTurnOnMode: settings are the exit hop's,
 * entry_settings the entry hop's, params private_ip=<IPv4> and
 * transport=udp|host, the entry hop's (host: its datagrams are
 * WG_KIND_DATAGRAMS on the entry handle). In memory (tun_fd -1) the exit
 * hop's packets are read and written as WG_KIND_PACKETS on the exit handle.
 *
 * Returns the exit hop's handle >= 0; wgEntryHandle gives the entry's.
 * Every per-handle function works on either: config, traffic, DAITA (e.g.
 * on the entry hop, as Mullvad runs it), wgPacketRing/wgReadyFd
 * (packets on the exit, host-carried datagrams on the entry). On either
 * handle wgGetSocketV4/V6 return the entry's sockets. wgTurnOff on the exit
 * handle turns both hops off (the exit first); on the entry handle it is
 * WG_ERR_INVALID_ARGUMENT. Errors of one hop's settings name the hop.
 * A libwg built on upstream wireguard-go gives WG_ERR_NOT_SUPPORTED.
 *
 * wgTurnOnMultihop is mode "multihop" over tun_fd (>= 0) with
 * private_ip as its parameter: the entry hop uses UDP sockets.
 */
int32_t wgTurnOnMultihop(int32_t mtu, const char *exit_settings,
                         const char *entry_settings, const char *private_ip,
                         int32_t tun_fd, wg_log_sink log_sink,
                         uint64_t log_ctx);

/*
 * The entry hop's handle of a multihop tunnel, given its exit handle (or
 * its entry handle itself). WG_ERR_NOT_SUPPORTED for a single-hop tunnel,
 * WG_ERR_UNKNOWN_TUNNEL for an unknown handle. Valid until the exit handle
 * is turned off.
 */
int32_t wgEntryHandle(int32_t handle);

/*
 * Close the tunnel and free its handle; WG_ERR_UNKNOWN_TUNNEL if none.
 * A multihop tunnel's exit handle closes both hops.
 */
int32_t wgTurnOff(int32_t handle);

/* How many handles are in use (a multihop tunnel holds two). */
int32_t wgTunnelCount(void);

/*
 * Traffic counters of a tunnel, for every kind (TUN fd, in-memory over UDP
 * or host-carried), counted where the device meets its TUN and its UDP
 * bind or host-carried link. Each counter is exact and monotonic from
 * turn-on; a wgGetTraffic call does not read them all in one instant.
 */
typedef struct {
    uint64_t packets;
    uint64_t bytes;
} wg_count;

/*
 * Datagrams by WireGuard message type; bytes are UDP payload bytes.
 * keepalive: transport data messages of exactly 32 bytes (no packet
 * inside); data: longer transport data messages (DAITA padding is data
 * too). other: not a well-formed message of a known type (wrong size,
 * unknown type); the device discards such datagrams unread.
 */
typedef struct {
    wg_count initiation;
    wg_count response;
    wg_count cookie;
    wg_count data;
    wg_count keepalive;
    wg_count other;
} wg_wire_counts;

typedef struct {
    wg_count from_app;  /* IP packets the device read from the application (TUN or packet ring) */
    wg_count to_app;    /* IP packets the device delivered to the application */
    wg_count no_route;  /* of from_app, dropped: no peer's allowed IPs cover the destination */
    wg_count peer_stopped;     /* of from_app, dropped: for a peer that does not run (device not up) */
    wg_count staging_dropped;  /* of from_app, each pushed an older staged packet out of a peer's
                                  128-packet staging queue (no session yet); bytes are the handed
                                  packets' sizes. Exact but for a handshake completing at that instant */
    wg_count unreachable_sent; /* ICMP destination unreachable written back for no_route packets
                                  (not in to_app); none when the application's queue is full */
    wg_wire_counts sent;      /* datagrams handed to the wire (UDP socket or host queue) */
    wg_wire_counts received;  /* datagrams taken from the wire */
} wg_traffic;

/*
 * Store the tunnel's counters in *out. WG_ERR_UNKNOWN_TUNNEL for an unknown
 * handle, WG_ERR_INVALID_ARGUMENT if out is NULL.
 */
int32_t wgGetTraffic(int32_t handle, wg_traffic *out);

/* UAPI "get" text, malloc'd: free it with wgFreePtr. NULL on error. */
char *wgGetConfig(int32_t handle);

/* Apply UAPI "set" text. */
int32_t wgSetConfig(int32_t handle, const char *settings);

/* Free a string returned by libwg. */
void wgFreePtr(void *ptr);

/*
 * The message of this thread's last failed call, malloc'd (wgFreePtr), or
 * NULL if there is none; its code is stored in *code unless code is NULL.
 * Taking it clears it.
 */
char *wgTakeLastError(int32_t *code);

/*
 * Enable DAITA for one peer: peer_pubkey is 32 bytes, machines are maybenot
 * machine strings separated by LF. WG_ERR_UNKNOWN_PEER if the tunnel has no
 * such peer; WG_ERR_DAITA if enabling fails or DAITA is not compiled in.
 * Every machine is checked first (see wgDaitaDescribeMachines): one the fork
 * cannot run safely gives WG_ERR_DAITA, and the message names it. The two
 * fractions are in [0, 1] (0: no cap); the two capacities (the fork's event
 * and action queue sizes) in 1..WG_DAITA_MAX_CAPACITY: anything else is
 * WG_ERR_INVALID_ARGUMENT. DAITA stays on until the peer is removed or the
 * tunnel turned off, both of which pause it first (ARCHITECTURE.md).
 */
#define WG_DAITA_MAX_CAPACITY 65536
int32_t wgActivateDaita(int32_t handle, const uint8_t *peer_pubkey,
                        const char *machines, double max_padding_frac,
                        double max_blocking_frac, uint32_t events_capacity,
                        uint32_t actions_capacity);

/*
 * Parse and check LF-separated maybenot machines with maybenot 1.1.3, for a
 * tunnel of mtu bytes (0: not known; padding sizes are then held to 65535).
 * Returns JSON (free with wgFreePtr), also when machines are refused:
 *   {"ok": bool, "reason": str|null, "mtu": int|null, "machines": [
 *     {"index": int, "ok": bool, "reason": str|null,
 *      and when maybenot parsed it: "name", "serialized" (canonical form),
 *      "allowed_padding_bytes", "max_padding_frac",
 *      "allowed_blocked_microsec", "max_blocking_frac",
 *      "include_small_packets", "states": [
 *        {"action": {"kind": "padding"|"block", "dist": D,
 *                    "sizes": "mtu" | [min, max|null]},
 *         "bypass", "replace", "limit": D, "limit_includes_nonpadding",
 *         "timeout": D (microseconds),
 *         "transitions": {event: {"<state>"|"cancel"|"end": probability}}}]}]}
 * where D is {"type", "param1", "param2", "start", "max", "text"}. The
 * top-level reason is the one wgActivateDaita gives: "machine <index>
 * (<name>): <why>". NULL on a NULL machines or an mtu outside 0..WG_MAX_MTU
 * (WG_ERR_INVALID_ARGUMENT), or when DAITA is not compiled in (WG_ERR_DAITA).
 */
char *wgDaitaDescribeMachines(const char *machines, int32_t mtu);

/*
 * The tunnel's IPv4 / IPv6 UDP socket fd, e.g. to exempt it from routing.
 * It stays owned by libwg (do not close it) and changes if the listen port
 * or fwmark changes.
 */
int32_t wgGetSocketV4(int32_t handle);
int32_t wgGetSocketV6(int32_t handle);

/*
 * Netstack tunnels (mode "netstack" of wgTurnOnMode): the tunnel's TUN is
 * gVisor's userspace TCP/IP stack (wireguard-go's tun/netstack), so the
 * host opens TCP and UDP sockets on it with no kernel TUN and no root; the
 * datagrams go over UDP sockets. params addresses= are the interface's
 * IPv4/IPv6 addresses (at least one) and dns= its DNS servers, each
 * comma-separated IP text (dns may be empty or left out). A libwg built on
 * upstream wireguard-go gives WG_ERR_NOT_SUPPORTED. Packets, config,
 * traffic and DAITA work as on any tunnel; wgPacketRing/wgReadyFd do not
 * (no rings).
 */

/*
 * Sockets on a netstack tunnel, by int32 socket handles >= 0. No call
 * waits on the network: each returns at once, WG_ERR_ERRNO(EAGAIN) when
 * it would have to wait (EINPROGRESS never: a connect runs in the
 * background). A socket call that fails like a kernel socket call returns
 * WG_ERR_ERRNO(errno) with the Linux errno (ECONNREFUSED, ETIMEDOUT,
 * ECONNRESET, EPIPE, ...; EBADF for an unknown socket handle); a bad
 * argument WG_ERR_INVALID_ARGUMENT.
 * Addresses are text, "192.0.2.1:80" or "[2001:db8::1]:80"; binding the
 * unspecified address binds the tunnel's address of the family. When the
 * tunnel is turned off its sockets fail with ECONNRESET; their handles
 * stay until wgSockClose.
 */
#define WG_ERRNO_BASE (-1000)
#define WG_ERR_ERRNO(e) (WG_ERRNO_BASE - (e))

/* Open a socket: v6 0 (IPv4) or 1 (IPv6), stream 1 (TCP) or 0 (UDP). */
int32_t wgSockOpen(int32_t handle, int32_t v6, int32_t stream);

/*
 * Close a socket and free its handle; a TCP socket sends what it buffered
 * in the background (up to 5 s) before its FIN. Its ready fds are left
 * readable, then closed: stop polling them first.
 */
int32_t wgSockClose(int32_t sock);

/* How many socket handles are open. */
int32_t wgSockCount(void);

/*
 * An eventfd readable exactly while the socket is readable (writable 0:
 * data, EOF, an error or a connection to accept waits) or writable
 * (writable 1: room to write, a connect ended, an error). Owned by libwg.
 */
int32_t wgSockReadyFd(int32_t sock, int32_t writable);

/* Bind: UDP at once; TCP takes the address at wgSockListen. */
int32_t wgSockBind(int32_t sock, const char *addr);

/* Listen on a TCP socket; backlog <= 0 takes a default (128). */
int32_t wgSockListen(int32_t sock, int32_t backlog);

/*
 * Connect. TCP: starts the connect (timeout_ms <= 0: no limit) and
 * returns; the socket turns writable when it ends, and wgSockError then
 * says how. UDP: sets the peer that wgSockWrite sends to and the only one
 * received from.
 */
int32_t wgSockConnect(int32_t sock, const char *addr, int32_t timeout_ms);

/*
 * 0 once connected (or for a socket that did not fail),
 * WG_ERR_ERRNO(EINPROGRESS) while a connect runs, else why the socket failed.
 */
int32_t wgSockError(int32_t sock);

/* Accept a waiting connection: returns its new socket handle. */
int32_t wgSockAccept(int32_t sock);

/*
 * Read up to len received bytes into buf; returns the count, 0 at EOF.
 * On a UDP socket: the next datagram, truncated to len.
 */
int32_t wgSockRead(int32_t sock, uint8_t *buf, size_t len);

/* Write up to len bytes; returns how many the socket took (>= 1). */
int32_t wgSockWrite(int32_t sock, const uint8_t *buf, size_t len);

/*
 * UDP: send one datagram to addr (NULL: the connected peer), binding an
 * unbound socket to a free port first. Returns len.
 */
int32_t wgSockSendTo(int32_t sock, const uint8_t *buf, size_t len,
                     const char *addr);

/*
 * UDP: take the next datagram, truncated to len; its sender's address is
 * stored in addr_out as NUL-terminated text (addr_len >= 48 bytes holds
 * any). Returns how many bytes were stored.
 */
int32_t wgSockRecvFrom(int32_t sock, uint8_t *buf, size_t len,
                       char *addr_out, size_t addr_len);

/* Shut down reading (0), writing (1: a FIN once sent) or both (2). */
int32_t wgSockShutdown(int32_t sock, int32_t how);

/*
 * The socket's local (remote 0) or peer (remote 1) address as
 * NUL-terminated text in out; WG_ERR_BUFFER_TOO_SMALL if out_len is short.
 */
int32_t wgSockAddress(int32_t sock, int32_t remote, char *out,
                      size_t out_len);

/*
 * Stop calling every log sink; returns after callbacks in flight finish.
 * For host shutdown. Irreversible.
 */
void wgDisableLogging(void);

/*
 * "key=value" lines: wgcore, go, wireguard_go, wireguard_go_commit, daita,
 * maybenot, gvisor. Free with wgFreePtr.
 */
char *wgVersion(void);

/* X25519 public key (32 bytes) of a 32-byte private key. */
int32_t wgDerivePublicKey(const uint8_t *private_key, uint8_t *public_key);

#ifdef __cplusplus
}
#endif

#endif /* LIBWG_H */
