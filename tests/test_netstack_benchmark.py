"""Smoke test: benchmarks/netstack.py runs end to end (numbers not checked)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from wgcore.testing import netns

from .helpers import missing

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "netstack.py"


@pytest.mark.timeout(120)
def test_netstack_benchmark_quick(root: None, tmp_path: Path) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        missing("needs matplotlib: pip install '.[bench]'")
    png = tmp_path / "netstack.png"
    with subprocess.Popen([sys.executable, str(SCRIPT), "--seconds", "0.5", "--repeat", "1", "--plot", str(png)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path) as proc:
        try:
            out, err = proc.communicate(timeout=110)
        finally:
            proc.kill()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert done.returncode == 0, done.stdout + done.stderr
    for setup in ("netstack", "tun"):
        row = re.search(rf"^{setup}\s+(\d+\.\d)\s+(\d+\.\d)$", done.stdout, re.M)
        assert row and float(row.group(1)) > 0 and float(row.group(2)) > 0, done.stdout
    assert re.search(r"^netstack / tun: GET \d+\.\d\dx \(target >= 0\.5x: (met|MISSED)\)", done.stdout, re.M)
    assert re.search(r"^wireguard-requests\s+(\d+\.\d\s+\d+\.\d|skipped: .+)$", done.stdout, re.M), done.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    leftovers = [ns for ns in netns.ip("netns", "list").split() if ns.startswith(f"wgbench{proc.pid}")]
    assert not leftovers, f"namespaces left behind: {leftovers}"
