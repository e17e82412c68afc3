"""wgcore.cli.wgquick from code: up() and close() without the CLI."""

from __future__ import annotations

import os

import pytest

from wgcore import Interface, Peer, PrivateKey
from wgcore.cli import wgquick
from wgcore.errors import WgQuickError
from wgcore.uapi import default_socket_path

from .lab import netns


def test_up_and_close_from_code(ns: str) -> None:
    name = f"wgcq{os.getpid() % 100000}"
    interface = Interface(private_key=PrivateKey.generate(), listen_port=0, mtu=1300,
                          addresses=[], peers=[Peer(PrivateKey.generate().public_key, ["198.51.100.0/24"])])
    interface.addresses = Interface.from_conf("[Interface]\nAddress = 203.0.113.1/24\n").addresses
    running = netns.run_in(ns, lambda: wgquick.up(interface, name, log=None))
    try:
        assert running.tunnel.mtu == 1300
        link = netns.ip("-n", ns, "address", "show", "dev", name)
        assert "mtu 1300" in link and "inet 203.0.113.1/24" in link
        assert "198.51.100.0/24" in netns.ip("-n", ns, "-4", "route", "show", "dev", name)
        assert wgquick.serving_pid(name) == os.getpid()
        with pytest.raises(WgQuickError, match="already up"):
            wgquick.up(interface, name, log=None)
    finally:
        running.close()
    running.close()  # twice is fine
    assert name not in netns.ip("-n", ns, "link", "show")
    assert not os.path.exists(default_socket_path(name)) and not os.path.exists(wgquick.pid_path(name))
    with pytest.raises(WgQuickError, match="not up"):
        wgquick.down(name)
