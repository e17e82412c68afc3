# cython: language_level=3, auto_pickle=False, autotestdict=False
"""libwg.h's error codes and wg_rules.h's MTU rules for wgcore.errors,
wgcore.config and the CLI, which thus spell no number.
A module of its own, not part of _native: _native imports wgcore.errors."""

from wgcore cimport _libwg as lw

ERR_GENERAL = lw.WG_ERR_GENERAL
ERR_INTERMITTENT = lw.WG_ERR_INTERMITTENT
ERR_INVALID_ARGUMENT = lw.WG_ERR_INVALID_ARGUMENT
ERR_UNKNOWN_TUNNEL = lw.WG_ERR_UNKNOWN_TUNNEL
ERR_UNKNOWN_PEER = lw.WG_ERR_UNKNOWN_PEER
ERR_DAITA = lw.WG_ERR_DAITA
ERR_BUFFER_TOO_SMALL = lw.WG_ERR_BUFFER_TOO_SMALL
ERR_NOT_SUPPORTED = lw.WG_ERR_NOT_SUPPORTED
ERRNO_BASE = lw.WG_ERRNO_BASE  # WG_ERR_ERRNO(e) is ERRNO_BASE - e

MIN_MTU = lw.WG_MIN_MTU
MAX_MTU = lw.WG_MAX_MTU
MULTIHOP_OVERHEAD = lw.WG_MULTIHOP_OVERHEAD
DEFAULT_MTU = lw.WG_DEFAULT_MTU
DAITA_MAX_CAPACITY = lw.WG_DAITA_MAX_CAPACITY
