# Included by _native.pyx after _tunnel.pxi: the netstack mode, a userspace TCP/IP
# stack whose sockets wgcore.net opens (libwg's mode_netstack.go).

cdef int start_netstack(Tunnel t, config, int mtu, str addresses, str dns) except -1:
    """Turn ``t`` on over gVisor's stack with these comma-separated IPs."""
    check_process()
    settings = settings_bytes(config)
    cdef bytes params = f"addresses={addresses}\ndns={dns}".encode()
    cdef const char *c_settings = settings
    cdef const char *c_params = params
    cdef int32_t handle = -1
    cdef uint64_t log_id = t._begin()
    t.mtu = mtu
    t.transport = "netstack"
    with nogil:
        handle = lw.wgTurnOnMode(b"netstack", mtu, c_settings, NULL, c_params, -1, log_sink, log_id)
    return t._started(handle)
