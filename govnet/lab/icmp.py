"""ICMP echo from inside lab namespaces without a process per ping.

A reachability matrix of the governorate is hundreds of pings; ``ip netns exec … ping`` per pair
costs two processes each, which on a 2-core machine slows the very convergence being measured.
Instead: briefly switch this thread into each source namespace (``setns``), open a raw ICMP socket
there (a socket stays in the namespace it was created in), switch back, then send and collect all
echoes with one ``select`` loop.  Packets are real echo requests routed by the namespace's tables,
exactly as ``ping`` sends them.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import select
import socket
import struct
import time
from collections.abc import Iterable, Iterator

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
#: One block of echo identifiers per ping_many call, so calls running side by side (verify's families) never
#: take each other's replies for their own.
_CALLS = itertools.count()


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def in_namespace(netns: str) -> Iterator[None]:
    """Run the body in network namespace ``netns`` (this thread only), then come back."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _echo(ident: int, seq: int) -> bytes:
    payload = b"govnet-lab-probe"
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload


def ping_many(pairs: Iterable[tuple[str, str]], timeout: float = 1.0) -> set[tuple[str, str]]:
    """Send one echo request per (namespace, address); return the pairs that were answered in time."""
    todo = list(dict.fromkeys(pairs))
    sockets: dict[str, socket.socket] = {}
    expected: dict[tuple[int, int, str], tuple[str, str]] = {}
    answered: set[tuple[str, str]] = set()
    ident_base = (os.getpid() + 1024 * next(_CALLS)) & 0xFFFF
    try:
        for netns, _ in todo:
            if netns not in sockets:
                with in_namespace(netns):
                    sockets[netns] = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
                sockets[netns].setblocking(False)
        ident_of = {ns: (ident_base + i) & 0xFFFF for i, ns in enumerate(sockets)}
        for seq, (netns, address) in enumerate(todo):
            seq &= 0xFFFF
            expected[(ident_of[netns], seq, address)] = (netns, address)
            with contextlib.suppress(OSError):  # unreachable: counts as unanswered
                sockets[netns].sendto(_echo(ident_of[netns], seq), (address, 0))
        deadline = time.monotonic() + timeout
        by_fd = {s.fileno(): s for s in sockets.values()}
        while len(answered) < len(todo):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select(list(by_fd), [], [], left)
            for fd in ready:
                _drain(by_fd[fd], expected, answered)
    finally:
        for s in sockets.values():
            s.close()
    return answered


def _drain(
    sock: socket.socket, expected: dict[tuple[int, int, str], tuple[str, str]], answered: set[tuple[str, str]]
) -> None:
    """Read every queued packet; record echo replies that match a request sent from this socket."""
    while True:
        try:
            packet, (src, _) = sock.recvfrom(2048)
        except BlockingIOError:
            return
        ihl = (packet[0] & 0x0F) * 4
        if len(packet) < ihl + 8:
            continue
        icmp_type, _, _, ident, seq = struct.unpack("!BBHHH", packet[ihl : ihl + 8])
        if icmp_type == 0:
            pair = expected.get((ident, seq, src))
            if pair is not None:
                answered.add(pair)
