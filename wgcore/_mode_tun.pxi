# Included by _native.pyx after _tunnel.pxi: the kernel TUN mode, over a TUN created by
# name or an open TUN fd (libwg's mode_tunfd.go).

cdef int start_tun(Tunnel t, config, int mtu, str name, int fd) except -1:
    """Turn ``t`` on over a TUN created as ``name``, else a duplicate of ``fd``."""
    check_process()
    settings = settings_bytes(config)
    if name is not None:
        t.name = name
        fd = open_tun(name)
    else:
        fd = os.dup(fd)
    cdef const char *c_settings = settings
    cdef int32_t handle = -1
    cdef uint64_t log_id = t._begin()
    t.mtu = mtu
    with nogil:
        handle = lw.wgTurnOn(mtu, c_settings, fd, log_sink, log_id)
    return t._started(handle)
