# cython: language_level=3, boundscheck=False, wraparound=False, auto_pickle=False, autotestdict=False
"""The compiled layer of wgcore.net: libwg's wgSock* calls on a netstack
tunnel, by socket handle. No call waits: one that would returns None
(EAGAIN), and the caller polls the socket's ready fds. A socket call that
fails raises OSError with the errno a kernel socket would give (so
ConnectionRefusedError, TimeoutError, ...)."""

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport int32_t, uint8_t

from wgcore cimport _libwg as lw

import errno as _errno
import os

from wgcore import errors

include "_libwg_guard.pxi"

# Room for any address libwg writes: "[" IPv6 "]:" port NUL.
cdef enum:
    ADDR_LEN = 64


cdef int raise_for(int32_t code, str action) except -1:
    """Raise OSError(errno) for a WG_ERR_ERRNO code, else wgcore's error
    (errors.error_for_code)."""
    message = take_error_message(&code)
    raise errors.error_for_code(code, f"{action}: {message}")


cdef bint again(int32_t code) noexcept:
    return code == lw.WG_ERRNO_BASE - _EAGAIN


cdef int32_t _EAGAIN = _errno.EAGAIN


def open_socket(int tunnel, bint v6, bint stream):
    """A new socket handle on the netstack tunnel of handle ``tunnel``."""
    check_process()
    cdef int32_t rc
    with nogil:
        rc = lw.wgSockOpen(tunnel, v6, stream)
    if rc < 0:
        raise_for(rc, "opening a socket")
    return rc


def close(int sock):
    """Close a socket (its ready fds close too)."""
    if _forked:
        return
    cdef int32_t rc
    with nogil:
        rc = lw.wgSockClose(sock)
    if rc < 0:
        raise_for(rc, "closing the socket")


def count():
    """How many sockets are open in this process."""
    check_process()
    return lw.wgSockCount()


def ready_fd(int sock, bint writable):
    """The eventfd readable while the socket is readable (or writable)."""
    cdef int32_t rc = lw.wgSockReadyFd(sock, writable)
    if rc < 0:
        raise_for(rc, "getting the ready fd")
    return rc


def bind(int sock, str address not None):
    cdef bytes text = address.encode()
    cdef const char *c_addr = text
    cdef int32_t rc
    with nogil:
        rc = lw.wgSockBind(sock, c_addr)
    if rc < 0:
        raise_for(rc, f"binding to {address}")


def listen(int sock, int backlog):
    cdef int32_t rc
    with nogil:
        rc = lw.wgSockListen(sock, backlog)
    if rc < 0:
        raise_for(rc, "listening")


def connect(int sock, str address not None, int timeout_ms):
    """Start a TCP connect (or set a UDP peer); see :func:`connect_result`."""
    cdef bytes text = address.encode()
    cdef const char *c_addr = text
    cdef int32_t rc
    with nogil:
        rc = lw.wgSockConnect(sock, c_addr, timeout_ms)
    if rc < 0:
        raise_for(rc, f"connecting to {address}")


def connect_result(int sock):
    """0 once connected, EINPROGRESS while connecting, else the errno."""
    cdef int32_t rc = lw.wgSockError(sock)
    if rc == 0:
        return 0
    message = take_error_message(&rc)
    if rc <= lw.WG_ERRNO_BASE:
        return lw.WG_ERRNO_BASE - rc
    raise errors.error_for_code(rc, f"connecting: {message}")


def accept(int sock):
    """A waiting connection's new socket handle, or None."""
    cdef int32_t rc
    with nogil:
        rc = lw.wgSockAccept(sock)
    if again(rc):
        return None
    if rc < 0:
        raise_for(rc, "accepting")
    return rc


def recv_into(int sock, buffer, Py_ssize_t nbytes=0):
    """Read into buffer (at most nbytes if > 0): the count (0: EOF), or None."""
    cdef Py_buffer view
    PyObject_GetBuffer(buffer, &view, PyBUF_SIMPLE | PyBUF_WRITABLE)
    cdef size_t n = view.len if nbytes <= 0 or nbytes > view.len else nbytes
    cdef int32_t rc
    try:
        with nogil:
            rc = lw.wgSockRead(sock, <uint8_t *>view.buf, n)
    finally:
        PyBuffer_Release(&view)
    if again(rc):
        return None
    if rc < 0:
        raise_for(rc, "receiving")
    return rc


def send(int sock, data):
    """Write what the socket takes of data: the count, or None."""
    cdef Py_buffer view
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    cdef int32_t rc
    try:
        with nogil:
            rc = lw.wgSockWrite(sock, <const uint8_t *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)
    if again(rc):
        return None
    if rc < 0:
        raise_for(rc, "sending")
    return rc


def sendto(int sock, data, str address):
    """Send one datagram to address (None: the connected peer)."""
    cdef bytes text = address.encode() if address is not None else None
    cdef const char *c_addr = NULL
    if text is not None:
        c_addr = text
    cdef Py_buffer view
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    cdef int32_t rc
    try:
        with nogil:
            rc = lw.wgSockSendTo(sock, <const uint8_t *>view.buf, view.len, c_addr)
    finally:
        PyBuffer_Release(&view)
    if again(rc):
        return None
    if rc < 0:
        raise_for(rc, f"sending to {address or 'the peer'}")
    return rc


def recvfrom_into(int sock, buffer, Py_ssize_t nbytes=0):
    """(count, sender "ip:port") of the next datagram, or None."""
    cdef Py_buffer view
    cdef char addr[ADDR_LEN]
    PyObject_GetBuffer(buffer, &view, PyBUF_SIMPLE | PyBUF_WRITABLE)
    cdef size_t n = view.len if nbytes <= 0 or nbytes > view.len else nbytes
    cdef int32_t rc
    try:
        with nogil:
            rc = lw.wgSockRecvFrom(sock, <uint8_t *>view.buf, n, addr, ADDR_LEN)
    finally:
        PyBuffer_Release(&view)
    if again(rc):
        return None
    if rc < 0:
        raise_for(rc, "receiving a datagram")
    return rc, addr.decode()


def shutdown(int sock, int how):
    cdef int32_t rc
    with nogil:
        rc = lw.wgSockShutdown(sock, how)
    if rc < 0:
        raise_for(rc, "shutting down")


def address(int sock, bint remote):
    """The local (or peer) address as "ip:port" text."""
    cdef char out[ADDR_LEN]
    cdef int32_t rc = lw.wgSockAddress(sock, remote, out, ADDR_LEN)
    if rc < 0:
        raise_for(rc, "reading the peer address" if remote else "reading the address")
    return out.decode()
