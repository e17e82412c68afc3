"""Build libmaybenot.a with cargo and lay out the headers cgo needs.

Run by meson: ``build_staticlib.py CARGO MANIFEST OUT_DIR``. Writes
OUT_DIR/libmaybenot.a, OUT_DIR/maybenot.h, OUT_DIR/wgcore_maybenot.h and the
include tree cgo searches with ``-I OUT_DIR/include/x``: the fork's
``#include "../maybenot/crates/maybenot-ffi/maybenot.h"`` lands on
OUT_DIR/include/maybenot/crates/maybenot-ffi/maybenot.h, libwg's
``#include "wgcore_maybenot.h"`` on OUT_DIR/include/x/wgcore_maybenot.h.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys


def ffi_header(cargo: str, manifest: pathlib.Path) -> pathlib.Path:
    """maybenot.h as shipped by the locked maybenot-ffi crate."""
    metadata = json.loads(subprocess.run(
        [cargo, "metadata", "--format-version", "1", "--locked", "--manifest-path", str(manifest)],
        check=True, capture_output=True, text=True).stdout)
    for package in metadata["packages"]:
        if package["name"] == "maybenot-ffi":
            return pathlib.Path(package["manifest_path"]).parent / "maybenot.h"
    raise SystemExit("maybenot-ffi is not in Cargo.lock")


def main() -> None:
    cargo, manifest, out_dir = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    target_dir = out_dir / "cargo-target"
    env = dict(os.environ, CARGO_TARGET_DIR=str(target_dir))
    subprocess.run([cargo, "build", "--release", "--locked", "--quiet", "--manifest-path", str(manifest)],
                   check=True, env=env)
    shutil.copyfile(target_dir / "release" / "libmaybenot.a", out_dir / "libmaybenot.a")
    header = ffi_header(cargo, manifest)
    shutil.copyfile(header, out_dir / "maybenot.h")
    tree = out_dir / "include" / "maybenot" / "crates" / "maybenot-ffi"
    tree.mkdir(parents=True, exist_ok=True)
    (out_dir / "include" / "x").mkdir(exist_ok=True)
    shutil.copyfile(header, tree / "maybenot.h")
    ours = manifest.parent / "wgcore_maybenot.h"
    shutil.copyfile(ours, out_dir / "wgcore_maybenot.h")
    shutil.copyfile(ours, out_dir / "include" / "x" / "wgcore_maybenot.h")


if __name__ == "__main__":
    main()
