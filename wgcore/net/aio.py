"""asyncio over netstack sockets: streams, servers and datagram endpoints
driven by the sockets' readiness eventfds (``loop.add_reader``), with no
thread per socket. Names are resolved by ``tunnel.getaddrinfo`` in the
loop's default executor."""

from __future__ import annotations

import asyncio
import socket
import ssl as _ssl
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from wgcore import _netstack
from wgcore.aio import wait_readable
from wgcore.net.sockets import Address, Socket, parse_address

if TYPE_CHECKING:
    from wgcore.net.netstack import Netstack

__all__ = ["DatagramTransport", "Server", "StreamTransport", "create_datagram_endpoint", "open_connection",
           "start_server"]

_READ_SIZE = 256 * 1024
_HIGH_WATER = 256 * 1024


class _SocketTransport:
    """What stream and datagram transports share: the socket, its readers."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: Socket, protocol: asyncio.BaseProtocol) -> None:
        sock.setblocking(False)
        self._loop, self._sock, self._protocol = loop, sock, protocol
        self._handle = sock._sock
        self._read_fd, self._write_fd = sock.fileno(), sock.writable_fileno()
        self._closing = False
        self._reading = False
        self._extra = {"socket": sock, "sockname": sock.getsockname()}
        try:
            self._extra["peername"] = sock.getpeername()
        except OSError:
            pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._extra.get(name, default)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def is_closing(self) -> bool:
        return self._closing

    def is_reading(self) -> bool:
        return self._reading

    def pause_reading(self) -> None:
        if self._reading:
            self._loop.remove_reader(self._read_fd)
            self._reading = False

    def resume_reading(self) -> None:
        if not self._reading and not self._closing:
            self._loop.add_reader(self._read_fd, self._on_readable)
            self._reading = True

    def _on_readable(self) -> None:
        raise NotImplementedError

    def _finish(self, exc: Exception | None) -> None:
        """Stop watching the socket, close it, tell the protocol."""
        self.pause_reading()
        self._loop.remove_reader(self._write_fd)
        self._closing = True
        self._loop.call_soon(self._connection_lost, exc)

    def _connection_lost(self, exc: Exception | None) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._sock.close()

    def abort(self) -> None:
        if not self._sock.closed:
            self._finish(None)


class StreamTransport(_SocketTransport, asyncio.Transport):
    """An asyncio transport over a TCP :class:`Socket` (start_tls works on it)."""

    _start_tls_compatible = True

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: Socket, protocol: asyncio.BaseProtocol) -> None:
        super().__init__(loop, sock, protocol)
        self._buffer = bytearray()
        self._eof_pending = False
        self._paused_writing = False
        self._high, self._low = _HIGH_WATER, _HIGH_WATER // 4
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(self.resume_reading)

    def _on_readable(self) -> None:
        protocol = self._protocol
        try:
            if isinstance(protocol, asyncio.BufferedProtocol):
                buf = protocol.get_buffer(-1)
                n = _netstack.recv_into(self._handle, buf)
                if n:
                    protocol.buffer_updated(n)
            else:
                data = bytearray(_READ_SIZE)
                n = _netstack.recv_into(self._handle, data)
                if n:
                    protocol.data_received(bytes(data[:n]))  # type: ignore[attr-defined]
        except OSError as e:
            self._finish(e)
            return
        if n == 0:
            self.pause_reading()
            if not protocol.eof_received():  # type: ignore[attr-defined]
                self.close()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing or self._eof_pending:
            return
        if not self._buffer:
            try:
                sent = _netstack.send(self._handle, data) or 0
            except OSError as e:
                self._finish(e)
                return
            data = memoryview(data)[sent:]
            if not data:
                return
            self._loop.add_reader(self._write_fd, self._on_writable)
        self._buffer += data
        if len(self._buffer) > self._high and not self._paused_writing:
            self._paused_writing = True
            self._protocol.pause_writing()

    def _on_writable(self) -> None:
        try:
            sent = _netstack.send(self._handle, self._buffer) or 0
        except OSError as e:
            self._finish(e)
            return
        del self._buffer[:sent]
        if self._paused_writing and len(self._buffer) <= self._low:
            self._paused_writing = False
            self._protocol.resume_writing()
        if not self._buffer:
            self._loop.remove_reader(self._write_fd)
            if self._eof_pending:
                self._sock.shutdown(socket.SHUT_WR)
            if self._closing:
                self._finish(None)

    def write_eof(self) -> None:
        if self._eof_pending:
            return
        self._eof_pending = True
        if not self._buffer:
            self._sock.shutdown(socket.SHUT_WR)

    def can_write_eof(self) -> bool:
        return True

    def get_write_buffer_size(self) -> int:
        return len(self._buffer)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._low, self._high

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._high = _HIGH_WATER if high is None else high
        self._low = self._high // 4 if low is None else low

    def close(self) -> None:
        """Close once the write buffer is sent."""
        if self._closing:
            return
        self._closing = True
        self.pause_reading()
        if not self._buffer:
            self._finish(None)


class DatagramTransport(_SocketTransport, asyncio.DatagramTransport):
    """An asyncio datagram transport over a UDP :class:`Socket`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: Socket, protocol: asyncio.BaseProtocol) -> None:
        super().__init__(loop, sock, protocol)
        self._buf = bytearray(65536)
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(self.resume_reading)

    def _on_readable(self) -> None:
        protocol: Any = self._protocol
        try:
            got = _netstack.recvfrom_into(self._handle, self._buf)
        except OSError as e:
            protocol.error_received(e)
            self._finish(e)
            return
        if got is not None:
            n, sender = got
            protocol.datagram_received(bytes(self._buf[:n]), parse_address(sender, self._sock.family))

    def sendto(self, data: Any, addr: Any = None) -> None:
        if self._closing:
            return
        try:
            _netstack.sendto(self._handle, data, self._sock._address(addr) if addr else None)
        except OSError as e:
            self._protocol.error_received(e)  # type: ignore[attr-defined]

    def get_write_buffer_size(self) -> int:
        return 0

    def close(self) -> None:
        if not self._closing:
            self._finish(None)


async def _resolve(tunnel: Netstack, host: str, port: int, kind: int) -> list[tuple[Any, ...]]:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, tunnel.getaddrinfo, host, port, 0, kind)


async def connect(tunnel: Netstack, host: str, port: int) -> Socket:
    """A connected TCP socket, each resolved address tried in turn."""
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in await _resolve(tunnel, host, port, socket.SOCK_STREAM):
        sock = tunnel.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            try:
                sock.connect(sockaddr)
            except BlockingIOError:
                await wait_readable(sock.writable_fileno())
            result = _netstack.connect_result(sock._sock)
            if result:
                raise OSError(result, f"connecting to {sockaddr[0]}:{port}")
            return sock
        except BaseException as e:
            sock.close()
            if not isinstance(e, OSError):
                raise
            error = e
    assert error is not None
    raise error


async def open_connection(tunnel: Netstack, host: str, port: int, *, limit: int = 2**16,
                          ssl: _ssl.SSLContext | bool | None = None,
                          server_hostname: str | None = None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """``asyncio.open_connection`` through the tunnel; ``ssl`` (a context,
    or True for the default one) upgrades the stream with ``start_tls``."""
    loop = asyncio.get_running_loop()
    sock = await connect(tunnel, host, port)
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport = StreamTransport(loop, sock, protocol)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    if ssl:
        context = _ssl.create_default_context() if ssl is True else ssl
        await writer.start_tls(context, server_hostname=server_hostname or host)
    return reader, writer


class Server:
    """A listening netstack socket handing each connection to a callback
    as (StreamReader, StreamWriter), like ``asyncio.Server``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, listener: Socket,
                 callback: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None],
                 limit: int) -> None:
        self._loop, self._listener, self._callback, self._limit = loop, listener, callback, limit
        self._closed = loop.create_future()
        listener.setblocking(False)
        loop.add_reader(listener.fileno(), self._accept)

    @property
    def sockets(self) -> tuple[Socket, ...]:
        return () if self._listener.closed else (self._listener,)

    def _accept(self) -> None:
        while (handle := _netstack.accept(self._listener._sock)) is not None:
            sock = Socket(self._listener._tunnel, self._listener.family, socket.SOCK_STREAM, _handle=handle)
            reader = asyncio.StreamReader(limit=self._limit, loop=self._loop)
            protocol = asyncio.StreamReaderProtocol(reader, self._callback, loop=self._loop)
            StreamTransport(self._loop, sock, protocol)

    def is_serving(self) -> bool:
        return not self._closed.done()

    def close(self) -> None:
        if self._closed.done():
            return
        self._loop.remove_reader(self._listener.fileno())
        self._listener.close()
        self._closed.set_result(None)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    async def serve_forever(self) -> None:
        try:
            await self.wait_closed()
        finally:
            self.close()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        await self.wait_closed()


async def start_server(tunnel: Netstack,
                       client_connected_cb: Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                                     Awaitable[None] | None],
                       host: str | None = None, port: int = 0, *, family: int = socket.AF_INET,
                       backlog: int = 128, limit: int = 2**16) -> Server:
    """``asyncio.start_server`` on the tunnel's address (or ``host``)."""
    listener = tunnel.socket(family)
    try:
        listener.bind((host or "", port))
        listener.listen(backlog)
    except BaseException:
        listener.close()
        raise
    return Server(asyncio.get_running_loop(), listener, client_connected_cb, limit)


async def create_datagram_endpoint(tunnel: Netstack, protocol_factory: Callable[[], asyncio.DatagramProtocol],
                                   local_addr: Address | None = None, remote_addr: Address | None = None, *,
                                   family: int = socket.AF_INET) -> tuple[DatagramTransport, asyncio.DatagramProtocol]:
    """``loop.create_datagram_endpoint`` through the tunnel."""
    sock = tunnel.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind(local_addr or ("", 0))
        if remote_addr is not None:
            host, port = remote_addr[0], remote_addr[1]
            infos = await _resolve(tunnel, host, port, socket.SOCK_DGRAM)
            sock.connect(infos[0][4])
    except BaseException:
        sock.close()
        raise
    protocol = protocol_factory()
    return DatagramTransport(asyncio.get_running_loop(), sock, protocol), protocol
