"""The one catalogue of health (govnet/model/health.py), on both governorates."""

from __future__ import annotations

from pathlib import Path

import pytest

from govnet.model import health, load_network
from govnet.model.derived import Network

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["karbala", "babil"])
def network(request: pytest.FixtureRequest) -> Network:
    return load_network(ROOT / "inventory" / request.param, "lab")


def test_parallel_links_are_two_adjacencies() -> None:
    babil = load_network(ROOT / "inventory" / "babil", "lab")
    twins = [
        f for f in health.expectations(babil, "kifl-r1") if isinstance(f, health.Adjacency) and f.peer == "hilla-r1"
    ]
    assert [f.interface for f in twins] == ["eth1", "eth2"]
    assert len({f.peer_address for f in twins}) == 2 and len({f.peer_id for f in twins}) == 1


def test_every_device_expects_a_route_to_every_segment(network: Network) -> None:
    for name in network.devices:
        routes = [f for f in health.expectations(network, name) if isinstance(f, health.Route)]
        assert sorted(r.prefix for r in routes) == sorted(str(s.prefix) for s in network.segments)
        for r in routes:
            seg = next(s for s in network.segments if str(s.prefix) == r.prefix)
            if seg.device == name:
                assert (r.protocol, r.interface, r.peer) == ("connected", seg.interface, None)
            else:
                assert (r.protocol, r.next_hop, r.peer) == (
                    "bgp",
                    str(network.devices[seg.device].loopback.ip),
                    seg.device,
                )


def test_every_link_end_expects_the_other_end(network: Network) -> None:
    """Each OSPF link gives one adjacency at each end, each naming the other end's address on that link."""
    ends = {
        (f.device, f.interface): f
        for name in network.devices
        for f in health.expectations(network, name)
        if isinstance(f, health.Adjacency)
    }
    ospf_links = [k for k in network.links if k.ospf_cost is not None]
    assert len(ends) == 2 * len(ospf_links)
    for (device, interface), fact in ends.items():
        mine = next(i for i in network.devices[device].p2p if i.name == interface)
        far = ends[(fact.peer, str(mine.peer_interface))]
        assert far.peer == device and far.peer_id == str(network.devices[device].router_id)
        assert fact.peer_address == str(
            next(i.address.ip for i in network.devices[fact.peer].p2p if i.name == mine.peer_interface)
        )


def test_among_keeps_what_depends_on_the_device_alone_or_the_given_peers(network: Network) -> None:
    name = next(iter(network.devices))
    every = health.expectations(network, name)
    alone = health.among(every, set())
    assert alone and all(f.peer is None for f in alone)
    assert {health.kind(f) for f in alone} >= {"interface"}
    assert health.among(every, set(network.devices)) == tuple(
        f for f in every if f.peer is None or f.peer in network.devices
    )
