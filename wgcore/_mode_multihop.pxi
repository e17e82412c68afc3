# Included by _native.pyx after _tunnel.pxi: the multihop mode, an exit hop whose
# datagrams travel inside an entry hop (libwg's mode_multihop.go); the hop
# views are _hop.pxi.

cdef int start_multihop(Tunnel t, entry, exit, str private_ip, str interface, tun_fd,
                        bint in_memory, str transport, int mtu) except -1:
    """Turn ``t`` on as a multihop tunnel (see Tunnel.multihop)."""
    check_process()
    given = [name for name, on in (("interface=", interface is not None),
                                   ("tun_fd=", tun_fd is not None),
                                   ("in_memory=True", in_memory)) if on]
    if len(given) != 1:
        raise errors.InvalidArgumentError(
            "a multihop tunnel needs exactly one of interface=, tun_fd= or in_memory=True, got "
            + (" and ".join(given) or "none"))
    cdef int32_t c_transport = transport_code(transport)
    if not in_memory and transport != "udp":
        raise errors.InvalidArgumentError(
            "transport='host' needs in_memory=True: over a TUN the entry hop uses UDP sockets")
    entry_settings = settings_bytes(entry, "entry config")
    exit_settings = settings_bytes(exit, "exit config")
    ip = settings_bytes(private_ip, "private_ip")
    cdef int32_t fd = -1
    if tun_fd is not None:
        if not isinstance(tun_fd, int) or isinstance(tun_fd, bool):
            raise TypeError(f"tun_fd must be an int (an open TUN's fd), not {type(tun_fd).__name__}")
        if not 0 <= tun_fd <= 0x7FFFFFFF:
            raise errors.InvalidArgumentError(f"tun_fd {tun_fd} is not a file descriptor")
        fd = os.dup(tun_fd)  # like from_tun_fd: the caller keeps its own
    if interface is not None:
        t.name = interface
        fd = open_tun(interface)
    if in_memory:
        t.transport = transport
    cdef const char *c_exit = exit_settings
    cdef const char *c_entry = entry_settings
    cdef const char *c_ip = ip
    params = b"private_ip=" + ip + (b"\ntransport=host" if c_transport else b"")
    cdef const char *c_params = params
    cdef int32_t handle = -1
    cdef uint64_t log_id = t._begin()
    t.mtu = mtu - lw.WG_MULTIHOP_OVERHEAD
    with nogil:
        if fd >= 0:
            handle = lw.wgTurnOnMultihop(mtu, c_exit, c_entry, c_ip, fd, log_sink, log_id)
        else:
            handle = lw.wgTurnOnMode(b"multihop", mtu, c_exit, c_entry, c_params, -1, log_sink, log_id)
    t._started(handle)
    cdef int32_t entry_handle = lw.wgEntryHandle(handle)
    if entry_handle < 0:
        convert_error(entry_handle, "finding the entry hop")
    t._entry_handle = entry_handle
    # the user's packets are the exit hop's, host-carried datagrams the entry's
    return t._set_queues(handle, entry_handle, t.mtu, mtu)
