"""Post-checks: after a commit, does the device show the model's facts of a healthy device?

The facts come from the one catalogue, ``govnet.model.health``: every interface up with its address, every OSPF
adjacency Full on its own link (two parallel links are two adjacencies: one dead twin fails the check), every
BGP session Established, and a route to every segment. A deploy keeps only the facts whose peer should already
run its intended config (``expected_peers``): a canary, or phase 1 before phase 2 exists, cannot have them yet.
For routes it checks that one is there; verify also checks its protocol and next hop. Checks are retried until
they pass or the convergence deadline passes; the last evidence is kept for the audit.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from govnet.model import health
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


Plan = tuple[health.Fact, ...]


def plan_for(network: Network, device: Device, expected_peers: Collection[str]) -> Plan:
    """The device's facts of health, limited to those depending on *expected_peers*."""
    return health.among(health.expectations(network, device.name), expected_peers)


def _of(plan: Plan, kind: type) -> list[Any]:
    return [f for f in plan if isinstance(f, kind)]


def evaluate(driver: Any, plan: Plan) -> list[Check]:
    """Read the device once and compare it with the plan.

    Drivers with ``get_state`` (napalm_frr) answer everything in one request, every planned route included;
    others (NAPALM ``ios``) through the standard getters, with a route lookup per prefix of ``one_per_holder``.
    """
    routes: list[health.Route] = _of(plan, health.Route)
    adjacencies: list[health.Adjacency] = _of(plan, health.Adjacency)
    sessions: list[health.Session] = _of(plan, health.Session)
    if hasattr(driver, "get_state"):
        state = driver.get_state(prefixes=[r.prefix for r in routes])
        checks = _interfaces(state["interfaces"], state["interfaces_ip"], _of(plan, health.Address))
        if adjacencies:
            checks += _ospf(_ospf_entries(state["ospf_neighbors"]), adjacencies)
        if sessions:
            checks += _bgp(state["bgp_neighbors"], sessions)
        table = state["routes"]
        checks += [Check("route", r.prefix, bool(table.get(r.prefix)), r.segment) for r in routes]
        return checks
    checks = _interfaces(driver.get_interfaces(), driver.get_interfaces_ip(), _of(plan, health.Address))
    if adjacencies:
        checks += _ospf(ospf_neighbors(driver), adjacencies)
    if sessions:
        checks += _bgp(driver.get_bgp_neighbors(), sessions)
    for route in one_per_holder(routes):
        found = driver.get_route_to(destination=route.prefix)
        checks.append(Check("route", route.prefix, bool(found.get(route.prefix)) if found else False, route.segment))
    return checks


def one_per_holder(routes: Sequence[health.Route]) -> list[health.Route]:
    """The routes a driver that looks routes up one command at a time (NAPALM ``ios``: a command per prefix and
    VRF) is asked for: the device's own segments, and the first segment of every other switch holding some. Every
    holder's announcement is still seen; the rest of its segments ride the same BGP session."""
    seen: set[str | None] = set()
    out = []
    for route in routes:
        if route.peer is None or route.peer not in seen:
            out.append(route)
            seen.add(route.peer)
    return out


def _interfaces(state: dict[str, Any], addresses: dict[str, Any], planned: Sequence[health.Address]) -> list[Check]:
    checks = []
    for fact in planned:
        name, want = fact.interface, fact.address
        info = state.get(name)
        have = addresses.get(name, {}).get("ipv4", {})
        has_address = str(want.ip) in have and have[str(want.ip)].get("prefix_length") == want.network.prefixlen
        if info is None:
            checks.append(Check("interface", name, False, "missing"))
            continue
        up = bool(info.get("is_up")) or not fact.up
        detail = ("up" if up else "down") + ("" if has_address else f", {want} not configured")
        checks.append(Check("interface", name, up and has_address, detail))
    return checks


def _ospf(found: dict[str, list[dict[str, Any]]], planned: Sequence[health.Adjacency]) -> list[Check]:
    """One check per planned adjacency: the neighbour's entry on that link (its address there) is Full."""
    checks = []
    for fact in planned:
        entries = found.get(fact.peer_id, [])
        entry = next((e for e in entries if e.get("address") == fact.peer_address), None)
        if entry is None:
            detail = "no adjacency" if not entries else f"no adjacency on this link (only via {_links(entries)})"
            checks.append(Check("ospf", fact.subject, False, detail))
        else:
            checks.append(Check("ospf", fact.subject, entry.get("state") == "Full", str(entry.get("state"))))
    return checks


def _links(entries: list[dict[str, Any]]) -> str:
    return ", ".join(str(e.get("interface") or e.get("address")) for e in entries)


def _bgp(found: dict[str, Any], planned: Sequence[health.Session]) -> list[Check]:
    peers = found.get("global", {}).get("peers", {})
    checks = []
    for fact in planned:
        peer = peers.get(fact.address)
        up = bool(peer and peer.get("is_up"))
        checks.append(Check("bgp", fact.subject, up, "Established" if up else "not established"))
    return checks


IOS_OSPF_LINE = re.compile(
    r"^(\d+\.\d+\.\d+\.\d+)\s+\d+\s+(\w+)(?:/\s*\S+)?\s+\S+\s+(\d+\.\d+\.\d+\.\d+)\s+(\S+)\s*$", re.M
)


def ospf_neighbors(driver: Any) -> dict[str, list[dict[str, Any]]]:
    """Neighbour router ID → its adjacencies (address on the link, interface, state ``Full``…), from the FRR
    getter or IOS ``show ip ospf neighbor``."""
    if hasattr(driver, "get_ospf_neighbors"):
        return _ospf_entries(driver.get_ospf_neighbors())
    text = driver.cli(["show ip ospf neighbor"])["show ip ospf neighbor"]
    found: dict[str, list[dict[str, Any]]] = {}
    for rid, state, address, interface in IOS_OSPF_LINE.findall(text):
        found.setdefault(rid, []).append({"address": address, "interface": interface, "state": state.capitalize()})
    return found


def _ospf_entries(per_vrf: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for vrf in per_vrf.values():
        for rid, entries in vrf.get("neighbors", {}).items():
            found.setdefault(rid, []).extend(entries)
    return found


def wait_checks(
    driver: Any, plan: Plan, deadline: float, interval: float = 0.25, clock: Callable[[], float] = time.monotonic
) -> list[Check]:
    """Evaluate until everything passes or *deadline* (monotonic) passes; the last evaluation."""
    while True:
        checks = evaluate(driver, plan)
        if all(c.ok for c in checks) or clock() >= deadline:
            return checks
        time.sleep(interval)
