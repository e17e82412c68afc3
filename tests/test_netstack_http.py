"""wgcore.http: requests and httpx (sync and async) through a netstack
tunnel, HTTP and HTTPS with a test CA, served by http.server on a
netstack socket of a second in-process tunnel."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import http.server
import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx", reason="wgcore[http] is in the test extra")
requests = pytest.importorskip("requests", reason="wgcore[http] is in the test extra")

import wgcore.http  # noqa: E402
from wgcore.net import wrap_tls  # noqa: E402

from .netstack_support import dns_reply, make_certificates, serve, serve_datagrams  # noqa: E402
from .test_netstack import B, netstack_pair  # noqa: E402


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[wgcore.Tunnel, Path, bytes]]:
    """(client tunnel, CA file, the body of /blob): B serves HTTP on 80 and
    HTTPS on 443 as web.test, and answers DNS for it."""
    a, b = netstack_pair()
    ca, cert, key = make_certificates(tmp_path, "web.test")
    root = tmp_path / "site"
    root.mkdir()
    blob = os.urandom(2 << 20)
    (root / "blob").write_bytes(blob)
    handler = functools.partial(Quiet, directory=str(root))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with a, b:
        names = b.net.socket(2, 2)
        names.bind((B, 53))
        serve_datagrams(names, dns_reply({"web.test": [B]}))
        for port, wrap in ((80, lambda c: c), (443, lambda c: wrap_tls(c, tls, server_side=True))):
            listener = b.net.socket()
            listener.bind(("", port))
            listener.listen()
            serve(listener, lambda conn, wrap=wrap: handler(wrap(conn), ("peer", 0), None))
        yield a, ca, blob


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.tools("openssl")
def test_requests_adapter(site: tuple[wgcore.Tunnel, Path, bytes]) -> None:
    tunnel, ca, blob = site
    with requests.Session() as session:
        adapter = wgcore.http.Adapter(tunnel.net)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        for url in ("http://web.test/blob", "https://web.test/blob"):
            response = session.get(url, verify=str(ca), timeout=10)
            assert response.status_code == 200 and digest(response.content) == digest(blob)
        assert session.get("https://web.test/missing", verify=str(ca), timeout=10).status_code == 404
        with pytest.raises(requests.exceptions.SSLError):
            session.get("https://web.test/blob", timeout=10)  # the system CAs do not know the test CA
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get("http://web.test:81/", timeout=10)


@pytest.mark.tools("openssl")
def test_httpx_transports(site: tuple[wgcore.Tunnel, Path, bytes]) -> None:
    tunnel, ca, blob = site
    context = ssl.create_default_context(cafile=str(ca))
    with httpx.Client(transport=wgcore.http.HTTPXTransport(tunnel.net, verify=context), timeout=10) as client:
        for url in ("http://web.test/blob", "https://web.test/blob", "https://web.test/blob"):
            assert digest(client.get(url).content) == digest(blob)
        with pytest.raises(httpx.ConnectError):
            client.get("http://web.test:81/")

    async def fetch_all() -> list[bytes]:
        transport = wgcore.http.AsyncHTTPXTransport(tunnel.net, verify=context)
        async with httpx.AsyncClient(transport=transport, timeout=10) as client:
            responses = await asyncio.gather(*(client.get(f"{scheme}://web.test/blob")
                                               for scheme in ("http", "https", "http", "https")))
            with pytest.raises(httpx.ConnectError):
                await client.get("https://web.test:81/")
        return [r.content for r in responses]

    assert [digest(body) for body in asyncio.run(fetch_all())] == [digest(blob)] * 4
