"""Sphinx configuration: wgcore's docs, built from the installed package.

Build with warnings as errors, from any directory but the source tree's root
(so ``import wgcore`` finds the installed package, compiled modules and all):
``sphinx-build -W --keep-going -b html docs build/docs``.
"""

import ast
import importlib.util
from pathlib import Path
from typing import Any

import wgcore

project = "wgcore"
release = wgcore.__version__
version = release
copyright = "wgcore contributors"

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]

autodoc_member_order = "bysource"
autodoc_preserve_defaults = True
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "alabaster"
html_title = f"wgcore {release}"
html_theme_options = {"description": "Userspace WireGuard for Python", "show_relbars": True}


def stub_signatures(module: str) -> dict[str, tuple[str, str | None]]:
    """``module.Qual.name`` -> (parameters, return annotation) of each function
    in a compiled module's ``.pyi`` stub: Cython keeps no annotations."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    stub = Path(spec.origin).with_name(module.rsplit(".", 1)[1] + ".pyi")
    found: dict[str, tuple[str, str | None]] = {}
    scopes: list[tuple[str, list[ast.stmt], bool]] = [(module, ast.parse(stub.read_text()).body, False)]
    for prefix, body, in_class in scopes:
        for node in body:
            if isinstance(node, ast.ClassDef):
                scopes.append((f"{prefix}.{node.name}", node.body, True))
            elif isinstance(node, ast.FunctionDef):
                args = node.args
                if in_class and args.args:  # self / cls is not shown
                    args = ast.arguments(args.posonlyargs, args.args[1:], args.vararg, args.kwonlyargs,
                                         args.kw_defaults, args.kwarg, args.defaults)
                returns = ast.unparse(node.returns) if node.returns else None
                found[f"{prefix}.{node.name}"] = (f"({ast.unparse(args)})", returns)
    return found


STUBS = stub_signatures("wgcore._native")


def signature_from_stub(app: Any, what: str, name: str, obj: Any, options: Any, signature: str | None,
                        return_annotation: str | None) -> tuple[str | None, str | None] | None:
    """Give the compiled module's functions their signatures from the stub."""
    function = getattr(obj, "__func__", obj)
    return STUBS.get(f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', '')}")


def setup(app: Any) -> None:
    app.connect("autodoc-process-signature", signature_from_stub)
