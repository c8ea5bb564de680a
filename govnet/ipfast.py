"""ipaddress objects from integers the derive stage has already checked, without re-parsing and re-validating them.

A national inventory builds hundreds of thousands of addresses, networks and interfaces; `ipaddress`'s constructors
(split, parse, mask, host-bit check) took a third of a national build. These build the same objects: the same class,
the same attributes, equal and hashing as `ipaddress` would, printed the same. Callers pass values IPAM produced:
an aligned network address, a prefix length of 0..32.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

_new = object.__new__
_MASKS = [IPv4Network._make_netmask(n) for n in range(33)]  # type: ignore[attr-defined]


def address(value: int) -> IPv4Address:
    """IPv4Address(value)."""
    out = _new(IPv4Address)
    out._ip = value  # type: ignore[attr-defined]
    return out


def network(start: int, prefixlen: int) -> IPv4Network:
    """IPv4Network((start, prefixlen)) for an aligned `start`."""
    out = _new(IPv4Network)
    out.network_address = address(start)
    out.netmask, out._prefixlen = _MASKS[prefixlen]  # type: ignore[attr-defined]
    if prefixlen == 31:  # as IPv4Network.__init__ does: every address of a /31 is a host
        out.hosts = out.__iter__  # type: ignore[method-assign]
    elif prefixlen == 32:
        out.hosts = lambda: [address(start)]  # type: ignore[method-assign,assignment,return-value]
    return out


def interface(value: int, prefixlen: int) -> IPv4Interface:
    """IPv4Interface((value, prefixlen)): the address and its network."""
    out = _new(IPv4Interface)
    out._ip = value  # type: ignore[attr-defined]
    net = network(value & int(_MASKS[prefixlen][0]), prefixlen)
    out.network = net
    out.netmask = net.netmask
    out._prefixlen = prefixlen  # type: ignore[attr-defined]
    return out


def collapse(networks: Iterable[IPv4Network]) -> list[IPv4Network]:
    """ipaddress.collapse_addresses, on integers: the fewest networks covering exactly the same addresses, sorted."""
    ranges = sorted((int(n.network_address), int(n.network_address) + (1 << (32 - n.prefixlen)) - 1) for n in networks)
    merged: list[list[int]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    out = []
    for lo, hi in merged:
        while lo <= hi:  # the largest aligned block starting at lo that ends inside the range
            size = lo & -lo if lo else 1 << 32
            while lo + size - 1 > hi:
                size >>= 1
            out.append(network(lo, 32 - size.bit_length() + 1))
            lo += size
    return out
