# Declarations of libwg/libwg.h, the C ABI of the Go library; keep in step.
from libc.stddef cimport size_t
from libc.stdint cimport int32_t, uint8_t, uint32_t, uint64_t


cdef extern from "libwg.h" nogil:
    int32_t WG_ERR_GENERAL
    int32_t WG_ERR_INTERMITTENT
    int32_t WG_ERR_INVALID_ARGUMENT
    int32_t WG_ERR_UNKNOWN_TUNNEL
    int32_t WG_ERR_UNKNOWN_PEER
    int32_t WG_ERR_DAITA
    int32_t WG_ERR_BUFFER_TOO_SMALL
    int32_t WG_ERR_NOT_SUPPORTED
    int32_t WG_ERRNO_BASE

    uint32_t WG_LOG_ERROR
    uint32_t WG_LOG_VERBOSE

    int32_t WG_KIND_PACKETS
    int32_t WG_KIND_DATAGRAMS
    int32_t WG_DAITA_MAX_CAPACITY

    # The rules shared with libwg (wg_rules.h, which libwg.h includes).
    int32_t WG_MIN_MTU
    int32_t WG_MAX_MTU
    int32_t WG_DEFAULT_MTU
    int32_t WG_DATAGRAM_OVERHEAD
    int32_t WG_MULTIHOP_OVERHEAD
    int32_t WG_MULTIHOP_MIN_MTU
    int32_t WG_PACKET_OK
    int32_t WG_PACKET_TOO_BIG
    int32_t WG_PACKET_EMPTY
    int32_t WG_PACKET_BAD_VERSION
    int32_t WG_PACKET_TOO_SHORT
    int32_t WG_PACKET_LENGTH_MISMATCH
    int32_t wg_ip_packet_problem(const uint8_t *p, size_t len, uint32_t mtu,
                                 uint32_t *version, uint32_t *stated)
    int wg_datagram_size_ok(size_t len, uint32_t mtu)

    ctypedef void (*wg_log_sink)(uint32_t level, const char *msg, uint64_t ctx) noexcept

    ctypedef struct wg_count:
        uint64_t packets
        uint64_t bytes

    ctypedef struct wg_wire_counts:
        wg_count initiation
        wg_count response
        wg_count cookie
        wg_count data
        wg_count keepalive
        wg_count other

    ctypedef struct wg_traffic:
        wg_count from_app
        wg_count to_app
        wg_count no_route
        wg_count peer_stopped
        wg_count staging_dropped
        wg_count unreachable_sent
        wg_wire_counts sent
        wg_wire_counts received

    int32_t wgTurnOnMode(const char *mode, int32_t mtu, const char *settings,
                         const char *entry_settings, const char *params, int32_t tun_fd,
                         wg_log_sink log_sink, uint64_t log_ctx)
    int32_t wgTurnOn(int32_t mtu, const char *settings, int32_t tun_fd,
                     wg_log_sink log_sink, uint64_t log_ctx)
    int32_t wgTurnOnMultihop(int32_t mtu, const char *exit_settings,
                             const char *entry_settings, const char *private_ip,
                             int32_t tun_fd, wg_log_sink log_sink, uint64_t log_ctx)
    int32_t wgEntryHandle(int32_t handle)
    int32_t wgReadyFd(int32_t handle, int32_t kind)

    # Packet rings (wg_ring.h): the host's side, static inline C.
    ctypedef struct wg_ring:
        uint32_t slot_size
    int32_t WG_RING_CLOSED
    int32_t WG_RING_TOO_BIG
    int32_t wgPacketRing(int32_t handle, int32_t kind, wg_ring **host_writes,
                         wg_ring **host_reads)
    int32_t wg_ring_put(wg_ring *r, const uint8_t *const *packets, const uint32_t *lens,
                        uint32_t count)
    int32_t wg_ring_take(wg_ring *r, uint8_t *buf, size_t buf_len, uint32_t *lens,
                         uint32_t max_count)
    int32_t wg_ring_write(wg_ring *r, const uint8_t *const *packets, const uint32_t *lens,
                          uint32_t count, int32_t timeout_ms)
    int32_t wg_ring_read(wg_ring *r, uint8_t *buf, size_t buf_len, uint32_t *lens,
                         uint32_t max_count, int32_t timeout_ms)
    void wg_ring_release(wg_ring *r)
    int32_t wgTurnOff(int32_t handle)
    int32_t wgTunnelCount()
    int32_t wgGetTraffic(int32_t handle, wg_traffic *out)
    char *wgGetConfig(int32_t handle)
    int32_t wgSetConfig(int32_t handle, const char *settings)
    void wgFreePtr(void *ptr)
    char *wgTakeLastError(int32_t *code)
    int32_t wgActivateDaita(int32_t handle, const uint8_t *peer_pubkey,
                            const char *machines, double max_padding_frac,
                            double max_blocking_frac, uint32_t events_capacity,
                            uint32_t actions_capacity)
    char *wgDaitaDescribeMachines(const char *machines, int32_t mtu)
    int32_t wgGetSocketV4(int32_t handle)
    int32_t wgGetSocketV6(int32_t handle)
    int32_t wgSockOpen(int32_t handle, int32_t v6, int32_t stream)
    int32_t wgSockClose(int32_t sock)
    int32_t wgSockCount()
    int32_t wgSockReadyFd(int32_t sock, int32_t writable)
    int32_t wgSockBind(int32_t sock, const char *addr)
    int32_t wgSockListen(int32_t sock, int32_t backlog)
    int32_t wgSockConnect(int32_t sock, const char *addr, int32_t timeout_ms)
    int32_t wgSockError(int32_t sock)
    int32_t wgSockAccept(int32_t sock)
    int32_t wgSockRead(int32_t sock, uint8_t *buf, size_t len)
    int32_t wgSockWrite(int32_t sock, const uint8_t *buf, size_t len)
    int32_t wgSockSendTo(int32_t sock, const uint8_t *buf, size_t len, const char *addr)
    int32_t wgSockRecvFrom(int32_t sock, uint8_t *buf, size_t len, char *addr_out, size_t addr_len)
    int32_t wgSockShutdown(int32_t sock, int32_t how)
    int32_t wgSockAddress(int32_t sock, int32_t remote, char *out, size_t out_len)
    void wgDisableLogging()
    char *wgVersion()
    int32_t wgDerivePublicKey(const uint8_t *private_key, uint8_t *public_key)
