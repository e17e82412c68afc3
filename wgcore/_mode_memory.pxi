# Included by _native.pyx after _tunnel.pxi: the in-memory mode, no TUN: packets through
# the packet path, datagrams over UDP or carried by the host (libwg's
# mode_memudp.go, mode_memhost.go).

_TRANSPORTS = {"udp": 0, "host": 1}


cdef int32_t transport_code(str transport) except -1:
    if transport not in _TRANSPORTS:
        raise errors.InvalidArgumentError(f"transport must be 'udp' or 'host', got {transport!r}")
    return _TRANSPORTS[transport]


cdef int start_in_memory(Tunnel t, config, int mtu, str transport) except -1:
    """Turn ``t`` on with in-memory packets over ``transport``."""
    check_process()
    cdef int32_t c_transport = transport_code(transport)
    settings = settings_bytes(config)
    cdef const char *c_settings = settings
    cdef int32_t handle = -1
    cdef uint64_t log_id = t._begin()
    t.mtu = mtu
    t.transport = transport
    with nogil:
        handle = lw.wgTurnOnMode(b"memory", mtu, c_settings, NULL,
                                 b"transport=host" if c_transport else b"transport=udp", -1, log_sink, log_id)
    return t._started(handle)
