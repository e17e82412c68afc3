"""Private and preshared keys never reach an exception, a log record or a repr,
even from a line that failed to parse."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wgcore
from wgcore import Endpoint, Interface, PresharedKey, PrivateKey
from wgcore.errors import ConfigError
from wgcore.errors import redact
from wgcore.uapi import parse_get
from wgcore.values import parse_network

PUBLIC = PrivateKey.generate().public_key

# Every spelling the parsers accept for a secret's name, and separators a
# person might type in its place ("PrivateKey: ...").
secret_names = st.sampled_from([
    "PrivateKey", "privatekey", "PRIVATEKEY", "privateKey", "PresharedKey", "presharedkey",
    "private_key", "preshared_key", "Private_Key",
])
separators = st.sampled_from(["=", " = ", ": ", ":", " ", "\t", " : ", "=="])
secrets = st.binary(min_size=32, max_size=32)
encodings = st.sampled_from(["base64", "hex"])

# Malformed (and some well-formed) lines that hold a secret, for .conf files
# and UAPI text; {name}, {sep} and {key} are filled in.
CONF_TEMPLATES = [
    "[Interface]\n{name}{sep}{key}\n",
    "[Interface] {name}{sep}{key}\n",
    "[Interface]\n{key}\n",
    "{name}{sep}{key}\n",
    "[Interface]\nListenPort = {key}\n",
    "[Interface]\n{name} = {key}!\n",
    "[Interface]\n{name} = {key}{key}\n",
    "[Interface]\nAddress = {key}\n",
    "[Interface]\nDNS = ,{key}\n",
    "[Interface]\nSaveConfig = {key}\n",
    f"[Peer]\nPublicKey = {PUBLIC}\n{{name}}{{sep}}{{key}}\n",
    f"[Peer]\nPublicKey = {PUBLIC}\nAllowedIPs = 10.0.0.0/8, {{key}}\n",
    f"[Peer]\nPublicKey = {PUBLIC}\nEndpoint = {{key}}:51820\n",
    f"[Peer]\nPublicKey = {PUBLIC}\nPersistentKeepalive = {{key}}\n",
    "[{key}]\n",
]
UAPI_TEMPLATES = [
    "{name}{sep}{key}\n",
    "{key}\n",
    "{key}=1\n",
    "listen_port={key}\n",
    "fwmark={key}\n",
    f"public_key={PUBLIC.hex()}\n{{name}}{{sep}}{{key}}\n",
    f"public_key={PUBLIC.hex()}\nendpoint={{key}}\n",
    f"public_key={PUBLIC.hex()}\nallowed_ip={{key}}\n",
    f"public_key={PUBLIC.hex()}\n{{key}}={{key}}\n",
    "errno={key}\n",
]


def forms(raw: bytes) -> list[str]:
    """The key's text forms, and long pieces of them, none of which may show."""
    b64, hexa = PresharedKey(raw).to_base64(), raw.hex()
    return [b64, hexa, b64[:20], b64[20:43], hexa[:20], hexa[-20:]]


def fill(template: str, name: str, sep: str, raw: bytes, encoding: str) -> str:
    key = PresharedKey(raw).to_base64() if encoding == "base64" else raw.hex()
    return template.replace("{name}", name).replace("{sep}", sep).replace("{key}", key)


def assert_hidden(raw: bytes, *texts: str) -> None:
    for text in texts:
        for form in forms(raw):
            assert form not in text, f"key material {form!r} shown in {text!r}"


def outcome(parse: Callable[[str], object], text: str) -> str:
    """Everything a parser lets a user see: its result's repr, or its error
    (str, repr and the field it names)."""
    try:
        return repr(parse(text))
    except ConfigError as e:
        return f"{e}\n{e!r}\n{e.field}"


@given(st.sampled_from(CONF_TEMPLATES), secret_names, separators, secrets, encodings)
def test_conf_parser_never_shows_a_key(template: str, name: str, sep: str, raw: bytes, encoding: str) -> None:
    assert_hidden(raw, outcome(Interface.from_conf, fill(template, name, sep, raw, encoding)))


@given(st.sampled_from(UAPI_TEMPLATES), secret_names, separators, secrets, encodings)
def test_uapi_and_stats_parsers_never_show_a_key(template: str, name: str, sep: str, raw: bytes,
                                                 encoding: str) -> None:
    text = fill(template, name, sep, raw, encoding)
    assert_hidden(raw, outcome(parse_get, text))


@given(secrets, encodings, st.sampled_from(["{key}", "{key}:5", "[{key}]:5", "{key}/8", "x{key}"]))
def test_endpoint_and_network_errors_never_show_a_key(raw: bytes, encoding: str, template: str) -> None:
    text = fill(template, "", "", raw, encoding)
    for parse in (Endpoint.parse, parse_network):
        try:
            parse(text)  # "[<hex>]:5" is a (strange) hostname endpoint: fine
        except wgcore.errors.InvalidArgumentError as e:
            assert_hidden(raw, str(e))


def test_the_cases_the_issue_found() -> None:
    key, psk = PrivateKey.generate(), PresharedKey.generate()
    for raw, parse, text in (
        (bytes(key), Interface.from_conf, f"[Interface]\nPrivateKey: {key.to_base64()}\n"),
        (bytes(psk), Interface.from_conf, f"[Peer]\nPublicKey = {PUBLIC}\nPresharedKey: {psk.to_base64()}\n"),
        (bytes(key), Interface.from_conf, f"[Interface] PrivateKey = {key.to_base64()}\n"),
        (bytes(key), parse_get, f"private_key {key.hex()}\n"),
    ):
        with pytest.raises(ConfigError) as info:
            parse(text)
        assert_hidden(raw, str(info.value), repr(info.value), str(info.value.field))
    stats = parse_get(f"public_key={PUBLIC.hex()}\nprivate_key={key.hex()}\nPrivate_Key={key.hex()}\n")
    assert_hidden(bytes(key), repr(stats))


@pytest.fixture(scope="module")
def tunnel() -> Iterator[wgcore.Tunnel]:
    with wgcore.Tunnel.in_memory("", transport="host") as t:
        yield t


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(UAPI_TEMPLATES), secret_names, separators, secrets)
def test_set_config_errors_and_go_log_lines_never_show_a_key(
    tunnel: wgcore.Tunnel, caplog: pytest.LogCaptureFixture, template: str, name: str, sep: str, raw: bytes
) -> None:
    caplog.set_level(logging.DEBUG, logger="wgcore.go")
    caplog.clear()
    text = fill(template, name, sep, raw, "hex")
    try:
        tunnel.set_config(text)
    except wgcore.errors.InvalidArgumentError as e:
        assert_hidden(raw, str(e), repr(e))
    assert_hidden(raw, caplog.text, *(str(r.msg) + str(r.args) for r in caplog.records))


def test_set_config_of_the_issue_and_its_error_log_line(tunnel: wgcore.Tunnel,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="wgcore.go")
    key = PrivateKey.generate()
    with pytest.raises(wgcore.errors.InvalidArgumentError, match=r"failed to parse line \"private_key \(hidden\)\"") as info:
        tunnel.set_config(f"private_key {key.hex()}\n")
    # Go's line repeats the exception: logged at DEBUG (redacted), not at ERROR.
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("private_key (hidden)" in m for m in debug), debug
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert_hidden(bytes(key), str(info.value), caplog.text)


def test_wgcore_up_never_prints_a_key(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    conf = tmp_path / "wgcz0.conf"
    conf.write_text(f"[Interface]\nPrivateKey: {key.to_base64()}\n")
    done = subprocess.run([sys.executable, "-m", "wgcore", "up", str(conf)], capture_output=True, text=True,
                          timeout=60, cwd="/")
    assert done.returncode == 1 and "line 2: PrivateKey: (hidden): unknown key" in done.stderr, done.stderr
    assert_hidden(bytes(key), done.stdout + done.stderr)


@given(st.text(max_size=60))
def test_redact_leaves_ordinary_text_alone_and_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    if "key" not in text.lower() and len(text) < 43:
        assert once == text


CORPUS = Path(__file__).resolve().parents[1] / "libwg" / "testdata" / "redaction.txt"


def corpus_cases() -> list[tuple[str, str]]:
    """libwg/testdata/redaction.txt's (in, out) pairs, which libwg's Go redact
    is held to as well."""
    def unescape(text: str) -> str:
        return re.sub(r"\\([nt\\])", lambda m: {"n": "\n", "t": "\t", "\\": "\\"}[m[1]], text)

    lines = [line for line in CORPUS.read_text().splitlines() if line and not line.startswith("#")]
    assert len(lines) % 2 == 0 and all(a.startswith("in: ") and b.startswith("out: ")
                                       for a, b in zip(lines[::2], lines[1::2])), "malformed corpus"
    return [(unescape(a[4:]), unescape(b[5:])) for a, b in zip(lines[::2], lines[1::2])]


@pytest.mark.parametrize(("text", "want"), corpus_cases())
def test_redact_follows_the_corpus_go_shares(text: str, want: str) -> None:
    assert redact(text) == want
    assert redact(want) == want
