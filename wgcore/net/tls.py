"""TLS over a netstack socket through ssl.MemoryBIO (``ssl.wrap_socket``
needs a kernel socket)."""

from __future__ import annotations

import socket
import ssl
from typing import TYPE_CHECKING, Any, Self


from wgcore.net.sockets import Socket

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["TLSSocket", "wrap_tls"]

_CHUNK = 64 * 1024


class TLSSocket:
    """A TLS connection over a :class:`Socket`: ``recv``/``send``/
    ``sendall``/``makefile`` of plaintext like ``ssl.SSLSocket``, and its
    ``getpeercert``, ``version``, ``cipher``, ``selected_alpn_protocol``.
    The socket's timeout bounds each call."""

    def __init__(self, sock: Socket, context: ssl.SSLContext, server_hostname: str | None = None,
                 server_side: bool = False) -> None:
        self._sock = sock
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._in, self._out, server_side=server_side, server_hostname=server_hostname)
        self._io_refs = 0
        self._closed = False
        self.family, self.type, self.proto = sock.family, sock.type, sock.proto

    def __repr__(self) -> str:
        return f"<wgcore.net.TLSSocket over {self._sock!r}>"

    def _flush(self) -> None:
        data = self._out.read()
        if data:
            self._sock.sendall(data)

    def _fill(self) -> None:
        data = self._sock.recv(_CHUNK)
        if data:
            self._in.write(data)
        else:
            self._in.write_eof()

    def _run(self, op: Any, *args: Any) -> Any:
        """Run one SSLObject call, moving ciphertext until it completes."""
        while True:
            try:
                result = op(*args)
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
                continue
            self._flush()
            return result

    def do_handshake(self) -> None:
        self._run(self._tls.do_handshake)

    def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        size = nbytes or len(view)
        try:
            n: int = self._run(self._tls.read, size, view)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return 0
        return n

    def recv(self, bufsize: int = 1024, flags: int = 0) -> bytes:
        buf = bytearray(bufsize)
        return bytes(buf[:self.recv_into(buf, bufsize)])

    read = recv

    def send(self, data: Buffer, flags: int = 0) -> int:
        n: int = self._run(self._tls.write, data)
        return n

    def sendall(self, data: Buffer, flags: int = 0) -> None:
        view = memoryview(data).cast("B")
        while view:
            view = view[self.send(view[:_CHUNK]):]

    write = sendall

    def makefile(self, mode: str = "r", buffering: int | None = None, **kwargs: Any) -> Any:
        """A file of the plaintext, as ``socket.makefile``."""
        return Socket.makefile(self, mode, buffering, **kwargs)  # type: ignore[arg-type]

    def _decref_socketios(self) -> None:
        self._io_refs -= 1
        if self._closed and self._io_refs <= 0:
            self._sock.close()

    def getpeercert(self, binary_form: bool = False) -> Any:
        return self._tls.getpeercert(binary_form)

    def version(self) -> str | None:
        return self._tls.version()

    def cipher(self) -> tuple[str, str, int] | None:
        return self._tls.cipher()

    def selected_alpn_protocol(self) -> str | None:
        return self._tls.selected_alpn_protocol()

    @property
    def server_hostname(self) -> str | None:
        return self._tls.server_hostname

    def settimeout(self, value: float | None) -> None:
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._sock.gettimeout()

    def fileno(self) -> int:
        return self._sock.fileno()

    def getpeername(self) -> tuple[Any, ...]:
        return self._sock.getpeername()

    def getsockname(self) -> tuple[Any, ...]:
        return self._sock.getsockname()

    def setsockopt(self, level: int, option: int, value: int | Buffer) -> None:
        self._sock.setsockopt(level, option, value)

    def pending(self) -> int:
        return self._tls.pending()

    def shutdown(self, how: int) -> None:
        self._sock.shutdown(how)

    def unwrap(self) -> Socket:
        """Send close_notify and give the plain socket back."""
        try:
            self._run(self._tls.unwrap)
        except (ssl.SSLError, OSError):
            pass
        return self._sock

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._io_refs <= 0:
            self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def wrap_tls(sock: Socket, context: ssl.SSLContext | None = None, server_hostname: str | None = None, *,
             server_side: bool = False, do_handshake: bool = True) -> TLSSocket:
    """TLS over sock (a client unless server_side), handshake done; the
    context defaults to ``ssl.create_default_context()``. Failures raise
    ``ssl.SSLError`` (e.g. SSLCertVerificationError) as ``ssl`` does."""
    if not isinstance(sock, Socket):
        raise TypeError(f"sock must be a wgcore.net.Socket, not {type(sock).__name__}")
    if sock.type != socket.SOCK_STREAM:
        raise ValueError("TLS needs a SOCK_STREAM socket")
    tls = TLSSocket(sock, context or ssl.create_default_context(), server_hostname, server_side)
    if do_handshake:
        tls.do_handshake()
    return tls
