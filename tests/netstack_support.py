"""Servers and certificates for the netstack tests: they serve on any
socket-like object (kernel sockets in a peer namespace, or wgcore.net
sockets), each in a daemon thread."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wgcore.net import dns


def serve(listener: Any, handle: Callable[[Any], None]) -> threading.Thread:
    """Accept connections on listener for ever, each handled on a thread."""
    def loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_handle, args=(handle, conn), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def _handle(handle: Callable[[Any], None], conn: Any) -> None:
    try:
        handle(conn)
    except OSError:
        pass
    finally:
        conn.close()


def echo(conn: Any) -> None:
    """Echo every byte until EOF."""
    while data := conn.recv(65536):
        conn.sendall(data)


def serve_datagrams(sock: Any, reply: Callable[[bytes], bytes | None]) -> threading.Thread:
    """Answer each datagram with reply(datagram) unless it gives None."""
    def loop() -> None:
        while True:
            try:
                data, sender = sock.recvfrom(4096)
            except OSError:
                return
            answer = reply(data)
            if answer is not None:
                sock.sendto(answer, sender)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def dns_reply(records: dict[str, list[str]]) -> Callable[[bytes], bytes | None]:
    """A DNS server's answers: records by name, NXDOMAIN for other names."""
    def reply(query: bytes) -> bytes | None:
        try:
            _, name, _ = dns.parse_query(query)
        except dns.DNSFormatError:
            return None
        if name in records:
            return dns.answer(query, records[name])
        return dns.answer(query, [], rcode=dns.NXDOMAIN)

    return reply


def make_certificates(directory: Path, hostname: str) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for hostname signed by it (openssl):
    (ca.pem, server.pem, server.key)."""
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=wgcore test CA", "-keyout", str(ca_key), "-out", str(ca))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={hostname}",
            "-keyout", str(key), "-out", str(csr))
    ext = directory / "ext.cnf"
    ext.write_text(f"subjectAltName=DNS:{hostname}\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
            "-days", "2", "-extfile", str(ext), "-out", str(cert))
    return ca, cert, key
