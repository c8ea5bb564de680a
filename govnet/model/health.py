"""What a healthy network shows, per device: the one catalogue of expectations every check filters.

Derived from the model alone, in the way of an ANTA catalogue or a NAPALM validation source: every address on its
interface, every OSPF adjacency on its link (one per interface, so two parallel links between the same two routers
are two adjacencies), every BGP session, and a route to every segment of the network. Each fact names the other
device it depends on (``peer``), so a consumer can keep only the facts its situation allows:

* deploy's post-check (``govnet.deploy.checks``) keeps the facts whose peer already runs its intended config;
* verify (``govnet.verify.expect.validation_source``) keeps them all and hands them to NAPALM's
  ``compliance_report``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Interface

from govnet.model.derived import Device, Network


@dataclass(frozen=True, slots=True)
class Address:
    """The interface exists with this address, and is up unless it is a loopback."""

    device: str
    interface: str
    address: IPv4Interface
    up: bool
    peer: str | None = None

    @property
    def subject(self) -> str:
        return self.interface


@dataclass(frozen=True, slots=True)
class Adjacency:
    """An OSPF adjacency in state Full on *interface*, with *peer* (router ID *peer_id*) at *peer_address*."""

    device: str
    interface: str
    peer: str
    peer_id: str
    peer_address: str

    @property
    def subject(self) -> str:
        return f"{self.peer} on {self.interface} ({self.peer_id})"


@dataclass(frozen=True, slots=True)
class Session:
    """A BGP session with *peer* at *address*, Established."""

    device: str
    address: str
    peer: str

    @property
    def subject(self) -> str:
        return f"{self.peer} ({self.address})"


@dataclass(frozen=True, slots=True)
class Route:
    """An active route to the segment's prefix: connected on the holder, learnt by BGP from the holder's loopback
    everywhere else."""

    device: str
    prefix: str
    segment: str  # site/segment
    protocol: str  # "connected" | "bgp"
    interface: str | None  # connected: the segment's interface
    next_hop: str | None  # bgp: the holder's loopback
    peer: str | None  # the holder, when it is another device

    @property
    def subject(self) -> str:
        return self.prefix


Fact = Address | Adjacency | Session | Route
KINDS: dict[type, str] = {Address: "interface", Adjacency: "ospf", Session: "bgp", Route: "route"}


def kind(fact: Fact) -> str:
    return KINDS[type(fact)]


def expectations(network: Network, name: str) -> tuple[Fact, ...]:
    """Every fact device *name* shows when the whole network runs its intended config."""
    device = network.devices[name]
    return (*_addresses(device), *_adjacencies(network, device), *_sessions(device), *_routes(network, device))


def among(facts: Iterable[Fact], peers: Collection[str]) -> tuple[Fact, ...]:
    """The facts that depend on the device alone or on a device of *peers*."""
    return tuple(f for f in facts if f.peer is None or f.peer in peers)


def _addresses(device: Device) -> list[Address]:
    out = [Address(device.name, i.name, i.address, True) for i in device.interfaces]
    out.append(Address(device.name, device.loopback_interface, device.loopback, False))
    out.append(Address(device.name, device.mgmt_interface, device.mgmt, True))
    return out


def _adjacencies(network: Network, device: Device) -> list[Adjacency]:
    return [
        Adjacency(device.name, i.name, i.peer, str(network.devices[i.peer].router_id), str(i.peer_address))
        for i in device.p2p
        if i.ospf_cost is not None and i.peer is not None and i.peer in network.devices
    ]


def _sessions(device: Device) -> list[Session]:
    return [Session(device.name, str(n.address), n.name) for n in device.bgp_neighbors]


def _routes(network: Network, device: Device) -> list[Route]:
    out = []
    for seg in network.segments:
        if seg.device == device.name:
            out.append(Route(device.name, str(seg.prefix), seg.key, "connected", seg.interface, None, None))
        else:
            hop = str(network.devices[seg.device].loopback.ip)
            out.append(Route(device.name, str(seg.prefix), seg.key, "bgp", None, hop, seg.device))
    return out
