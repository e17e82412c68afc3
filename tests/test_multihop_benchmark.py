"""Smoke test: benchmarks/multihop.py runs end to end (numbers not checked, only that there are some)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from wgcore.testing import netns

from .helpers import missing

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "multihop.py"


@pytest.mark.tools("iperf3", "wireguard-go", "wg", "nft", "ping")
@pytest.mark.timeout(180)
def test_multihop_benchmark_runs(root: None, tmp_path: Path) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        missing("needs matplotlib: pip install '.[bench]'")
    png = tmp_path / "multihop.png"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "--seconds", "1", "--repeat", "1", "--plot", str(png)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        out, err = proc.communicate(timeout=150)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, out + err
    for mode in ("TUN", "in memory"):
        for hops in ("single hop", "multihop"):
            row = re.search(rf"^{mode}\s+{hops}\s+1\s+(\d+\.\d)\s.*\s(\d+\.\d{{3}})\s+\d+$", out, re.M)
            assert row and float(row.group(1)) > 0 and float(row.group(2)) > 0, out
        assert re.search(rf"^{mode}: multihop / single hop throughput \d+\.\d{{3}} ", out, re.M), out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    leftovers = [ns for ns in netns.ip("netns", "list").split() if ns.startswith(f"wgbmh{proc.pid % 100000}")]
    assert not leftovers, f"namespaces left behind: {leftovers}"
