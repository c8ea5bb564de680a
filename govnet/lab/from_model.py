"""The addressed model of the ``lab`` environment → the lab's spec.

Links keep their planned interface names and addresses, each segment becomes a bridge holding its
gateway inside the switch namespace, and every host and DC server gets a namespace at its planned
address.  Configs come from ``govnet.render``: bootstrap for a plain ``up``, full with ``--configured``.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

from govnet.lab import internet
from govnet.lab.topology import EndpointSpec, EndSpec, LabSpec, LinkSpec, NodeSpec, SegmentSpec

#: Namespace prefix of a governorate lab unless its lab environment sets ``lab_prefix``: ``gv-<device>``.
PREFIX = "gv"


def spec_from_network(network: Any, *, prefix: str | None = None, stock: tuple[str, ...] | None = None) -> LabSpec:
    """Translate a ``govnet.model.Network`` (typed loosely: the lab must not depend on model internals).

    *stock*: the devices built as stock FRR boxes, instead of the lab environment's ``lab_stock``."""
    from govnet.render import render_bootstrap, render_device, secrets_from_env

    keys = secrets_from_env(network=network)  # the lab's routing keys: GOVNET_<NAME>, else the lab defaults
    stock_boxes = set(getattr(network, "lab_stock", ()) if stock is None else stock)

    nodes = tuple(
        NodeSpec(
            name=dev.name,
            role=dev.role,
            mgmt=dev.mgmt,
            bootstrap_config=render_bootstrap(network, dev.name),
            full_config=render_device(network, dev.name, keys),
            stock=dev.name in stock_boxes,
        )
        for dev in network.devices.values()
    )
    links = tuple(
        LinkSpec(
            name=lk.name,
            a=EndSpec(lk.a.device, lk.a.interface, lk.a.address),
            b=EndSpec(lk.b.device, lk.b.interface, lk.b.address),
            bandwidth_mbps=lk.bandwidth_mbps or None,
        )
        for lk in network.links
    )
    segments = tuple(
        SegmentSpec(name=f"{seg.site}/{seg.name}", node=seg.device, interface=seg.interface, gateway=seg.gateway)
        for seg in network.segments
    )
    # The emulated Internet behind the edge (lab inventories with an ``internet`` section): the ISPs' and the
    # Internet core's routers, the uplinks cabled to them, the citizens' and upstream segments and their hosts.
    outside = internet.plan(network)
    if outside is not None:
        nodes += tuple(NodeSpec(r.name, r.role, None, r.config, r.config) for r in outside.routers)
        links += tuple(
            LinkSpec(name, EndSpec(*a), EndSpec(*b), bandwidth_mbps=mbps) for name, a, b, mbps in outside.links
        )
        segments += tuple(SegmentSpec(name, internet.CORE, ifname, gw) for name, ifname, gw in outside.segments)
    seg_key = {(s.site, s.name): f"{s.device}:{s.interface}" for s in network.segments}
    endpoints = tuple(
        EndpointSpec(h.name, "host", seg_key[(h.site, h.segment)], h.address, h.gateway) for h in network.hosts
    ) + tuple(
        EndpointSpec(s.name, "server", seg_key[(s.site, s.segment)], s.address, s.gateway) for s in network.servers
    )
    if outside is not None:
        endpoints += tuple(
            EndpointSpec(name, "internet", f"{internet.CORE}:{ifname}", addr, _gateway(outside, ifname))
            for name, ifname, addr in outside.hosts
        )
    gateway = IPv4Interface(f"{network.mgmt_gateway}/{network.mgmt_prefix.prefixlen}")
    return LabSpec(
        name=network.name.lower(),
        prefix=prefix or str(getattr(network, "lab_prefix", PREFIX)),
        mgmt_gateway=gateway,
        nodes=nodes,
        links=links,
        segments=segments,
        endpoints=endpoints,
        network=network,
    )


def _gateway(outside: internet.Plan, ifname: str) -> IPv4Address:
    return next(gw.ip for _, seg_if, gw in outside.segments if seg_if == ifname)


def load_spec(inventory: Path, env: str = "lab") -> LabSpec:
    """Load the inventory (raises ``govnet.model.InventoryError``) and translate it."""
    from govnet.model import load_network

    return spec_from_network(load_network(inventory, env))
