# cython: language_level=3, auto_pickle=False, autotestdict=False
"""The compiled layer of wgcore.daita: libwg's check and description of
maybenot machines."""

from libc.stdint cimport int32_t

from wgcore cimport _libwg as lw

import os

from wgcore import _native, errors

include "_libwg_guard.pxi"


def describe_machines(bytes machines not None, int32_t mtu):
    """libwg's JSON verdict on LF-separated machines for a tunnel of ``mtu``
    bytes (0: not known); libwg.h documents its shape."""
    check_process()
    if b"\0" in machines:
        raise errors.InvalidArgumentError("DAITA machines contain a NUL byte")
    cdef const char *c_machines = machines
    cdef char *json
    cdef int32_t code = 0
    with nogil:
        json = lw.wgDaitaDescribeMachines(c_machines, mtu)
    if json == NULL:
        message = take_error_message(&code)
        if code == lw.WG_ERR_DAITA:
            raise errors.DaitaNotCompiledError(_native.DAITA_MISSING)
        raise errors.error_for_code(code, f"describing DAITA machines: {message}")
    try:
        return json.decode("utf-8", "replace")
    finally:
        lw.wgFreePtr(json)
