"""asyncio over netstack sockets between two in-process tunnels: streams,
a server, a datagram endpoint and DNS, all at once."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import Iterator

import pytest

import wgcore

from .netstack_support import dns_reply, serve_datagrams
from .test_netstack import B, netstack_pair


@pytest.fixture
def pair() -> Iterator[tuple[wgcore.Tunnel, wgcore.Tunnel]]:
    a, b = netstack_pair()
    with a, b:
        yield a, b


class Echo(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.replies.put_nowait(data)


@pytest.mark.timeout(30)
def test_streams_datagrams_and_dns_concurrently(pair: tuple[wgcore.Tunnel, wgcore.Tunnel]) -> None:
    a, b = pair
    names = b.net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    names.bind((B, 53))
    serve_datagrams(names, dns_reply({"web.test": [B]}))
    udp_echo = b.net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp_echo.bind((B, 7))
    serve_datagrams(udp_echo, bytes.upper)
    blob = os.urandom(4 << 20)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        size = int((await reader.readline()).decode())
        writer.write(blob[:size])
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def fetch(size: int) -> bytes:
        reader, writer = await a.net.open_connection("web.test", 8000)
        writer.write(b"%d\n" % size)
        data = await reader.read()
        writer.close()
        await writer.wait_closed()
        return data

    async def datagrams() -> list[bytes]:
        transport, protocol = await a.net.create_datagram_endpoint(Echo, remote_addr=(B, 7))
        try:
            for word in (b"one", b"two", b"three"):
                transport.sendto(word)
            return [await asyncio.wait_for(protocol.replies.get(), 5) for _ in range(3)]  # type: ignore[attr-defined]
        finally:
            transport.close()

    async def main() -> None:
        async with await b.net.start_server(handle, port=8000) as server:
            assert server.sockets[0].getsockname() == (B, 8000)
            sizes = [4 << 20, 1, 100_000, 1 << 20] * 3
            results = await asyncio.wait_for(asyncio.gather(
                *(fetch(size) for size in sizes), datagrams(),
                asyncio.get_running_loop().run_in_executor(None, a.net.getaddrinfo, "web.test", 80)), 20)
        for size, data in zip(sizes, results):
            assert hashlib.sha256(data).digest() == hashlib.sha256(blob[:size]).digest()
        assert sorted(results[len(sizes)]) == [b"ONE", b"THREE", b"TWO"]
        assert results[len(sizes) + 1][0][4] == (B, 80)
        with pytest.raises(ConnectionRefusedError):
            await a.net.open_connection(B, 9)
        with pytest.raises(socket.gaierror):
            await a.net.open_connection("nowhere.test", 80)

    asyncio.run(main())
