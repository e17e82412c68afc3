"""How wgcore's modules import one another: no cycles, and a typed model that
loads neither the compiled layer (nor so libwg's Go runtime) nor UAPI."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

WGCORE = Path(__file__).resolve().parents[1] / "wgcore"
MODEL = ("wgcore.keys", "wgcore.values", "wgcore.config", "wgcore.daita", "wgcore.stats")
COMPILED = ("wgcore._native", "wgcore._daita", "wgcore._netstack")
# the compiled layer's imports of Python modules (not cimports); a .pxi is
# part of the .pyx that includes it
_PYX_IMPORT = re.compile(r"^\s*(?:from\s+(\S+)\s+import\s+([^#\n]+)|import\s+([^#\n]+))$", re.M)
_PYX_INCLUDE = re.compile(r'^include\s+"([^"]+)"', re.M)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(WGCORE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(name: str, modules: set[str]) -> str | None:
    """The wgcore module an import of ``name`` runs: the longest prefix that is one."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def python_imports(path: Path, package: str) -> list[tuple[str, list[str], bool]]:
    """Every import in a .py file, at any depth: (module, names, at import time).

    Imports inside functions count as imports (they only run later); those
    under ``if TYPE_CHECKING:`` never run and are left out."""
    found: list[tuple[str, list[str], bool]] = []

    def visit(node: ast.AST, at_import: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for branch in child.orelse:
                    visit(branch, at_import)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, [], at_import) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.append((base, [alias.name for alias in child.names], at_import))
            visit(child, at_import and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(path.read_text(), str(path)), True)
    return found


def compiled_imports(path: Path) -> list[tuple[str, list[str], bool]]:
    """The imports of a .pyx and of the .pxi files it includes."""
    text = path.read_text()
    for include in _PYX_INCLUDE.findall(text):
        text += (path.parent / include).read_text()
    found: list[tuple[str, list[str], bool]] = []
    for source, names, plain in _PYX_IMPORT.findall(text):
        if source:
            found.append((source, [n.strip().split(" as ")[0] for n in names.strip("()").split(",")], True))
        else:
            found.extend((n.strip().split(" as ")[0], [], True) for n in plain.split(","))
    return found


def import_graph(at_import_only: bool = False) -> dict[str, set[str]]:
    """wgcore's modules (.py and compiled) and the wgcore modules each imports."""
    sources = {module_name(p): p for p in WGCORE.rglob("*.py")}
    sources.update({module_name(p): p for p in WGCORE.rglob("*.pyx")})
    modules = set(sources)
    graph: dict[str, set[str]] = {}
    for name, path in sources.items():
        package = name if path.stem == "__init__" else name.rpartition(".")[0]
        imports = compiled_imports(path) if path.suffix == ".pyx" else python_imports(path, package)
        edges = graph.setdefault(name, set())
        for source, names, at_import in imports:
            if at_import_only and not at_import:
                continue
            targets = [resolve(f"{source}.{n}", modules) for n in names] if names else []
            for target in targets or [resolve(source, modules)]:
                if target is not None and target != name:
                    edges.add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        for target in graph.get(node, ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    assert "wgcore.errors" in graph["wgcore._native"]  # a compiled module's import
    assert "wgcore.traffic" in graph["wgcore._native"]  # a from-import of a compiled module
    assert "wgcore.cli.wgquick" in graph["wgcore.cli"]  # from a package import a module
    assert "wgcore._daita" in graph["wgcore.daita"]  # inside a function
    assert "wgcore._daita" not in import_graph(at_import_only=True)["wgcore.daita"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    """Function-local imports count: they are how cycles hide."""
    found = cycles(import_graph())
    assert not found, "import cycles among wgcore's modules: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_library_imports_neither_the_cli_nor_the_test_lab() -> None:
    graph = import_graph()
    for module in graph:
        if module.startswith("wgcore.cli") or module == "wgcore.__main__":
            continue
        assert not {m for m in reachable(graph, module) if m.startswith("wgcore.cli")}, f"{module} imports the CLI"
    for path in WGCORE.rglob("*.py"):
        for source, _, _ in python_imports(path, module_name(path)):
            assert source.partition(".")[0] not in ("tests", "lab"), f"{path} imports the test lab ({source})"


def test_the_model_imports_neither_the_compiled_layer_nor_uapi() -> None:
    graph = import_graph(at_import_only=True)
    for module in MODEL:
        loaded = reachable(graph, module)
        assert not loaded & set(COMPILED), f"{module} imports {sorted(loaded & set(COMPILED))}"
        assert not {m for m in loaded if m.startswith("wgcore.uapi")}, f"{module} imports wgcore.uapi"


def test_parsing_a_conf_loads_no_libwg() -> None:
    """In a fresh interpreter, past the package's __init__ (which offers
    Tunnel): the model parses a .conf, derives its public key and writes
    UAPI text with no compiled module, and libwg.so is never mapped."""
    code = textwrap.dedent(f"""
        import importlib.util, sys, types
        package = types.ModuleType("wgcore")
        package.__path__ = importlib.util.find_spec("wgcore").submodule_search_locations
        sys.modules["wgcore"] = package
        from wgcore.config import Interface
        from wgcore.keys import PrivateKey
        key = PrivateKey(bytes(range(32)))
        conf = Interface.from_conf(
            f"[Interface]\\nPrivateKey = {{key.to_base64()}}\\n"
            "[Peer]\\nPublicKey = {"A" * 43}=\\nAllowedIPs = 10.0.0.0/8\\nDAITA = on\\n")
        assert conf.public_key == key.public_key and conf.to_uapi()
        loaded = sorted(m for m in sys.modules if m in {COMPILED!r} or m.startswith("wgcore.uapi"))
        mapped = "libwg" in open("/proc/self/maps").read()
        print(loaded, mapped)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "False"]
