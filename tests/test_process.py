"""A Go runtime inside CPython: signals and crash reports still behave."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def run_python(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, cwd="/"
    )


def test_ctrl_c_interrupts_a_recv_with_no_timeout() -> None:
    done = run_python(
        """
        import os, signal, threading, time
        from wgcore.cli.demo import tunnel_pair
        a, b = tunnel_pair("host")
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        start = time.monotonic()
        try:
            b.packets.recv()
        except KeyboardInterrupt:
            print(f"interrupted after {time.monotonic() - start:.2f}")
        """
    )
    assert done.returncode == 0, done.stderr
    seconds = float(done.stdout.split()[-1])
    assert seconds < 5, done.stdout


def test_faulthandler_still_reports_crashes_in_python_code() -> None:
    for flags, code in (
        (("-X", "faulthandler"), "import wgcore, ctypes; ctypes.string_at(0)"),
        ((), "import wgcore, faulthandler, ctypes; faulthandler.enable(); ctypes.string_at(0)"),
    ):
        done = run_python(code, *flags)
        assert done.returncode != 0
        assert "Fatal Python error: Segmentation fault" in done.stderr, done.stderr
        assert 'File "<string>", line 1' in done.stderr, done.stderr


def test_dropping_unclosed_tunnels_while_debug_logging_does_not_deadlock() -> None:
    done = run_python(
        """
        import gc, logging, wgcore
        from wgcore.cli.demo import tunnel_pair
        logging.basicConfig(level=logging.DEBUG, filename="/dev/null")
        for _ in range(20):
            a, b = tunnel_pair("udp")
            del a, b
            gc.collect()
        print("open tunnels:", wgcore.tunnel.tunnel_count())
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "open tunnels: 0"


def test_importing_from_the_source_tree_explains_itself() -> None:
    source_root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", "import wgcore"], capture_output=True, text=True, timeout=60, cwd=source_root
    )
    assert done.returncode != 0
    assert "source tree without the compiled module" in done.stderr, done.stderr
