"""Smoke tests: the benchmark scripts run end to end (numbers not checked)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from wgcore.testing import netns
from .helpers import missing

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.tools("iperf3", "wireguard-go", "wg")
@pytest.mark.timeout(300)
def test_tun_iperf_runs(root: None, tmp_path: Path) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        missing("needs matplotlib: pip install '.[bench]'")
    png = tmp_path / "tun_iperf.png"
    proc = subprocess.Popen(
        [sys.executable, str(BENCHMARKS / "tun_iperf.py"), "--seconds", "1", "--repeat", "1",
         "--plot", str(png)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    try:
        out, err = proc.communicate(timeout=180)
    finally:
        proc.kill()
        proc.wait()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert done.returncode == 0, done.stdout + done.stderr
    for setup in ("libwg", "wireguard-go"):
        row = re.search(rf"^{setup}\s+1\s+(\d+\.\d)\s", done.stdout, re.M)
        assert row and float(row.group(1)) > 0, done.stdout
    assert re.search(r"^ratio libwg / wireguard-go: \d+\.\d{3} ", done.stdout, re.M), done.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    leftovers = [ns for ns in netns.ip("netns", "list").split() if ns.startswith(f"wgbench{proc.pid}")]
    assert not leftovers, f"namespaces left behind: {leftovers}"


@pytest.mark.daita
@pytest.mark.timeout(300)  # the script alone may take its 120 s
def test_daita_benchmark_quick(tmp_path: Path) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        missing("needs matplotlib: pip install '.[bench]'")
    png = tmp_path / "daita.png"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "daita.py"), "--quick", "--plot", str(png)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = dict(re.findall(r"^(off|idle|FRONT|BREAK_BURST|CONSTANT_RATE|DEFAULT)\s+([\d,.]+)\s", done.stdout, re.M))
    assert set(rows) == {"off", "idle", "FRONT", "BREAK_BURST", "CONSTANT_RATE", "DEFAULT"}, done.stdout
    assert all(float(v.replace(",", "")) > 0 for v in rows.values()), done.stdout
    light = re.search(r"^CONSTANT_RATE(?:\s+[\d,.]+){4}\s+([\d.]+)\s", done.stdout, re.M)
    assert light and float(light.group(1)) > 1.5, f"constant-rate padding must show on the wire:\n{done.stdout}"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
