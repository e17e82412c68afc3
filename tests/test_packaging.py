"""The package as users get it: one version source, and the repaired
manylinux wheel working in a fresh venv with no Go, cargo or C compiler.

The wheel tests need a build made beforehand (about two minutes): set
WGCORE_WHEEL to a repaired wheel, WGCORE_SDIST to the sdist it was built
from, WGCORE_PYTHON to the interpreter of the wheel's version (default: this
one) and WGCORE_LIBWG to the libwg.so every wheel shares (optional).
`.ci/run` builds the sdist, then a wheel per CPython from it, and runs this
file once per wheel; without them those tests skip, saying so, and the rest
of the suite stays fast.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import wgcore
from wgcore.cli import WHEEL_GLIBC

from .helpers import missing

SOURCE = Path(__file__).resolve().parents[1]
TOOLCHAINS = ("go", "cargo", "rustc", "cc", "gcc", "clang", "c++", "ld")
# In-memory, netstack and DAITA (teardown too: the wheels' libwg.so is linked
# by another linker), less what needs root or system tools (the venv's PATH
# has none): the tools-marked tests and the TUN teardown (it runs `ip`).
TEARDOWN = "tests/test_daita_teardown.py::test_activate_remove_readd_close_under_traffic"
ROOTLESS_TESTS = ["tests/test_packet_path.py", "tests/test_netstack.py", "tests/test_daita.py",
                  "tests/test_daita_teardown.py", "-m", "not tools",
                  f"--deselect={TEARDOWN}[tun]"]


def meson_version() -> str:
    """project(version:) in meson.build: the one place the version is written."""
    text = (SOURCE / "meson.build").read_text()
    found = re.search(r"^project\(.*?\bversion:\s*'([^']+)'", text, re.S | re.M)
    assert found, "meson.build's project() has no version"
    return found.group(1)


def version_lines(text: str) -> dict[str, str]:
    """`python -m wgcore --version` output ("key: value" lines) as a dict."""
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def test_versions_agree_in_this_install() -> None:
    cli = subprocess.run([sys.executable, "-m", "wgcore", "--version"], capture_output=True, text=True,
                         timeout=60, cwd="/")
    assert cli.returncode == 0, cli.stderr
    assert {
        "meson.build": meson_version(),
        "metadata": importlib.metadata.version("wgcore"),
        "__version__": wgcore.__version__,
        "--version": version_lines(cli.stdout)["wgcore"],
    } == dict.fromkeys(["meson.build", "metadata", "__version__", "--version"], meson_version())


def test_sdist_holds_what_meson_cargo_and_go_need() -> None:
    name = os.environ.get("WGCORE_SDIST")
    if not name:
        pytest.skip("set WGCORE_SDIST to an sdist to test it (.ci/run builds one and does)")
    with tarfile.open(name) as tar:
        top, *_ = tar.getnames()[0].split("/")
        shipped = {n.removeprefix(top + "/") for n in tar.getnames()}
    needed = {"pyproject.toml", "meson.build", "meson.options", "README.md", "PKG-INFO",
              "libwg/go.mod", "libwg/go.sum", "libwg/go.upstream.mod", "libwg/go.upstream.sum",
              "libwg/libwg.h", "subprojects/maybenot/build_staticlib.py"}
    for pattern in ("libwg/*.go", "libwg/*.h", "libwg/internal/**/*", "subprojects/*/Cargo.*",
                    "subprojects/*/meson.build", "subprojects/*/*.h", "subprojects/*/src/*.rs",
                    "wgcore/**/*"):
        needed |= {str(p.relative_to(SOURCE)) for p in SOURCE.glob(pattern)
                   if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".so", ".c")}
    assert "libwg/internal/hoplink/hoplink.go" in needed and "subprojects/daita-machines/src/main.rs" in needed
    assert sorted(needed - shipped) == []


@dataclass
class Installed:
    wheel: Path
    python: Path
    env: dict[str, str]
    install_seconds: float


def run(installed: Installed, *args: str, timeout: float = 120, cwd: Path | None = None) -> str:
    done = subprocess.run([str(installed.python), *args], capture_output=True, text=True, timeout=timeout,
                          env=installed.env, cwd=cwd or installed.python.parents[2])
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """The wheel installed in a fresh venv whose PATH holds that venv only."""
    name = os.environ.get("WGCORE_WHEEL")
    if not name:
        pytest.skip("set WGCORE_WHEEL to a repaired wheel to test it (.ci/run builds one and does)")
    wheel = Path(name).resolve()
    assert wheel.is_file(), f"WGCORE_WHEEL={name} is not a file"
    python = os.environ.get("WGCORE_PYTHON", sys.executable)
    root = tmp_path_factory.mktemp("wheel-venv")
    subprocess.run([python, "-m", "venv", str(root / "venv")], check=True, timeout=120)
    bin_dir = root / "venv" / "bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYENV", "VIRTUAL_ENV", "GO", "CGO"))}
    env.update(PATH=str(bin_dir), PIP_DISABLE_PIP_VERSION_CHECK="1")
    found = {tool: shutil.which(tool, path=env["PATH"]) for tool in TOOLCHAINS}
    assert not any(found.values()), f"toolchains on the test PATH: {found}"
    result = Installed(wheel, bin_dir / "python", env, 0.0)
    tag = run(result, "-c", "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')").strip()
    assert wheel.name.split("-")[2:4] == [tag, tag], f"{wheel.name} is not for {python} ({tag})"
    start = time.monotonic()
    run(result, "-m", "pip", "install", "--quiet", "--no-index", "--only-binary=:all:", str(wheel))
    run(result, "-m", "wgcore", "demo", "--seconds", "0.3")
    result.install_seconds = time.monotonic() - start
    print(f"\npip install {wheel.name} and a working demo: {result.install_seconds:.1f} s")
    # The test extra's packages (pure-Python wheels) for the rootless tests.
    run(result, "-m", "pip", "install", "--quiet", "--only-binary=:all:", f"{wheel}[test]", timeout=300)
    yield result


def test_wheel_is_manylinux_with_libwg_inside() -> None:
    name = os.environ.get("WGCORE_WHEEL")
    if not name:
        pytest.skip("set WGCORE_WHEEL to a repaired wheel to test it (.ci/run builds one and does)")
    floor = "manylinux_" + WHEEL_GLIBC.replace(".", "_") + "_x86_64"
    assert re.fullmatch(rf"wgcore-[^-]+-cp3\d+-cp3\d+-{floor}\.whl", Path(name).name), name
    with zipfile.ZipFile(name) as z:
        names = z.namelist()
        assert "wgcore/libwg.so" in names
        libwg = z.read("wgcore/libwg.so")
    # the library and its CLI, every module of them (wgcore/meson.build lists
    # them) and nothing else: no test lab
    sources = {str(p.relative_to(SOURCE)) for p in SOURCE.glob("wgcore/**/*.py") if "__pycache__" not in p.parts}
    assert sorted({n for n in names if n.endswith(".py")} ^ sources) == []
    shared = os.environ.get("WGCORE_LIBWG")
    if shared:
        digests = [hashlib.sha256(b).hexdigest() for b in (libwg, Path(shared).read_bytes())]
        assert digests[0] == digests[1], f"the wheel's libwg.so is not {shared}"
    assert not [n for n in names if ".libs/" in n], "auditwheel grafted libraries: libwg.so should be the only one"
    auditwheel = shutil.which("auditwheel")
    if auditwheel is None:
        missing("needs auditwheel (pip install auditwheel)")
    shown = subprocess.run([auditwheel, "show", name], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert f'consistent with the following platform tag: "{floor}"' in " ".join(shown.stdout.split())


@pytest.mark.timeout(420)
def test_wheel_demo_and_versions_agree(installed: Installed) -> None:
    assert installed.install_seconds < 60
    demo = run(installed, "-m", "wgcore", "demo", "--seconds", "0.3", "--size", "200")
    assert demo.strip()
    versions = version_lines(run(installed, "-m", "wgcore", "--version"))
    assert versions["daita"] == "true", versions
    assert versions["wireguard_go_commit"] == "04c939b19a80", versions
    with zipfile.ZipFile(installed.wheel) as z:
        metadata = next(z.read(n).decode() for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    in_wheel = re.search(r"^Version: (\S+)$", metadata, re.M)
    assert in_wheel
    where, version = run(installed, "-c", "import wgcore; print(wgcore.__file__); print(wgcore.__version__)").split()
    assert Path(where).is_relative_to(installed.python.parents[1])
    assert versions["wgcore"] == version == in_wheel.group(1) == meson_version()
    # what --version says of the Python, the wheel and the wheels' support
    tag = installed.wheel.name.removesuffix(".whl").split("-", 2)[2]
    python = run(installed, "-c", "import platform; print(platform.python_version())").strip()
    assert (versions["python"], versions["wheel"]) == (python, tag), versions
    assert python.rsplit(".", 1)[0] in re.findall(r"3\.\d+", versions["wheels"]), versions
    assert f"glibc {WHEEL_GLIBC} or newer" in versions["wheels"], versions


@pytest.mark.timeout(420)
def test_rootless_tests_pass_against_the_wheel(installed: Installed, tmp_path: Path) -> None:
    # From an empty directory, with --import-mode=importlib (pyproject.toml):
    # the source tree is not on sys.path; wgcore is imported, and checked to
    # be the wheel's, before pytest starts, so every test gets that one.
    args = ["-c", str(SOURCE / "pyproject.toml"), "--rootdir", str(SOURCE), "-p", "no:cacheprovider", "-q",
            *[str(SOURCE / a) if a.startswith("tests/") else a for a in ROOTLESS_TESTS]]
    venv_dir = installed.python.parents[1]
    out = run(installed, "-c", "import pathlib, sys, pytest, wgcore\n"
              f"assert pathlib.Path(wgcore.__file__).is_relative_to({str(venv_dir)!r}), wgcore.__file__\n"
              f"sys.exit(pytest.main({args!r}))", timeout=400, cwd=tmp_path)
    summary = out.strip().splitlines()[-1]
    print(f"\nthe rootless tests on {installed.wheel.name}: {summary}")
    assert re.search(r"\d+ passed", summary) and not re.search(r"failed|error|skipped", summary), out
