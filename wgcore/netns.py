"""Moved to :mod:`wgcore.testing.netns` (test tooling); importable here as before."""

from wgcore.testing.netns import CLONE_NEWNET, enter, ip, namespace, run, run_in, veth

__all__ = ["CLONE_NEWNET", "enter", "ip", "namespace", "run", "run_in", "veth"]
