"""Smoke tests: the benchmark scripts run end to end (numbers not checked, only that there are some)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import wgcore

from .helpers import missing, run_benchmark


@pytest.mark.tools("iperf3", "wireguard-go", "wg")
@pytest.mark.timeout(300)
def test_tun_iperf_runs(root: None, tmp_path: Path) -> None:
    if not os.access(os.environ.get("WGCORE_UPSTREAM_WIREGUARD_GO", ""), os.X_OK):
        missing("needs upstream wireguard-go latest: WGCORE_UPSTREAM_WIREGUARD_GO=<path of the binary .ci/run builds>")
    setups = ["libwg", "wireguard-go", "upstream"] + (["libwg+daita"] if wgcore.daita.COMPILED_IN else [])
    out = run_benchmark("tun_iperf.py", ["--seconds", "1", "--repeat", "1"], tmp_path, 240, lambda pid: f"wgbench{pid}")
    for setup in setups:
        for direction in ("a->b", "b->a"):
            row = re.search(rf"^{re.escape(setup)}\s+{direction}\s+1\s+(\d+\.\d)\s", out, re.M)
            assert row and float(row.group(1)) > 0, out
    assert re.search(r"^ratio libwg / wireguard-go: \d+\.\d{3} ", out, re.M), out
    assert re.search(r"^ratio libwg / upstream: \d+\.\d{3} ", out, re.M), out


@pytest.mark.daita
@pytest.mark.timeout(300)  # the script alone may take its 120 s
def test_daita_benchmark_quick(tmp_path: Path) -> None:
    out = run_benchmark("daita.py", ["--quick"], tmp_path, 120)
    rows = dict(re.findall(r"^(off|idle|FRONT|BREAK_BURST|CONSTANT_RATE|DEFAULT)\s+([\d,.]+)\s", out, re.M))
    assert set(rows) == {"off", "idle", "FRONT", "BREAK_BURST", "CONSTANT_RATE", "DEFAULT"}, out
    assert all(float(v.replace(",", "")) > 0 for v in rows.values()), out
    light = re.search(r"^CONSTANT_RATE(?:\s+[\d,.]+){4}\s+([\d.]+)\s", out, re.M)
    assert light and float(light.group(1)) > 1.5, f"constant-rate padding must show on the wire:\n{out}"


@pytest.mark.tools("iperf3", "wireguard-go", "wg", "nft", "ping")
@pytest.mark.timeout(180)
def test_multihop_benchmark_runs(root: None, tmp_path: Path) -> None:
    out = run_benchmark("multihop.py", ["--seconds", "1", "--repeat", "1"], tmp_path, 150, lambda pid: f"wgbmh{pid % 100000}")
    for mode in ("TUN", "in memory"):
        for hops in ("single hop", "multihop"):
            row = re.search(rf"^{mode}\s+{hops}\s+1\s+(\d+\.\d)\s.*\s(\d+\.\d{{3}})\s+\d+$", out, re.M)
            assert row and float(row.group(1)) > 0 and float(row.group(2)) > 0, out
        assert re.search(rf"^{mode}: multihop / single hop throughput \d+\.\d{{3}} ", out, re.M), out


@pytest.mark.timeout(120)
def test_netstack_benchmark_quick(root: None, tmp_path: Path) -> None:
    out = run_benchmark("netstack.py", ["--seconds", "0.5", "--repeat", "1"], tmp_path, 110, lambda pid: f"wgbench{pid}")
    for setup in ("netstack", "tun"):
        row = re.search(rf"^{setup}\s+(\d+\.\d)\s+(\d+\.\d)$", out, re.M)
        assert row and float(row.group(1)) > 0 and float(row.group(2)) > 0, out
    assert re.search(r"^netstack / tun: GET \d+\.\d\dx \(target >= 0\.5x: (met|MISSED)\)", out, re.M), out
    assert re.search(r"^wireguard-requests\s+(\d+\.\d\s+\d+\.\d|skipped: .+)$", out, re.M), out
