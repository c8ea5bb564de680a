"""Routing-protocol hardening as the device runs it: a BFD session up under every planned OSPF adjacency, and OSPF
and BGP authentication configured on every planned link and session.

The planned adjacencies and sessions come from the model (`expected_neighbours`, `bgp_neighbors`, the Internet
edge's uplinks); the evidence from `show bfd peers json` and the running config. Evidence names interfaces and
peers, never a key.
"""

from __future__ import annotations

import json
import re
from typing import Any

from govnet.model.derived import Network
from govnet.verify.expect import expected_neighbours
from govnet.verify.result import Check

BFD_COMMAND = "show bfd peers json"


def planned_bfd(network: Network, name: str) -> list[tuple[str, str]]:
    """(interface, peer address) of every planned OSPF adjacency: each must have a BFD session up."""
    dev = network.devices[name]
    return sorted(end for ends in expected_neighbours(network, dev).values() for end in ends)


def bfd_check(network: Network, name: str, peers: list[dict[str, Any]]) -> Check:
    """One check: every planned OSPF adjacency's single-hop BFD session is up."""
    up = {(p.get("interface"), p.get("peer")) for p in peers if p.get("status") == "up" and not p.get("multihop")}
    missing = [f"{ifn} {addr}" for ifn, addr in planned_bfd(network, name) if (ifn, addr) not in up]
    planned = len(planned_bfd(network, name))
    detail = f"not up: {', '.join(missing)}" if missing else f"{planned} session(s) up"
    return Check("control-plane", f"{name}: BFD under every OSPF adjacency", not missing, detail)


def _sections(running: str) -> dict[str, list[str]]:
    """Top-level config lines → their indented children."""
    out: dict[str, list[str]] = {}
    current: list[str] = []
    for line in running.splitlines():
        if line and not line[0].isspace():
            current = out.setdefault(line.strip(), [])
        elif line.strip():
            current.append(line.strip())
    return out


def auth_check(network: Network, name: str, running: str) -> Check:
    """One check: MD5 authentication on every planned OSPF link and a password on every planned BGP session."""
    dev = network.devices[name]
    sections = _sections(running)
    problems = []
    for ifn, _addr in planned_bfd(network, name):
        lines = sections.get(f"interface {ifn}", [])
        if "ip ospf authentication message-digest" not in lines or not any(
            re.match(r"ip ospf message-digest-key \d+ md5 \S", x) for x in lines
        ):
            problems.append(f"OSPF {ifn}")
    bgp = next((v for k, v in sections.items() if k.startswith("router bgp ")), [])
    peers = [str(n.address) for n in dev.bgp_neighbors]
    if network.internet:
        peers += [str(u.peer) for u in network.internet.uplinks_of(name)]
    for peer in peers:
        if not any(re.match(rf"neighbor {re.escape(peer)} password \S", x) for x in bgp):
            problems.append(f"BGP {peer}")
    total = len(planned_bfd(network, name)) + len(peers)
    detail = f"no authentication: {', '.join(problems)}" if problems else f"{total} adjacency(ies) authenticated"
    return Check("control-plane", f"{name}: OSPF and BGP authentication", not problems, detail)


def hardening_checks(network: Network, name: str, driver: Any) -> list[Check]:
    """Both checks from one device's open NAPALM session (FRR: `show bfd peers json` and the running config)."""
    peers = json.loads(driver.cli([BFD_COMMAND])[BFD_COMMAND] or "[]")
    checks = [bfd_check(network, name, peers if isinstance(peers, list) else [])]
    if network.routing_auth:  # a lab that turned authentication off has none to check
        checks.append(auth_check(network, name, driver.get_config(retrieve="running")["running"]))
    return checks
