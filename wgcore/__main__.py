"""Command line: ``python -m wgcore --version``."""

from __future__ import annotations

import argparse
import sys

from wgcore import version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wgcore", description="Userspace WireGuard for Python.")
    parser.add_argument("--version", action="store_true", help="print every pinned version and whether DAITA is in")
    args = parser.parse_args(argv)
    if args.version:
        for key, value in version().items():
            print(f"{key}: {value}")
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
