"""A tunnel is a device plus ports: which mode has which port, the ports'
one vocabulary (one-item calls raise on timeout, batch calls count), and
asyncio over a port."""

from __future__ import annotations

import array
import asyncio
import gc
import ipaddress
import threading

import pytest

import wgcore
from wgcore import Datagrams, Interface, Packets, PrivateKey, Tunnel
from wgcore.aio import AsyncPort

from .lab import ipv4_packet as ipv4
from .lab import tunnel_pair


def interface() -> Interface:
    return Interface(private_key=PrivateKey.generate(), listen_port=0)


@pytest.mark.parametrize(("transport", "has_datagrams"), [("udp", False), ("host", True)])
def test_in_memory_tunnels_have_packets_and_host_carried_ones_datagrams(transport: str, has_datagrams: bool) -> None:
    with Tunnel.in_memory(interface(), mtu=1300, transport=transport) as t:
        assert isinstance(t.packets, Packets) and t.packets.max_size == 1300
        if has_datagrams:
            assert isinstance(t.datagrams, Datagrams) and t.datagrams.max_size == 1300 + 32
        else:
            assert t.datagrams is None
        assert (t.net, t.entry, t.exit) == (None, None, None)


def test_a_netstack_tunnel_has_sockets_and_no_packet_ports() -> None:
    with Tunnel.netstack(interface(), addresses=["10.9.0.1/32"], dns=["10.9.0.53"]) as t:
        assert (t.packets, t.datagrams, t.entry) == (None, None, None)
        assert t.net is not None and t.net.addresses == (ipaddress.ip_address("10.9.0.1"),)
        assert t.net.dns == (ipaddress.ip_address("10.9.0.53"),) and not t.net.closed
        net = t.net
    assert net.closed
    with pytest.raises(wgcore.TunnelClosedError):
        net.socket()


def test_a_dropped_tunnel_closes_and_its_port_says_so() -> None:
    t = Tunnel.in_memory(interface())
    port = t.packets
    assert port is not None and not port.closed
    gc.collect()  # tunnels other tests dropped go first: only this one may go below
    before = wgcore.tunnel.tunnel_count()
    del t
    gc.collect()
    assert wgcore.tunnel.tunnel_count() == before - 1, "a port must not keep its tunnel on"
    assert port.closed
    with pytest.raises(wgcore.TunnelClosedError):
        port.send(ipv4(b"late"))


@pytest.mark.parametrize("cls", [Packets, Datagrams])
def test_ports_come_only_from_a_tunnel(cls: type) -> None:
    with pytest.raises(TypeError, match="tunnel.packets or tunnel.datagrams"):
        cls()


def test_one_rule_for_time_one_item_raises_a_batch_counts() -> None:
    """(A full send queue: test_packet_path's back-pressure test.)"""
    a, b = tunnel_pair("host")
    with a, b:
        assert a.packets is not None and a.datagrams is not None and b.packets is not None
        with pytest.raises(TimeoutError):
            b.packets.recv(timeout=0)
        assert b.packets.recv_batch_into(bytearray(2000), array.array("I", [0] * 4), timeout=0) == 0
        with pytest.raises(TimeoutError):
            a.datagrams.recv_into(bytearray(2000), timeout=0.01)


def test_asyncio_request_response() -> None:
    async def main() -> list[bytes]:
        a, b = tunnel_pair("udp")
        client, server = AsyncPort(a.packets), AsyncPort(b.packets)

        async def serve() -> None:
            async for request in server:
                await server.send(ipv4(b"re:" + request[20:], src=request[16:20], dst=request[12:16]))

        task = asyncio.create_task(serve())
        replies = []
        try:
            for word in (b"one", b"two", b"three"):
                await client.send(ipv4(word))
                replies.append((await asyncio.wait_for(client.recv(), 10))[20:])
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            a.close()
            b.close()
        return replies

    assert asyncio.run(main()) == [b"re:one", b"re:two", b"re:three"]


def test_closing_a_tunnel_wakes_an_awaited_recv() -> None:
    async def main() -> None:
        a, b = tunnel_pair("host")
        with a:
            loop = asyncio.get_running_loop()
            for receive, close in ((AsyncPort(b.packets).recv, b.close),
                                   (AsyncPort(a.datagrams).recv, lambda: threading.Thread(target=a.close).start())):
                task = asyncio.create_task(receive())
                await asyncio.sleep(0.1)
                loop.call_soon(close)
                with pytest.raises(wgcore.TunnelClosedError):
                    await asyncio.wait_for(task, 5)

    asyncio.run(main())
