"""What a lab is made of, independent of where it came from (the model or the synthetic generator).

The engine only ever sees a ``LabSpec``; ``from_model`` and ``synthetic`` produce one.  Keeping the
engine off the model means the lab can be tested at scale (80 routers) without an inventory, and a
model change never reaches into namespace plumbing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any, Literal

#: Every address the lab may use (RFC 2544 benchmarking range); nothing else is ever configured.
LAB_RANGE = IPv4Network("198.18.0.0/15")
#: Linux refuses interface names longer than this.
IFNAME_MAX = 15

EndpointKind = Literal["host", "server", "internet"]
#: Namespace letter of each endpoint kind: ``<prefix>h-<host>``, ``<prefix>s-<server>``, ``<prefix>i-<citizen>``.
KIND_LETTER = {"host": "h", "server": "s", "internet": "i"}


@dataclass(frozen=True)
class NodeSpec:
    """A router or switch: one namespace, one FRR instance (named like the device), one sshd.

    A node without ``mgmt`` is not the governorate's (the emulated Internet's routers, ``govnet.lab.internet``):
    no management port, no sshd, no on-box agent, never deployed to.

    A ``stock`` node is built as a stock FRR box (``govnet.lab.engine``): its login lands in the user's shell,
    plain ``vtysh`` reaches its FRR, and no helper is installed, so the FRR driver brings its own.
    """

    name: str
    role: str
    mgmt: IPv4Interface | None
    bootstrap_config: str
    full_config: str
    stock: bool = False

    @property
    def managed(self) -> bool:
        return self.mgmt is not None


@dataclass(frozen=True)
class EndSpec:
    """One side of a point-to-point link, on the interface name the plan gives it."""

    node: str
    interface: str
    address: IPv4Interface


@dataclass(frozen=True)
class LinkSpec:
    """A routed link: a veth pair between two device namespaces, shaped when a bandwidth is planned."""

    name: str
    a: EndSpec
    b: EndSpec
    bandwidth_mbps: int | None = None


@dataclass(frozen=True)
class SegmentSpec:
    """A LAN/VLAN segment: a bridge named after the segment interface, inside the switch namespace.

    The bridge holds the gateway address; every host or server on the segment hangs off it with a
    veth, so a DC segment with many servers is still one routed link for FRR.
    """

    name: str
    node: str
    interface: str
    gateway: IPv4Interface

    @property
    def key(self) -> str:
        """Segments are unique per (device, interface), which is also how endpoints refer to them."""
        return f"{self.node}:{self.interface}"


@dataclass(frozen=True)
class EndpointSpec:
    """A staff PC or DC server: a namespace with ``eth0`` on its segment and a default route."""

    name: str
    kind: EndpointKind
    segment: str  # SegmentSpec.key
    address: IPv4Interface
    gateway: IPv4Address


@dataclass(frozen=True)
class LabSpec:
    """Everything one lab builds.  ``prefix`` keeps names of concurrent labs apart."""

    name: str
    prefix: str
    mgmt_gateway: IPv4Interface
    nodes: tuple[NodeSpec, ...]
    links: tuple[LinkSpec, ...] = ()
    segments: tuple[SegmentSpec, ...] = ()
    endpoints: tuple[EndpointSpec, ...] = ()
    network: Any = field(default=None, compare=False, repr=False)

    # -- names -------------------------------------------------------------------------------
    def netns(self, node: str) -> str:
        """Namespace of a device: ``<prefix>-<device>`` so an engineer can ``ip netns exec`` into it."""
        return f"{self.prefix}-{node}"

    def endpoint_netns(self, ep: EndpointSpec) -> str:
        """Hosts get ``<prefix>h-<name>``, servers ``<prefix>s-<name>``, Internet hosts ``<prefix>i-<name>``."""
        return f"{self.prefix}{KIND_LETTER[ep.kind]}-{ep.name}"

    @property
    def managed(self) -> tuple[NodeSpec, ...]:
        """The governorate's devices (every node with a management port)."""
        return tuple(n for n in self.nodes if n.managed)

    @property
    def mgmt_bridge(self) -> str:
        """The management bridge in the root namespace."""
        return f"{self.prefix}-mgmt"

    def mgmt_port(self, node: str) -> str:
        """Root-side name of a device's management veth (must fit 15 characters and be unique)."""
        return short_ifname(f"{self.prefix}m-{node}")

    def segment(self, key: str) -> SegmentSpec:
        """Look a segment up by key."""
        for seg in self.segments:
            if seg.key == key:
                return seg
        raise KeyError(key)

    # -- validation --------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Every reason this spec must not be built (one line each), e.g. an address outside the lab range."""
        errs: list[str] = []
        names = [n.name for n in self.nodes]
        errs += [f"device {n}: duplicate device name" for n in sorted({x for x in names if names.count(x) > 1})]
        known = set(names)
        if not self.mgmt_gateway.network.subnet_of(LAB_RANGE):
            errs.append(f"management: {self.mgmt_gateway} is outside {LAB_RANGE}")
        if len(self.mgmt_bridge) > IFNAME_MAX:
            errs.append(f"lab prefix {self.prefix!r}: bridge name {self.mgmt_bridge} is too long")
        for n in self.managed:
            assert n.mgmt is not None
            if not n.mgmt.network.subnet_of(LAB_RANGE):
                errs.append(f"device {n.name}: management address {n.mgmt} is outside {LAB_RANGE}")
            elif n.mgmt.network != self.mgmt_gateway.network:
                errs.append(f"device {n.name}: management address {n.mgmt} not in {self.mgmt_gateway.network}")
        for link in self.links:
            for end in (link.a, link.b):
                errs += _end_problems(f"link {link.name}", end.node, end.interface, end.address, known)
        for seg in self.segments:
            errs += _end_problems(f"segment {seg.name}", seg.node, seg.interface, seg.gateway, known)
        seg_keys = {s.key for s in self.segments}
        for ep in self.endpoints:
            if ep.segment not in seg_keys:
                errs.append(f"{ep.kind} {ep.name}: unknown segment {ep.segment}")
            if not ep.address.network.subnet_of(LAB_RANGE):
                errs.append(f"{ep.kind} {ep.name}: address {ep.address} is outside {LAB_RANGE}")
        return errs


def _end_problems(where: str, node: str, ifname: str, address: IPv4Interface, known: set[str]) -> list[str]:
    """Checks shared by link ends and segment gateways."""
    errs = []
    if node not in known:
        errs.append(f"{where}: unknown device {node!r}")
    if len(ifname) > IFNAME_MAX:
        errs.append(f"{where}: interface name {ifname!r} is longer than {IFNAME_MAX} characters")
    if not address.network.subnet_of(LAB_RANGE):
        errs.append(f"{where}: {node} {ifname} address {address} is outside {LAB_RANGE}")
    return errs


def short_ifname(name: str) -> str:
    """``name`` if it fits Linux's 15 characters, else a stable truncation with a hash suffix."""
    if len(name) <= IFNAME_MAX:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:4]
    return f"{name[: IFNAME_MAX - 5]}-{digest}"


def lab_objects(spec: LabSpec) -> dict[str, dict[str, dict[str, Any]]]:
    """The spec as plain data, one table per kind of object, keyed by what names it on the machine: devices,
    links, segments (bridges), stubs (a veth keeping a segment without endpoints up), endpoints (by namespace).

    Recorded by ``up``; ``govnet.lab.sync`` compares two of these to find what is new, gone or changed.
    """
    with_endpoints = {ep.segment for ep in spec.endpoints}
    return {
        "devices": {  # "stock" only where set: a lab recorded before it existed still matches
            n.name: {"mgmt": str(n.mgmt) if n.managed else None, "role": n.role} | ({"stock": True} if n.stock else {})
            for n in spec.nodes
        },
        "links": {
            lk.name: {
                "a": [lk.a.node, lk.a.interface, str(lk.a.address)],
                "b": [lk.b.node, lk.b.interface, str(lk.b.address)],
                "bandwidth_mbps": lk.bandwidth_mbps,
            }
            for lk in spec.links
        },
        "segments": {
            s.key: {"name": s.name, "node": s.node, "interface": s.interface, "gateway": str(s.gateway)}
            for s in spec.segments
        },
        "stubs": {
            s.key: {"node": s.node, "interface": s.interface} for s in spec.segments if s.key not in with_endpoints
        },
        "endpoints": {
            spec.endpoint_netns(ep): {
                "name": ep.name,
                "kind": ep.kind,
                "segment": ep.segment,
                "address": str(ep.address),
                "gateway": str(ep.gateway),
            }
            for ep in spec.endpoints
        },
    }
