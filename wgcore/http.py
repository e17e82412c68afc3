"""HTTP clients through a netstack tunnel (optional extra ``wgcore[http]``):
a ``requests`` transport adapter and ``httpx`` transports, sync and async.

    session = requests.Session()
    session.mount("http://", wgcore.http.Adapter(tunnel))
    session.mount("https://", wgcore.http.Adapter(tunnel))
    httpx.Client(transport=wgcore.http.HTTPXTransport(tunnel))
    httpx.AsyncClient(transport=wgcore.http.AsyncHTTPXTransport(tunnel))

Names resolve through the tunnel's DNS servers; TLS runs over
``ssl.MemoryBIO`` (:func:`wgcore.net.wrap_tls`). Proxies are not supported.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx
import requests.adapters
import urllib3.connection
import urllib3.connectionpool

from wgcore.net import Netstack, TLSSocket, wrap_tls
from wgcore.net.sockets import Socket

__all__ = ["Adapter", "AsyncHTTPXTransport", "HTTPXTransport"]


def _timeout(value: object) -> float | None:
    """urllib3's timeout value as seconds (its default sentinel: the socket default)."""
    return value if value is None or isinstance(value, (int, float)) else socket.getdefaulttimeout()


def _tls_context(cert_reqs: object, ca_certs: str | None, ca_cert_dir: str | None,
                 context: ssl.SSLContext | None) -> ssl.SSLContext:
    if context is not None:
        return context
    context = ssl.create_default_context(cafile=ca_certs, capath=ca_cert_dir)
    if cert_reqs in ("CERT_NONE", ssl.CERT_NONE):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _HTTPConnection(urllib3.connection.HTTPConnection):
    tunnel: Netstack

    def _new_conn(self) -> socket.socket:
        sock = self.tunnel.create_connection((self._dns_host, self.port), _timeout(self.timeout),
                                             self.source_address)
        return sock  # type: ignore[return-value]


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    tunnel: Netstack

    def connect(self) -> None:
        sock = self.tunnel.create_connection((self._dns_host, self.port), _timeout(self.timeout),
                                             self.source_address)
        context = _tls_context(self.cert_reqs, self.ca_certs, self.ca_cert_dir, self.ssl_context)
        self.sock = wrap_tls(sock, context, self.server_hostname or self.host)
        self.is_verified = context.verify_mode == ssl.CERT_REQUIRED


class Adapter(requests.adapters.HTTPAdapter):
    """A ``requests`` adapter sending through ``tunnel``: mount it for
    "http://" and "https://" on a ``requests.Session``."""

    def __init__(self, tunnel: Netstack, **kwargs: Any) -> None:
        self.tunnel = tunnel
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        pools = {}
        for scheme, pool, conn in (("http", urllib3.connectionpool.HTTPConnectionPool, _HTTPConnection),
                                   ("https", urllib3.connectionpool.HTTPSConnectionPool, _HTTPSConnection)):
            conn_cls = type(conn.__name__, (conn,), {"tunnel": self.tunnel})
            pools[scheme] = type(pool.__name__, (pool,), {"ConnectionCls": conn_cls})
        self.poolmanager.pool_classes_by_scheme = pools

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise requests.exceptions.InvalidProxyURL("wgcore.http.Adapter sends through a tunnel, not a proxy")


# -- httpx: an httpcore network backend on the tunnel's sockets

@contextlib.contextmanager
def _mapped(timeout_error: type[Exception], error: type[Exception]) -> Iterator[None]:
    try:
        yield
    except TimeoutError as e:
        raise timeout_error(str(e)) from e
    except (OSError, ssl.SSLError) as e:
        raise error(str(e)) from e


class _Stream(httpcore.NetworkStream):
    def __init__(self, sock: Socket | TLSSocket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
            self._sock.settimeout(timeout)
            return self._sock.recv(max_bytes)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
            self._sock.settimeout(timeout)
            self._sock.sendall(buffer)

    def close(self) -> None:
        self._sock.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> _Stream:
        assert isinstance(self._sock, Socket)
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            self._sock.settimeout(timeout)
            return _Stream(wrap_tls(self._sock, ssl_context, server_hostname))

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._sock if isinstance(self._sock, TLSSocket) else None
        if info == "is_readable":
            return bool(select.select([self._sock.fileno()], [], [], 0)[0])
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "client_addr":
            return self._sock.getsockname()
        return None


class _Backend(httpcore.NetworkBackend):
    def __init__(self, tunnel: Netstack) -> None:
        self._tunnel = tunnel

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> _Stream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            return _Stream(self._tunnel.create_connection((host, port), timeout))


class _AsyncStream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
            return await asyncio.wait_for(self._reader.read(max_bytes), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
            self._writer.write(buffer)
            await asyncio.wait_for(self._writer.drain(), timeout)

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> _AsyncStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            await asyncio.wait_for(self._writer.start_tls(ssl_context, server_hostname=server_hostname), timeout)
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._reader.at_eof() or bool(self._reader._buffer)  # type: ignore[attr-defined]
        names = {"server_addr": "peername", "client_addr": "sockname", "ssl_object": "ssl_object"}
        return self._writer.get_extra_info(names[info]) if info in names else None


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, tunnel: Netstack) -> None:
        self._tunnel = tunnel

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> _AsyncStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            reader, writer = await asyncio.wait_for(self._tunnel.open_connection(host, port), timeout)
        return _AsyncStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _context(verify: ssl.SSLContext | bool) -> ssl.SSLContext:
    if isinstance(verify, ssl.SSLContext):
        return verify
    return _tls_context(None if verify else "CERT_NONE", None, None, None)


class HTTPXTransport(httpx.HTTPTransport):
    """An ``httpx.Client`` transport through ``tunnel`` (HTTP/1.1);
    ``verify`` is an SSLContext, or False to skip certificate checks."""

    def __init__(self, tunnel: Netstack, *, verify: ssl.SSLContext | bool = True, retries: int = 0) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(ssl_context=_context(verify), retries=retries,
                                             network_backend=_Backend(tunnel))


class AsyncHTTPXTransport(httpx.AsyncHTTPTransport):
    """An ``httpx.AsyncClient`` transport through ``tunnel`` (asyncio)."""

    def __init__(self, tunnel: Netstack, *, verify: ssl.SSLContext | bool = True, retries: int = 0) -> None:
        super().__init__()
        self._pool = httpcore.AsyncConnectionPool(ssl_context=_context(verify), retries=retries,
                                                  network_backend=_AsyncBackend(tunnel))
