"""A synthetic topology of N FRR routers, so the lab engine can be measured and tested at scale.

Ring of N routers plus chords every 8 routers (a sparse mesh), OSPF point-to-point with hello 1 /
dead 4, iBGP from every router to a route reflector (router 1), one LAN behind each router with
one host.  Addresses come only from 198.18.0.0/15:

- loopbacks      198.18.0.0/20   (router i → .i)
- p2p links /31  198.18.16.0/20
- LANs /29       198.18.64.0/18  (gateway .1, host .2)
- management     198.18.240.0/20 by default (gateway .1) — not 198.19/16, so it runs beside Karbala
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from govnet.lab.topology import EndpointSpec, EndSpec, LabSpec, LinkSpec, NodeSpec, SegmentSpec

LOOPBACKS = IPv4Network("198.18.0.0/20")
P2P = IPv4Network("198.18.16.0/20")
LANS = IPv4Network("198.18.64.0/18")
MGMT = IPv4Network("198.18.240.0/20")
ASN = 65000
LAN_IF = "lan0"
#: Defaults hold a new router LSA back 5 s after the previous one and ignore LSAs arriving within
#: 1 s; with every router booting at once that, and the 5 s retransmit interval (set per interface
#: below), delayed routes by ~10 s after adjacencies were Full.
LAB_OSPF_TIMERS = (" timers throttle lsa all 100", " timers lsa min-arrival 0", " timers throttle spf 0 50 1000")


def synthetic_spec(count: int, *, prefix: str = "gvx", names: str = "syn", mgmt: IPv4Network = MGMT) -> LabSpec:
    """Build the spec of ``count`` routers; ``names`` prefixes device names (= FRR instance names).

    Labs that run at the same time need different ``prefix``, ``names`` and ``mgmt`` ranges (the
    management bridge of each sits in the root namespace).
    """
    if not mgmt.subnet_of(IPv4Network("198.18.128.0/17")) or mgmt.num_addresses < count + 16:
        raise ValueError(f"synthetic lab: management range {mgmt} must be inside 198.18.128.0/17 and fit {count}")
    if not 2 <= count <= 1000:
        raise ValueError(f"synthetic lab: router count {count} must be between 2 and 1000")
    routers = [f"{names}-r{i:02d}" for i in range(1, count + 1)]
    pairs = [(i, (i + 1) % count) for i in range(count if count > 2 else 1)]
    if count >= 16:
        pairs += [(i, (i + count // 2) % count) for i in range(0, count // 2, 8)]
    next_if = dict.fromkeys(range(count), 1)
    links: list[LinkSpec] = []
    for k, (i, j) in enumerate(pairs):
        base = P2P.network_address + 2 * k
        a = EndSpec(routers[i], f"eth{next_if[i]}", IPv4Interface(f"{base}/31"))
        b = EndSpec(routers[j], f"eth{next_if[j]}", IPv4Interface(f"{base + 1}/31"))
        next_if[i] += 1
        next_if[j] += 1
        links.append(LinkSpec(f"{routers[i]}--{routers[j]}", a, b, 1000))
    segments, endpoints, nodes = [], [], []
    for i, name in enumerate(routers):
        lan = IPv4Network(f"{LANS.network_address + 8 * i}/29")
        gw = IPv4Interface(f"{lan.network_address + 1}/29")
        seg = SegmentSpec(f"{name}-lan", name, LAN_IF, gw)
        segments.append(seg)
        host = f"{names}-h{i + 1:02d}"
        endpoints.append(EndpointSpec(host, "host", seg.key, IPv4Interface(f"{lan.network_address + 2}/29"), gw.ip))
        mine = [lk for lk in links if name in (lk.a.node, lk.b.node)]
        boot = _bootstrap(name, i, mine, gw)
        full = boot + _routing(name, i, mine, routers)
        nodes.append(
            NodeSpec(name, "core", IPv4Interface(f"{mgmt.network_address + 10 + i}/{mgmt.prefixlen}"), boot, full)
        )
    return LabSpec(
        name=f"synthetic-{count}",
        prefix=prefix,
        mgmt_gateway=IPv4Interface(f"{mgmt.network_address + 1}/{mgmt.prefixlen}"),
        nodes=tuple(nodes),
        links=tuple(links),
        segments=tuple(segments),
        endpoints=tuple(endpoints),
    )


def loopback(index: int) -> IPv4Address:
    """Loopback of router ``index`` (0-based)."""
    return LOOPBACKS.network_address + index + 1


def _ends(name: str, links: list[LinkSpec]) -> list[EndSpec]:
    """This router's side of each of its links."""
    return [lk.a if lk.a.node == name else lk.b for lk in links]


def _bootstrap(name: str, index: int, links: list[LinkSpec], gw: IPv4Interface) -> str:
    """Hostname, forwarding, addresses: what a device boots with before the real config arrives."""
    lines = ["frr defaults traditional", f"hostname {name}", "ip forwarding", "!"]
    lines += ["interface lo", f" ip address {loopback(index)}/32", "exit", "!"]
    for end in _ends(name, links):
        lines += [f"interface {end.interface}", f" ip address {end.address}", "exit", "!"]
    lines += [f"interface {LAN_IF}", f" ip address {gw}", "exit", "!"]
    return "\n".join(lines) + "\n"


def _routing(name: str, index: int, links: list[LinkSpec], routers: list[str]) -> str:
    """OSPF (fast p2p timers) and iBGP to the route reflector, router 1."""
    rid = loopback(index)
    lines = ["interface lo", " ip ospf area 0", "exit", "!"]
    for end in _ends(name, links):
        lines += [
            f"interface {end.interface}",
            " ip ospf area 0",
            " ip ospf network point-to-point",
            " ip ospf hello-interval 1",
            " ip ospf dead-interval 4",
            " ip ospf retransmit-interval 1",
            "exit",
            "!",
        ]
    lines += [f"interface {LAN_IF}", " ip ospf area 0", " ip ospf passive", "exit", "!"]
    lines += ["router ospf", f" ospf router-id {rid}", *LAB_OSPF_TIMERS, "exit", "!"]
    lines += [f"router bgp {ASN}", f" bgp router-id {rid}", " no bgp ebgp-requires-policy"]
    if index == 0:
        lines += [
            " neighbor CLIENTS peer-group",
            f" neighbor CLIENTS remote-as {ASN}",
            " neighbor CLIENTS update-source lo",
            " neighbor CLIENTS timers connect 2",
            f" bgp listen range {LOOPBACKS} peer-group CLIENTS",
            f" bgp listen limit {max(100, len(routers))}",
            " address-family ipv4 unicast",
            "  neighbor CLIENTS route-reflector-client",
        ]
    else:
        rr = loopback(0)
        lines += [
            f" neighbor {rr} remote-as {ASN}",
            f" neighbor {rr} update-source lo",
            f" neighbor {rr} timers connect 2",
            " address-family ipv4 unicast",
        ]
    lan = IPv4Network(f"{LANS.network_address + 8 * index}/29")
    lines += [f"  network {lan}", " exit-address-family", "exit", "!"]
    return "\n".join(lines) + "\n"
