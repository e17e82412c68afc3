"""The docs site as a reader gets it: built by Sphinx with warnings as
errors, its main pages opened in a real headless browser (Debian's
`chromium`, DOM dumped after the page's scripts ran), every internal link
followed in the built tree.

Set WGCORE_DOCS to a built tree (.ci/run builds one) to test it; otherwise
the docs are built here (needs the `docs` extra: sphinx, myst-parser).
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import wgcore
import wgcore.net

from .helpers import missing

SOURCE = Path(__file__).resolve().parents[1]

# page -> (its heading, text the page must show: proof it rendered its own content)
PAGES = {
    "index.html": ("wgcore", "Getting started"),
    "getting-started.html": ("Getting started", "pip install . && python -P -m wgcore demo"),
    "guides/tunnels.html": ("Tunnels and ports", "the kernel TUN is the port"),
    "guides/in-memory.html": ("In-memory tunnels", "tunnel.packets.max_size"),
    "guides/tun.html": ("TUN devices", "IFF_TUN | IFF_NO_PI"),
    "guides/traffic.html": ("Traffic counters", "accepted_not_sent"),
    "guides/daita.html": ("DAITA", "What libwg refuses."),
    "guides/multihop.html": ("Multihop", "private_ip"),
    "guides/sockets.html": ("Sockets without root", "tunnel.net.addresses"),
    "guides/uapi-cli.html": ("Configuration, UAPI and the CLI", "wgcore genkey"),
    "development.html": ("Development", "The maybenot event numbering."),
    "benchmarks.html": ("Benchmarks", "CONSTANT_RATE"),
    "changelog.html": ("Changelog", "Unreleased"),
}
# API page -> the modules it documents: every public name they define must have an entry
API = {
    "api/config.html": ["wgcore.config", "wgcore.values"],
    "api/keys.html": ["wgcore.keys"],
    "api/errors.html": ["wgcore.errors"],
    "api/daita.html": ["wgcore.daita"],
    "api/traffic.html": ["wgcore.traffic"],
    "api/stats.html": ["wgcore.stats"],
    "api/aio.html": ["wgcore.aio"],
    "api/net.html": ["wgcore.net.sockets", "wgcore.net.tls", "wgcore.net.aio", "wgcore.net.resolver",
                     "wgcore.net.dns"],
    "api/http.html": ["wgcore.http"],
    "api/uapi.html": ["wgcore.uapi.codec", "wgcore.uapi.server"],
    "api/cli.html": ["wgcore.cli.wgquick", "wgcore.cli.fetch"],
}


class Page(HTMLParser):
    """What a test reads of an HTML document: title, h1s, ids, links, text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.title = ""
        self.h1: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.text: list[str] = []
        self._in: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in.append(tag)
        if tag == "h1":
            self.h1.append("")
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            elif name in ("href", "src") and value is not None:
                self.links.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag):]

    def handle_data(self, data: str) -> None:
        if "title" in self._in:
            self.title += data
        if "h1" in self._in:
            self.h1[-1] += data
        if not {"script", "style"} & set(self._in):
            self.text.append(data)

    @property
    def headings(self) -> list[str]:
        return [h.replace("¶", "").strip() for h in self.h1]

    @property
    def body(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.fixture(scope="module")
def site() -> Iterator[Path]:
    """The built docs: WGCORE_DOCS, or built here with warnings as errors."""
    built = os.environ.get("WGCORE_DOCS")
    if built:
        yield Path(built)
        return
    if not all(importlib.util.find_spec(m) for m in ("sphinx", "myst_parser")):
        missing("needs sphinx and myst-parser: pip install '.[docs]'")
    with tempfile.TemporaryDirectory(prefix="wgcore-docs-") as out:
        build = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                                str(SOURCE / "docs"), out], capture_output=True, text=True, timeout=300, cwd="/")
        assert build.returncode == 0, f"sphinx-build -W failed:\n{build.stderr}"
        yield Path(out)


def browse(site: Path, pages: list[str], *, script_ms: int = 0) -> dict[str, Page]:
    """Each page (path?query under the site) as headless chromium rendered it."""
    chromium = shutil.which("chromium") or missing("needs chromium: tests/install-system-packages.sh installs it")

    def dump(page: str) -> Page:
        path, _, query = page.partition("?")
        with tempfile.TemporaryDirectory(prefix="wgcore-chromium-") as profile:
            cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                   *([f"--virtual-time-budget={script_ms}"] if script_ms else []),
                   "--dump-dom", (site / path).as_uri() + (f"?{query}" if query else "")]
            shown = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0 and "</html>" in shown.stdout, f"chromium on {page}: {shown.stderr[-2000:]}"
        return Page(shown.stdout)

    with ThreadPoolExecutor(4) as pool:
        return dict(zip(pages, pool.map(dump, pages)))


@pytest.mark.tools("chromium")
def test_main_pages_render_in_a_browser(site: Path) -> None:
    rendered = browse(site, list(PAGES))
    for page, (heading, shown) in PAGES.items():
        dom = rendered[page]
        assert dom.headings[:1] == [heading], page
        assert dom.title.strip() == f"{heading} — wgcore {wgcore.__version__}", page
        assert shown in dom.body, f"{page} does not show {shown!r}"
        assert ".. auto" not in dom.body and ".. py:" not in dom.body, f"{page} shows unrendered reST"


@pytest.mark.tools("chromium")
def test_api_reference_has_every_public_name(site: Path) -> None:
    rendered = browse(site, ["api/wgcore.html", *API])
    classes = {"api/wgcore.html": {"wgcore.Tunnel": wgcore.Tunnel, "wgcore.Packets": wgcore.Packets,
                                   "wgcore.Datagrams": wgcore.Datagrams, "wgcore.Hop": wgcore.Hop},
               "api/net.html": {"wgcore.net.Netstack": wgcore.net.Netstack}}
    for page, documented in classes.items():
        for name, cls in documented.items():
            public = [n for n, _ in inspect.getmembers(cls) if not n.startswith("_")]
            assert {name, *(f"{name}.{n}" for n in public)} - rendered[page].ids == set(), name
    assert {"wgcore.version", "wgcore.tunnel.tunnel_count", "wgcore.__version__"} <= rendered["api/wgcore.html"].ids
    assert "wgcore.daita.COMPILED_IN" in rendered["api/daita.html"].ids
    for page, modules in API.items():
        dom = rendered[page]
        assert ".. auto" not in dom.body, f"{page} shows unrendered reST"
        for name in modules:
            module = importlib.import_module(name)
            own = [n for n in getattr(module, "__all__", dir(module))
                   if not n.startswith("_") and getattr(getattr(module, n), "__module__", name) == name
                   and (inspect.isclass(getattr(module, n)) or inspect.isfunction(getattr(module, n)))]
            assert own, name
            assert {f"{name}.{n}" for n in own} - dom.ids == set(), page


@pytest.mark.tools("chromium")
def test_search_finds_api_entries(site: Path) -> None:
    """The search page's scripts run in the browser and find the API."""
    dom = browse(site, ["search.html?q=recv_batch_into"], script_ms=10_000)["search.html?q=recv_batch_into"]
    assert "api/wgcore.html#wgcore.Packets.recv_batch_into" in dom.links, dom.body[-2000:]


def test_every_internal_link_resolves(site: Path) -> None:
    pages = {p.resolve(): Page(p.read_text()) for p in site.rglob("*.html")}
    assert len(pages) >= len(PAGES) + len(API) + 1
    broken = []
    for path, page in pages.items():
        for link in page.links:
            url = urlsplit(link)
            if url.scheme or url.netloc:
                continue  # external: not followed (tests run offline)
            target = (path.parent / unquote(url.path)).resolve() if url.path else path
            if target.is_dir():
                target /= "index.html"
            if not target.is_file():
                broken.append(f"{path.relative_to(site)}: {link} (no file)")
            elif url.fragment and target.suffix == ".html" and url.fragment not in pages[target].ids:
                broken.append(f"{path.relative_to(site)}: {link} (no id {url.fragment})")
    assert broken == []
