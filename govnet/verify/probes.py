"""Data-plane probes from inside lab namespaces, many at once, without a process per probe.

Like ``govnet.lab.icmp``: each socket is opened inside its source namespace (``setns`` on this thread), then all of
them are driven by one selector loop, so a few hundred TCP/UDP probes cost one timeout, not hundreds.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from govnet.lab.icmp import in_namespace, ping_many

Probe = tuple[str, str, str, int | None]  # (source netns, destination address, proto, port)


def _open(netns: str, proto: str) -> socket.socket:
    with in_namespace(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    sock.setblocking(False)
    return sock


ANSWERED, REFUSED, SILENT = "answered", "refused", "silent"

# UDP probes speak the service's own protocol where it has one, so a real server answers as the stand-in
# listener does (which answers any datagram with "govnet NAME PORT"): a non-recursive DNS query for the root's NS on
# 53 (any reply, REFUSED included, is an answer; the lab has no root servers to recurse to) and an NTP client
# request on 123. Syslog (514) never answers: on real servers govnet.verify.eservices checks its delivery.
DNS_PROBE = bytes.fromhex("6776000000010000000000000000020001")  # id 0x6776, no recursion, ". NS IN"
NTP_PROBE = bytes([0x23]) + bytes(47)  # LI 0, version 4, mode 3 (client)


def udp_payload(port: int | None) -> bytes:
    return {53: DNS_PROBE, 123: NTP_PROBE}.get(port or 0, b"govnet-probe\n")


def udp_answered(port: int | None, reply: bytes) -> bool:
    if reply.startswith(b"govnet "):
        return True
    if port == 53:
        return len(reply) >= 12 and reply[:2] == DNS_PROBE[:2] and reply[2] & 0x80 == 0x80
    if port == 123:
        return len(reply) >= 48 and reply[0] & 0x07 == 4
    return False


def probe_many(
    probes: Iterable[Probe], timeout: float = 1.0, tries: int = 2, retry: Callable[[Probe], bool] | None = None
) -> dict[Probe, str]:
    """Per probe: ``answered`` (echo reply, TCP handshake, UDP reply from a listener), ``refused`` (the packet
    got there but nothing listens: RST or port unreachable) or ``silent`` (dropped or unroutable).

    A silent probe is sent again, up to *tries* times in all; with *retry*, only the silent probes it accepts (a
    probe the policy expects to be dropped gains nothing from a second try but another timeout). The echo requests
    and the TCP/UDP probes of one try wait out their timeout side by side, not one after the other."""
    todo = list(dict.fromkeys(probes))
    result = dict.fromkeys(todo, SILENT)
    for attempt in range(tries):
        pending = [p for p in todo if result[p] == SILENT and (attempt == 0 or retry is None or retry(p))]
        if not pending:
            break
        icmp = [(ns, addr) for ns, addr, proto, _ in pending if proto == "icmp"]
        others = [p for p in pending if p[2] in ("tcp", "udp")]
        with ThreadPoolExecutor(max_workers=1) as pool:
            pinged = pool.submit(ping_many, icmp, timeout) if icmp and others else None
            answered = ping_many(icmp, timeout=timeout) if icmp and pinged is None else set()
            result.update(_sockets(others, timeout) if others else {})
            if pinged is not None:
                answered = pinged.result()
        for p in pending:
            if p[2] == "icmp" and (p[0], p[1]) in answered:
                result[p] = ANSWERED
    return result


def _refused(code: int) -> str:
    return REFUSED if code == errno.ECONNREFUSED else SILENT


def _sockets(probes: list[Probe], timeout: float) -> dict[Probe, str]:
    sel = selectors.DefaultSelector()
    result: dict[Probe, str] = {}
    socks: list[socket.socket] = []
    try:
        for p in probes:
            ns, addr, proto, port = p
            sock = _open(ns, proto)
            socks.append(sock)
            result[p] = SILENT
            if proto == "tcp":
                code = sock.connect_ex((addr, port or 0))
                if code not in (0, errno.EINPROGRESS):
                    result[p] = _refused(code)
                    continue
                sel.register(sock, selectors.EVENT_WRITE, p)
            else:
                with contextlib.suppress(OSError):
                    sock.connect((addr, port or 0))
                    sock.send(udp_payload(port))
                    sel.register(sock, selectors.EVENT_READ, p)
        deadline = time.monotonic() + timeout
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ in sel.select(left):
                p, sock = key.data, key.fileobj  # type: ignore[assignment]
                assert isinstance(sock, socket.socket)
                sel.unregister(sock)
                if p[2] == "tcp":
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    result[p] = ANSWERED if code == 0 else _refused(code)
                else:
                    try:
                        result[p] = ANSWERED if udp_answered(p[3], sock.recv(2048)) else SILENT
                    except OSError as exc:
                        result[p] = _refused(exc.errno or 0)
    finally:
        sel.close()
        for sock in socks:
            sock.close()
    return result
