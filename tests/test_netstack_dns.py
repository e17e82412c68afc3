"""The DNS A/AAAA codec of wgcore.net: queries and answers round-trip,
and malformed or foreign responses are refused, never misread."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wgcore.net import dns

labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=63)
names = st.lists(labels, min_size=1, max_size=4).map(".".join)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)


@given(names, st.sampled_from([dns.A, dns.AAAA]), st.integers(0, 0xFFFF),
       st.lists(ipv4, max_size=5), st.lists(ipv6, max_size=5))
def test_answers_round_trip(name: str, qtype: int, ident: int, v4: list[str], v6: list[str]) -> None:
    query = dns.encode_query(name, qtype, ident)
    assert dns.parse_query(query) == (ident, name, qtype)
    result = dns.parse_answer(dns.answer(query, v4 + v6), ident, name.upper(), qtype)
    wanted = v4 if qtype == dns.A else v6
    assert result == dns.Answer(dns.NOERROR, tuple(str(ipaddress.ip_address(a)) for a in wanted))


@given(names, st.integers(0, 0xFFFF), st.binary(max_size=64))
def test_garbage_after_the_header_never_misreads(name: str, ident: int, tail: bytes) -> None:
    reply = struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + tail
    try:
        result = dns.parse_answer(reply, ident, name, dns.A)
    except dns.DNSFormatError:
        return
    assert all(ipaddress.ip_address(a).version == 4 for a in result.addresses)


@given(st.binary(max_size=40))
def test_any_bytes_parse_or_raise_format_error(data: bytes) -> None:
    try:
        dns.parse_answer(data, 1, "x.test", dns.A)
    except dns.DNSFormatError:
        pass


def test_nxdomain_and_foreign_responses() -> None:
    query = dns.encode_query("web.test", dns.A, 7)
    assert dns.parse_answer(dns.answer(query, [], rcode=dns.NXDOMAIN), 7, "web.test", dns.A).rcode == dns.NXDOMAIN
    with pytest.raises(dns.DNSFormatError, match="not a response"):
        dns.parse_answer(dns.answer(query, ["192.0.2.1"]), 8, "web.test", dns.A)
    with pytest.raises(dns.DNSFormatError, match="question is not ours"):
        dns.parse_answer(dns.answer(query, ["192.0.2.1"]), 7, "other.test", dns.A)


def test_compression_pointer_loop_is_refused() -> None:
    reply = struct.pack("!HHHHHH", 1, 0x8180, 1, 0, 0, 0) + b"\xc0\x0c"
    with pytest.raises(dns.DNSFormatError, match="loop"):
        dns.parse_answer(reply, 1, "x.test", dns.A)


def test_bad_names_and_types() -> None:
    with pytest.raises(dns.DNSFormatError, match="1-63 bytes"):
        dns.encode_query("a" * 64 + ".test", dns.A, 1)
    with pytest.raises(dns.DNSFormatError, match="255"):
        dns.encode_query(".".join(["a" * 60] * 5), dns.A, 1)
    with pytest.raises(ValueError, match="qtype"):
        dns.encode_query("x.test", 15, 1)
