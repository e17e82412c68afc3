"""Command line: ``python -m wgcore`` (see :mod:`wgcore.cli`)."""

from __future__ import annotations

import sys

from wgcore.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
