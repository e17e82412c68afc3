"""A DNS A/AAAA codec (RFC 1035, RFC 3596): queries, and answers to them."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

__all__ = ["A", "AAAA", "NOERROR", "NXDOMAIN", "SERVFAIL", "Answer", "DNSFormatError",
           "answer", "encode_query", "parse_answer", "parse_query"]

A, AAAA = 1, 28
_IN = 1
NOERROR, SERVFAIL, NXDOMAIN = 0, 2, 3
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_QR, _RD, _RA = 0x8000, 0x0100, 0x0080


class DNSFormatError(ValueError):
    """A DNS message that is malformed or does not answer the query."""


@dataclass(frozen=True)
class Answer:
    """What a response says: its rcode and the A/AAAA addresses of the name."""

    rcode: int
    addresses: tuple[str, ...]


def _encode_name(name: str) -> bytes:
    labels = name.rstrip(".").split(".") if name.rstrip(".") else []
    out = bytearray()
    for label in labels:
        raw = label.encode("idna") if not label.isascii() else label.encode()
        if not 0 < len(raw) < 64:
            raise DNSFormatError(f"label {label!r} of {name!r} must be 1-63 bytes")
        out += bytes([len(raw)]) + raw
    if len(out) + 1 > 255:
        raise DNSFormatError(f"name {name!r} is longer than 255 bytes")
    return bytes(out) + b"\0"


def encode_query(name: str, qtype: int, ident: int) -> bytes:
    """One recursive query for name's records of qtype (A or AAAA)."""
    if qtype not in (A, AAAA):
        raise ValueError(f"qtype must be A (1) or AAAA (28), got {qtype}")
    return _HEADER.pack(ident, _RD, 1, 0, 0, 0) + _encode_name(name) + struct.pack("!HH", qtype, _IN)


def _read_name(msg: bytes, pos: int) -> tuple[str, int]:
    """The name at pos (following compression pointers) and where it ends."""
    labels: list[str] = []
    end = None
    for _ in range(128):  # more jumps than a 255-byte name can need: a loop
        if pos >= len(msg):
            raise DNSFormatError("name runs past the message")
        length = msg[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(msg):
                raise DNSFormatError("truncated compression pointer")
            if end is None:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | msg[pos + 1]
            continue
        if length & 0xC0:
            raise DNSFormatError(f"unknown label type {length:#x}")
        if length == 0:
            return ".".join(labels), end if end is not None else pos + 1
        label = msg[pos + 1:pos + 1 + length]
        if len(label) != length:
            raise DNSFormatError("label runs past the message")
        labels.append(label.decode("ascii", "replace"))
        pos += 1 + length
    raise DNSFormatError("compression pointers loop")


def _header(msg: bytes) -> tuple[int, int, int, int]:
    if len(msg) < _HEADER.size:
        raise DNSFormatError(f"a DNS message has at least 12 bytes, got {len(msg)}")
    ident, flags, qd, an, _, _ = _HEADER.unpack_from(msg)
    return ident, flags, qd, an


def parse_query(msg: bytes) -> tuple[int, str, int]:
    """(id, name, qtype) of a one-question query."""
    ident, flags, qd, _ = _header(msg)
    if flags & _QR or qd != 1:
        raise DNSFormatError("not a one-question query")
    name, pos = _read_name(msg, _HEADER.size)
    if pos + 4 > len(msg):
        raise DNSFormatError("truncated question")
    qtype, _ = struct.unpack_from("!HH", msg, pos)
    return ident, name, qtype


def answer(query: bytes, addresses: list[str], rcode: int = NOERROR, ttl: int = 60) -> bytes:
    """The response to query giving addresses (those of its qtype's family)."""
    ident, name, qtype = parse_query(query)
    question_end = _read_name(query, _HEADER.size)[1] + 4
    version = 4 if qtype == A else 6
    records = [ipaddress.ip_address(a).packed for a in addresses if ipaddress.ip_address(a).version == version]
    body = b"".join(b"\xc0\x0c" + _RR.pack(qtype, _IN, ttl, len(r)) + r for r in records)
    flags = _QR | _RD | _RA | rcode
    return _HEADER.pack(ident, flags, 1, len(records), 0, 0) + query[_HEADER.size:question_end] + body


def parse_answer(msg: bytes, ident: int, name: str, qtype: int) -> Answer:
    """The rcode and addresses of a response to our query (id, name, qtype);
    DNSFormatError if it is malformed or answers another query."""
    got_id, flags, qd, an = _header(msg)
    if got_id != ident or not flags & _QR:
        raise DNSFormatError("not a response to this query")
    pos = _HEADER.size
    for _ in range(qd):
        qname, pos = _read_name(msg, pos)
        if pos + 4 > len(msg):
            raise DNSFormatError("truncated question")
        if qname.lower() != name.rstrip(".").lower() or struct.unpack_from("!H", msg, pos)[0] != qtype:
            raise DNSFormatError("the response's question is not ours")
        pos += 4
    addresses = []
    for _ in range(an):
        _, pos = _read_name(msg, pos)
        if pos + _RR.size > len(msg):
            raise DNSFormatError("truncated resource record")
        rtype, rclass, _, length = _RR.unpack_from(msg, pos)
        pos += _RR.size
        data = msg[pos:pos + length]
        if len(data) != length:
            raise DNSFormatError("record data runs past the message")
        pos += length
        if rclass == _IN and rtype == qtype and length == (4 if qtype == A else 16):
            addresses.append(str(ipaddress.ip_address(data)))
    return Answer(flags & 0xF, tuple(addresses))
