"""A ``socket.socket`` look-alike for sockets on a netstack tunnel."""

from __future__ import annotations

import errno
import io
import ipaddress
import select
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self, TypeVar


from wgcore import _netstack

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from wgcore.net.netstack import Netstack

__all__ = ["Socket", "format_address", "parse_address"]

Address = tuple[Any, ...]
T = TypeVar("T")

# Options clients set that a userspace stack has no use for: accepted, ignored.
_IGNORED_OPTIONS = {
    (socket.SOL_SOCKET, socket.SO_KEEPALIVE),
    (socket.SOL_SOCKET, socket.SO_REUSEADDR),
    (socket.IPPROTO_TCP, socket.TCP_NODELAY),
}


def format_address(host: str, port: int) -> str:
    """libwg's "ip:port" / "[ipv6]:port" text of an IP literal and port."""
    ip = ipaddress.ip_address(host)
    if not 0 <= port <= 65535:
        raise OverflowError(f"port must be 0-65535, got {port}")
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def parse_address(text: str, family: int) -> Address:
    """The ``socket`` address tuple of libwg's "ip:port" text."""
    host, _, port = text.rpartition(":")
    if family == socket.AF_INET6:
        return (host.strip("[]"), int(port), 0, 0)
    return (host, int(port))


class Socket:
    """A TCP or UDP socket on a netstack tunnel, used like ``socket.socket``.

    Blocking, timeout and non-blocking modes behave as ``socket``'s, and
    failures raise the same exceptions (ConnectionRefusedError,
    TimeoutError, BrokenPipeError, ...). :meth:`fileno` is an eventfd
    readable while the socket is (data, EOF or a connection to accept),
    for select/poll; it is not a kernel socket, so ``ssl`` cannot wrap it:
    use :func:`wgcore.net.wrap_tls`. Make one with ``tunnel.socket()``.
    """

    def __init__(self, tunnel: Netstack, family: int = socket.AF_INET, type: int = socket.SOCK_STREAM,
                 proto: int = 0, *, _handle: int | None = None) -> None:
        if family not in (socket.AF_INET, socket.AF_INET6):
            raise OSError(errno.EAFNOSUPPORT, f"family must be AF_INET or AF_INET6, got {family!r}")
        if type not in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            raise OSError(errno.ESOCKTNOSUPPORT, f"type must be SOCK_STREAM or SOCK_DGRAM, got {type!r}")
        self._tunnel = tunnel
        self.family = socket.AddressFamily(family)
        self.type = socket.SocketKind(type)
        self.proto = proto
        v6, stream = family == socket.AF_INET6, type == socket.SOCK_STREAM
        self._sock = _handle if _handle is not None else _netstack.open_socket(tunnel.handle, v6, stream)
        self._timeout: float | None = socket.getdefaulttimeout()
        self._io_refs = 0
        self._closed = False
        self._fds = (_netstack.ready_fd(self._sock, False), _netstack.ready_fd(self._sock, True))

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"handle={self._sock}"
        return f"<wgcore.net.Socket {state} family={self.family.name} type={self.type.name}>"

    # -- modes

    def settimeout(self, value: float | None) -> None:
        """None: block; 0: never wait (BlockingIOError); > 0: wait that long."""
        if value is not None and value < 0:
            raise ValueError("Timeout value out of range")
        self._timeout = None if value is None else float(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self.settimeout(None if flag else 0.0)

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    def fileno(self) -> int:
        """The readiness eventfd (readable while the socket is); -1 once closed."""
        return -1 if self._sock < 0 else self._fds[0]

    def writable_fileno(self) -> int:
        """The eventfd readable while the socket is writable."""
        self._check_open()
        return self._fds[1]

    def setsockopt(self, level: int, option: int, value: int | Buffer, optlen: int | None = None) -> None:
        """TCP_NODELAY, SO_KEEPALIVE, SO_REUSEADDR are accepted and ignored."""
        if (level, option) not in _IGNORED_OPTIONS:
            raise OSError(errno.ENOPROTOOPT, f"option {level}/{option} is not supported on a netstack socket")

    def getsockopt(self, level: int, option: int, buflen: int = 0) -> int:
        """SO_ERROR (a finished connect's errno), SO_TYPE."""
        if (level, option) == (socket.SOL_SOCKET, socket.SO_ERROR):
            result = _netstack.connect_result(self._sock)
            return 0 if result == errno.EINPROGRESS else result
        if (level, option) == (socket.SOL_SOCKET, socket.SO_TYPE):
            return int(self.type)
        raise OSError(errno.ENOPROTOOPT, f"option {level}/{option} is not supported on a netstack socket")

    # -- waiting

    def _check_open(self) -> None:
        if self._sock < 0:
            raise OSError(errno.EBADF, "Bad file descriptor")

    def _deadline(self) -> float | None:
        return None if self._timeout is None else time.monotonic() + self._timeout

    def _wait(self, writable: bool, deadline: float | None) -> None:
        """Wait for the socket to turn readable/writable by deadline."""
        if self._timeout == 0.0:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        poller = select.poll()
        poller.register(self._fds[writable], select.POLLIN)
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if poller.poll(None if wait is None else wait * 1000):
                return
            if wait is not None and time.monotonic() >= deadline:  # type: ignore[operator]
                raise TimeoutError("timed out")

    def _io(self, writable: bool, call: Callable[[], T | None], deadline: float | None = None) -> T:
        """Run a non-blocking call until it stops answering None (EAGAIN)."""
        if deadline is None:
            deadline = self._deadline()
        while True:
            self._check_open()
            result = call()
            if result is not None:
                return result
            self._wait(writable, deadline)

    def _address(self, address: Address | str, *, bind: bool = False) -> str:
        """libwg text of a ``socket`` address tuple (names are resolved)."""
        if not isinstance(address, tuple) or len(address) < 2:
            raise TypeError(f"address must be a (host, port) tuple, got {address!r}")
        host, port = address[0], address[1]
        if not isinstance(port, int):
            raise TypeError(f"port must be an int, got {port!r}")
        if host in ("", None) and bind:
            host = "::" if self.family == socket.AF_INET6 else "0.0.0.0"
        try:
            return format_address(host, port)
        except ValueError:
            pass
        infos = self._tunnel.getaddrinfo(host, port, self.family, self.type)
        return format_address(infos[0][4][0], port)

    # -- connections

    def connect(self, address: Address) -> None:
        """Connect (TCP) or set the peer (UDP); waits per the timeout."""
        self._check_open()
        text = self._address(address)
        timeout_ms = 0 if not self._timeout else max(1, int(self._timeout * 1000))
        deadline = self._deadline()
        _netstack.connect(self._sock, text, timeout_ms)
        if self.type != socket.SOCK_STREAM:
            return
        if self._timeout == 0.0:
            raise BlockingIOError(errno.EINPROGRESS, "Operation now in progress")
        self._wait(True, deadline)
        result = _netstack.connect_result(self._sock)
        if result:
            raise OSError(result, f"connecting to {text}: {errno.errorcode.get(result, result)}")

    def connect_ex(self, address: Address) -> int:
        """connect, returning an errno (0: connected) instead of raising."""
        try:
            self.connect(address)
        except OSError as e:
            if e.errno is None:
                raise
            return e.errno
        return 0

    def bind(self, address: Address) -> None:
        """Bind to (host, port); "" or the unspecified address is the tunnel's."""
        self._check_open()
        _netstack.bind(self._sock, self._address(address, bind=True))

    def listen(self, backlog: int = 128) -> None:
        self._check_open()
        _netstack.listen(self._sock, backlog)

    def accept(self) -> tuple[Socket, Address]:
        """Wait for a connection: (new socket, its peer address)."""
        handle = self._io(False, lambda: _netstack.accept(self._sock))
        conn = Socket(self._tunnel, self.family, self.type, self.proto, _handle=handle)
        return conn, conn.getpeername()

    def getsockname(self) -> Address:
        self._check_open()
        return parse_address(_netstack.address(self._sock, False), self.family)

    def getpeername(self) -> Address:
        self._check_open()
        return parse_address(_netstack.address(self._sock, True), self.family)

    def shutdown(self, how: int) -> None:
        """SHUT_RD, SHUT_WR (a FIN once buffered bytes are sent) or SHUT_RDWR."""
        self._check_open()
        _netstack.shutdown(self._sock, how)

    # -- bytes

    def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        """Read into buffer: the count, 0 at EOF."""
        _no_flags(flags)
        return self._io(False, lambda: _netstack.recv_into(self._sock, buffer, nbytes))

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Up to bufsize bytes; b"" at EOF."""
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        buf = bytearray(bufsize)
        n = self.recv_into(buf, bufsize, flags)
        return bytes(buf[:n])

    def send(self, data: Buffer, flags: int = 0) -> int:
        """Send what the socket takes now (waiting for room): the count."""
        _no_flags(flags)
        if not memoryview(data).nbytes:
            self._check_open()
            return 0
        return self._io(True, lambda: _netstack.send(self._sock, data))

    def sendall(self, data: Buffer, flags: int = 0) -> None:
        """Send all of data; the timeout bounds the whole call."""
        _no_flags(flags)
        view = memoryview(data).cast("B")
        deadline = self._deadline()
        while view:
            n = self._io(True, lambda: _netstack.send(self._sock, view), deadline)
            view = view[n:]

    def sendto(self, data: Buffer, flags_or_address: int | Address, address: Address | None = None) -> int:
        """Send one datagram to address (resolved through the tunnel)."""
        if address is None:
            target = flags_or_address
        else:
            _no_flags(flags_or_address)  # type: ignore[arg-type]
            target = address
        text = self._address(target)  # type: ignore[arg-type]
        return self._io(True, lambda: _netstack.sendto(self._sock, data, text))

    def recvfrom_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> tuple[int, Address]:
        """Take the next datagram into buffer: (count, sender)."""
        _no_flags(flags)
        n, sender = self._io(False, lambda: _netstack.recvfrom_into(self._sock, buffer, nbytes))
        return n, parse_address(sender, self.family)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Address]:
        """The next datagram (up to bufsize bytes) and its sender."""
        buf = bytearray(bufsize)
        n, sender = self.recvfrom_into(buf, bufsize, flags)
        return bytes(buf[:n]), sender

    def makefile(self, mode: str = "r", buffering: int | None = None, *, encoding: str | None = None,
                 errors: str | None = None, newline: str | None = None) -> Any:
        """A file over the socket, as ``socket.makefile``: the socket stays
        open until the file is closed too."""
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
        writing = "w" in mode
        reading = "r" in mode or not writing
        raw = socket.SocketIO(self, ("r" if reading else "") + ("w" if writing else ""))  # type: ignore[arg-type]
        self._io_refs += 1
        size = io.DEFAULT_BUFFER_SIZE if buffering is None or buffering < 0 else buffering
        if size == 0:
            if "b" not in mode:
                raise ValueError("unbuffered streams must be binary")
            return raw
        buffer: io.BufferedIOBase
        if reading and writing:
            buffer = io.BufferedRWPair(raw, raw, size)
        elif reading:
            buffer = io.BufferedReader(raw, size)
        else:
            buffer = io.BufferedWriter(raw, size)
        if "b" in mode:
            return buffer
        text = io.TextIOWrapper(buffer, io.text_encoding(encoding), errors, newline)  # type: ignore[type-var]
        text.mode = mode  # type: ignore[misc]
        return text

    def _decref_socketios(self) -> None:
        """A file of makefile closed: close the socket if it was closed."""
        self._io_refs -= 1
        if self._closed and self._io_refs <= 0:
            self._real_close()

    # -- closing

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close; buffered bytes are still sent (in the background)."""
        if self._closed:
            return
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def _real_close(self) -> None:
        if self._sock >= 0:
            sock, self._sock = self._sock, -1
            _netstack.close(sock)

    def detach(self) -> int:
        raise OSError(errno.EOPNOTSUPP, "a netstack socket has no kernel fd to detach")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self._closed = True
            self._real_close()


def _no_flags(flags: int) -> None:
    if flags:
        raise OSError(errno.EOPNOTSUPP, f"flags {flags:#x} are not supported on a netstack socket")
