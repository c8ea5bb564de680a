"""Post-checks: after a commit, does the device do what the model plans for it?

* every planned interface (links, segments, loopback, management) is up with its planned address;
* every planned OSPF adjacency (a p2p OSPF interface towards a peer) is Full;
* every planned BGP session is Established;
* routes to the DC segments are in the routing table.

Adjacencies are only expected towards peers that should already run their intended config
(``expected_peers``): a canary, or phase 1 before phase 2 exists, cannot have them yet. Checks are
retried until they pass or the convergence deadline passes; the last evidence is kept for the audit.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from ipaddress import IPv4Interface
from typing import Any

from govnet.model.derived import Device, Network


@dataclass(frozen=True)
class Check:
    """One planned fact and whether the device shows it."""

    kind: str  # interface / ospf / bgp / route
    subject: str
    ok: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    """What to look for on one device."""

    interfaces: dict[str, IPv4Interface]  # name → planned address
    ospf: dict[str, str]  # neighbour router ID → neighbour name
    bgp: dict[str, str]  # peer address → peer name
    routes: dict[str, str]  # prefix → what it is


def plan_for(network: Network, device: Device, expected_peers: Collection[str]) -> Plan:
    """The facts the model plans for *device*, limited to adjacencies with *expected_peers*."""
    interfaces = {i.name: i.address for i in device.interfaces}
    interfaces[device.loopback_interface] = device.loopback
    interfaces[device.mgmt_interface] = device.mgmt
    ospf = {
        str(network.devices[i.peer].router_id): i.peer
        for i in device.p2p
        if i.ospf_cost is not None and i.peer in network.devices and i.peer in expected_peers
    }
    bgp = {str(n.address): n.name for n in device.bgp_neighbors if n.name in expected_peers}
    dc = [s for s in network.segments if network.sites[s.site].kind == "datacentre"]
    routes = {
        str(s.prefix): f"DC segment {s.name}" for s in dc if s.device == device.name or s.device in expected_peers
    }
    return Plan(interfaces, ospf, bgp, routes)


def evaluate(driver: Any, plan: Plan) -> list[Check]:
    """Read the device once and compare it with the plan.

    Drivers with ``get_state`` (napalm_frr) answer everything in one request; others (NAPALM ``ios``)
    through the standard getters, a route lookup per planned prefix.
    """
    if hasattr(driver, "get_state"):
        state = driver.get_state(prefixes=list(plan.routes))
        checks = _interfaces(state["interfaces"], state["interfaces_ip"], plan)
        if plan.ospf:
            checks += _ospf(_ospf_states(state["ospf_neighbors"]), plan)
        if plan.bgp:
            checks += _bgp(state["bgp_neighbors"], plan)
        routes = state["routes"]
        checks += [Check("route", p, bool(routes.get(p)), what) for p, what in plan.routes.items()]
        return checks
    checks = _interfaces(driver.get_interfaces(), driver.get_interfaces_ip(), plan)
    if plan.ospf:
        checks += _ospf(ospf_neighbors(driver), plan)
    if plan.bgp:
        checks += _bgp(driver.get_bgp_neighbors(), plan)
    for prefix, what in plan.routes.items():
        found = driver.get_route_to(destination=prefix)
        checks.append(Check("route", prefix, bool(found.get(prefix)) if found else False, what))
    return checks


def _interfaces(state: dict[str, Any], addresses: dict[str, Any], plan: Plan) -> list[Check]:
    checks = []
    for name, planned in plan.interfaces.items():
        info = state.get(name)
        have = addresses.get(name, {}).get("ipv4", {})
        has_address = (
            str(planned.ip) in have and have[str(planned.ip)].get("prefix_length") == planned.network.prefixlen
        )
        if info is None:
            checks.append(Check("interface", name, False, "missing"))
            continue
        up = bool(info.get("is_up")) or name == "lo"
        detail = ("up" if up else "down") + ("" if has_address else f", {planned} not configured")
        checks.append(Check("interface", name, up and has_address, detail))
    return checks


def _ospf(found: dict[str, str], plan: Plan) -> list[Check]:
    return [
        Check("ospf", f"{name} ({rid})", found.get(rid) == "Full", found.get(rid, "no adjacency"))
        for rid, name in plan.ospf.items()
    ]


def _bgp(found: dict[str, Any], plan: Plan) -> list[Check]:
    peers = found.get("global", {}).get("peers", {})
    checks = []
    for address, name in plan.bgp.items():
        peer = peers.get(address)
        up = bool(peer and peer.get("is_up"))
        checks.append(Check("bgp", f"{name} ({address})", up, "Established" if up else "not established"))
    return checks


IOS_OSPF_LINE = re.compile(r"^(\d+\.\d+\.\d+\.\d+)\s+\d+\s+(\w+)(?:/\s*\S+)?\s", re.M)


def ospf_neighbors(driver: Any) -> dict[str, str]:
    """Neighbour router ID → state (``Full``…), from the FRR getter or IOS ``show ip ospf neighbor``."""
    if hasattr(driver, "get_ospf_neighbors"):
        return _ospf_states(driver.get_ospf_neighbors())
    text = driver.cli(["show ip ospf neighbor"])["show ip ospf neighbor"]
    return {rid: state.capitalize() for rid, state in IOS_OSPF_LINE.findall(text)}


def _ospf_states(per_vrf: dict[str, Any]) -> dict[str, str]:
    states: dict[str, str] = {}
    for vrf in per_vrf.values():
        for rid, entries in vrf.get("neighbors", {}).items():
            states[rid] = "Full" if any(e.get("state") == "Full" for e in entries) else entries[0]["state"]
    return states


def wait_checks(
    driver: Any, plan: Plan, deadline: float, interval: float = 0.25, clock: Callable[[], float] = time.monotonic
) -> list[Check]:
    """Evaluate until everything passes or *deadline* (monotonic) passes; the last evaluation."""
    while True:
        checks = evaluate(driver, plan)
        if all(c.ok for c in checks) or clock() >= deadline:
            return checks
        time.sleep(interval)
