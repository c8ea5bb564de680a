"""govnet.ipfast builds the objects ipaddress builds: same values, equality, hashes, text and behaviour."""

from __future__ import annotations

import pickle
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, collapse_addresses

from hypothesis import given
from hypothesis import strategies as st

from govnet import ipfast

ints = st.integers(0, 2**32 - 1)
lens = st.integers(0, 32)


def same(a: object, b: object) -> None:
    assert type(a) is type(b)
    assert a == b and b == a and hash(a) == hash(b)
    assert str(a) == str(b) and repr(a) == repr(b)
    assert pickle.loads(pickle.dumps(a)) == b


@given(ints)
def test_address(value: int) -> None:
    same(ipfast.address(value), IPv4Address(value))


@given(ints, lens)
def test_network(value: int, prefixlen: int) -> None:
    start = value & ~((1 << (32 - prefixlen)) - 1)
    fast, slow = ipfast.network(start, prefixlen), IPv4Network((start, prefixlen))
    same(fast, slow)
    for attr in ("network_address", "broadcast_address", "netmask", "hostmask", "prefixlen", "num_addresses"):
        assert getattr(fast, attr) == getattr(slow, attr)
    if prefixlen >= 29:
        assert list(fast.hosts()) == list(slow.hosts())
        assert list(fast) == list(slow)


@given(ints, lens)
def test_interface(value: int, prefixlen: int) -> None:
    fast, slow = ipfast.interface(value, prefixlen), IPv4Interface((value, prefixlen))
    same(fast, slow)
    assert fast.ip == slow.ip and fast.network == slow.network and fast.hostmask == slow.hostmask
    assert fast.with_prefixlen == slow.with_prefixlen and fast.with_netmask == slow.with_netmask


@given(st.lists(st.tuples(ints, st.integers(8, 32)), max_size=40))
def test_collapse(blocks: list[tuple[int, int]]) -> None:
    nets = [IPv4Network((v & ~((1 << (32 - n)) - 1), n)) for v, n in blocks]
    assert ipfast.collapse(nets) == list(collapse_addresses(nets))
    assert ipfast.collapse([*nets, IPv4Network("0.0.0.0/0")]) == [IPv4Network("0.0.0.0/0")]
