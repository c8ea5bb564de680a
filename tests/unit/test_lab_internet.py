"""The lab's emulated Internet (govnet.lab.internet), offline: where its addresses come from, what its routers
say, and that it stays apart from the governorate's devices in the lab spec and the lab's view."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import pytest

from govnet.lab import internet
from govnet.lab.engine import facts
from govnet.lab.from_model import spec_from_network
from govnet.model import load_network
from govnet.model.derived import Network

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def net() -> Network:
    return load_network(ROOT / "inventory" / "karbala", "lab")


def test_every_address_is_in_the_internet_pool_and_clear_of_the_inventorys(net: Network) -> None:
    plan = internet.plan(net)
    assert plan is not None and net.internet is not None
    pool = net.pools["internet"]
    taken = [net.internet.public_prefix] + [u.address.network for u in net.internet.uplinks]
    own = [(a, b) for _, a, b, _ in plan.links if a[0] not in net.devices and b[0] not in net.devices]
    addresses = [end[2] for pair in own for end in pair] + [gw for *_, gw in plan.segments]
    addresses += [addr for *_, addr in plan.hosts]
    assert addresses
    for addr in addresses:
        assert addr.network.subnet_of(pool), addr
        assert not any(addr.network.overlaps(t) for t in taken), addr


def test_each_uplink_is_cabled_to_its_isp_at_the_isps_address(net: Network) -> None:
    plan = internet.plan(net)
    assert plan is not None and net.internet is not None
    links = {name: (a, b) for name, a, b, _ in plan.links}
    for up in net.internet.uplinks:
        ours, theirs = links[f"internet/{up.isp}"]
        assert ours == (up.device, up.interface, up.address)
        assert theirs[0] == up.isp and theirs[2].ip == up.peer


def test_isp_routers_send_a_default_and_route_our_inside_at_us(net: Network) -> None:
    plan = internet.plan(net)
    assert plan is not None and net.internet is not None
    configs = {r.name: r.config for r in plan.routers}
    for up in net.internet.uplinks:
        text = configs[up.isp]
        assert f"router bgp {up.asn}" in text
        assert f"neighbor {up.address.ip} remote-as {net.asn}" in text
        assert f"neighbor {up.address.ip} default-originate" in text
        assert f"neighbor {up.address.ip} bfd" in text
        # a hostile Internet: every inside block routed at the edge, so only the edge's filter keeps citizens out
        for block in internet.inside(net):
            assert f"ip route {block} {up.address.ip}" in text
    assert IPv4Network("198.18.128.0/17") not in internet.inside(net)
    core = configs[internet.CORE]
    assert f"router bgp {internet.CORE_ASN}" in core
    assert all(f"network {gw.network}" in core for *_, gw in plan.segments)


def test_the_internet_is_outside_the_governorates_view_of_the_lab(net: Network) -> None:
    spec = spec_from_network(net)
    outside = [n for n in spec.nodes if not n.managed]
    assert {n.name for n in outside} == {u.isp for u in net.internet.uplinks} | {internet.CORE}  # type: ignore[union-attr]
    assert all(n.mgmt is None for n in outside)
    assert spec.problems() == []
    view = facts(spec)
    assert set(view["devices"]) == set(net.devices)  # deploy, health and verify see the governorate only
    assert all(lk["a"][0] in net.devices and lk["b"][0] in net.devices for lk in view["links"])
    assert set(view["internet"]["routers"]) == {n.name for n in outside}
    assert set(view["internet"]["hosts"]) == {internet.CITIZEN, internet.UPSTREAM}
    assert view["internet"]["hosts"][internet.CITIZEN][0] == f"{spec.prefix}i-{internet.CITIZEN}"


def test_no_internet_without_an_edge() -> None:
    babil = load_network(ROOT / "inventory" / "babil", "lab")
    assert babil.internet is None and internet.plan(babil) is None
    assert all(n.managed for n in spec_from_network(babil).nodes)
