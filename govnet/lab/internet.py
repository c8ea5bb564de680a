"""The emulated Internet of a lab whose inventory has an Internet edge: one FRR router per ISP (its own AS, the
eBGP session and BFD towards our edge over the uplink), an Internet core router behind both ISPs, a citizen host
and an upstream host (the public NTP and DNS the DC infrastructure may reach).

None of it is the governorate's: these routers have no management port (a citizen must not reach the lab's
management network through them), no sshd and no on-box agent; govnet never deploys to them. Every address comes
from the lab's ``internet`` pool, after the public prefix and the uplinks the inventory sets there:

- the first free /24: the ISP–core links (/31 each);
- the next: the citizens' segment on the core (the gateway first, the citizen at .10);
- the next: the upstream segment (the upstream host at .123).

The ISPs send our edges a default route (``default-originate``) beside the Internet's own routes (the edge's
prefix list must drop those) and carry the public prefix to the core; ``advertisement-interval 0`` everywhere, so a
withdrawn route travels at once (the failover drill measures it). The Internet is hostile: the ISPs and the core
route every inside block of the governorate at our edge (``inside``), so an attacker's probe of an inside address
reaches the edge, and the edge's filter is what the exposure matrix tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv4Network
from typing import Any

from govnet.model.checks import LAB_INTERNET_BLOCKS, LAB_INTERNET_CORE

#: The Internet core's AS (RFC 5398 documentation range, beside the ISPs' own).
CORE_ASN = 64510
CORE = LAB_INTERNET_CORE  # the model refuses an ISP of this name
CITIZEN = "citizen"
UPSTREAM = "upstream"
#: Roles of the emulated Internet's nodes and endpoints, as the lab state records them.
ISP_ROLE = "isp"
CORE_ROLE = "internet-core"


@dataclass(frozen=True)
class Router:
    name: str
    role: str
    asn: int
    config: str


@dataclass(frozen=True)
class Plan:
    """Everything the lab builds for the Internet side: routers, links (node, interface, address per end), the
    core's segments and the hosts on them."""

    routers: tuple[Router, ...]
    links: tuple[tuple[str, tuple[str, str, IPv4Interface], tuple[str, str, IPv4Interface], int | None], ...]
    segments: tuple[tuple[str, str, IPv4Interface], ...]  # (name, interface on the core, gateway)
    hosts: tuple[tuple[str, str, IPv4Interface], ...]  # (name, segment interface, address)


def _free_blocks(network: Any, count: int) -> list[IPv4Network]:
    pool: IPv4Network = network.pools["internet"]
    edge = network.internet
    used = [edge.public_prefix] + [u.address.network for u in edge.uplinks]
    out = []
    for block in pool.subnets(new_prefix=24):
        if not any(block.overlaps(u) for u in used):
            out.append(block)
        if len(out) == count:
            return out
    raise ValueError(f"the lab's internet pool {pool} has no {count} free /24 blocks for the emulated Internet")


def plan(network: Any) -> Plan | None:
    """The emulated Internet of ``network`` (a lab environment with an Internet edge), or None without one."""
    edge = getattr(network, "internet", None)
    if edge is None or "internet" not in network.pools:
        return None
    core_links, citizens, upstream = _free_blocks(network, LAB_INTERNET_BLOCKS)  # the model checked there is room
    links = []
    isp_ends = []
    for i, up in enumerate(edge.uplinks):
        p2p = list(core_links.subnets(new_prefix=31))[i]
        isp_side = IPv4Interface(f"{p2p.network_address}/31")
        core_side = IPv4Interface(f"{p2p.network_address + 1}/31")
        links.append(
            (
                f"internet/{up.isp}",
                (up.device, up.interface, up.address),
                (up.isp, "eth0", IPv4Interface(f"{up.peer}/{up.address.network.prefixlen}")),
                up.bandwidth_mbps or None,
            )
        )
        links.append((f"internet/{up.isp}-{CORE}", (up.isp, "eth1", isp_side), (CORE, f"eth{i}", core_side), None))
        isp_ends.append((up, isp_side, core_side))
    cit_gw = IPv4Interface(f"{citizens.network_address + 1}/24")
    up_gw = IPv4Interface(f"{upstream.network_address + 1}/24")
    segments = (("internet/citizens", "citizens", cit_gw), ("internet/upstream", "upstream", up_gw))
    hosts = (
        (CITIZEN, "citizens", IPv4Interface(f"{citizens.network_address + 10}/24")),
        (UPSTREAM, "upstream", IPv4Interface(f"{upstream.network_address + 123}/24")),
    )
    routers = [
        Router(up.isp, ISP_ROLE, up.asn, _isp_config(network, up, isp_side, core_side))
        for up, isp_side, core_side in isp_ends
    ]
    routers.append(Router(CORE, CORE_ROLE, CORE_ASN, _core_config(isp_ends, (citizens, upstream), inside(network))))
    return Plan(tuple(routers), tuple(links), segments, hosts)


def inside(network: Any) -> list[IPv4Network]:
    """The governorate's own blocks (every pool but the Internet's): a hostile Internet routes them all at our
    edge, so that what keeps a citizen out of them is the edge's filter, not the Internet's lack of a route."""
    return sorted(p for k, p in network.pools.items() if k != "internet" and ":" not in k)


def _head(name: str, asn: int) -> list[str]:
    return [
        "frr version 8.4",
        "frr defaults traditional",
        f"hostname {name}",
        "log syslog informational",
        "service integrated-vtysh-config",
        "!",
        f"! {name}: emulated Internet (AS {asn}), built by `govnet lab up`; not a governorate device",
        "!",
    ]


def _isp_key(network: Any, up: Any) -> str:
    """The session's TCP-MD5 password, as the edge's deploy gets it (GOVNET_BGP_KEY_<ISP>, else the lab default)."""
    from govnet.render import secrets_from_env

    return secrets_from_env(network=network)[up.key]


def _isp_config(network: Any, up: Any, isp_side: IPv4Interface, core_side: IPv4Interface) -> str:
    edge = network.internet
    ours = up.address.ip
    lines = _head(up.isp, up.asn)
    lines += [
        "interface eth0",
        f" description {network.name} {up.device} {up.logical} (customer AS {network.asn})",
        f" ip address {up.peer}/{up.address.network.prefixlen}",
        "exit",
        "interface eth1",
        f" description Internet core {CORE} (AS {CORE_ASN})",
        f" ip address {isp_side}",
        "exit",
        "!",
        f"ip prefix-list CUSTOMER seq 5 permit {edge.public_prefix}",
        "!",
        *(f"ip route {net} {ours}" for net in inside(network)),
        "!",
        f"router bgp {up.asn}",
        f" bgp router-id {isp_side.ip}",
        " no bgp ebgp-requires-policy",
        " no bgp default ipv4-unicast",
        " bgp log-neighbor-changes",
        f" neighbor {ours} remote-as {network.asn}",
        f" neighbor {ours} description {network.name} {up.device}",
        f" neighbor {ours} timers {edge.keepalive} {edge.hold}",
        f" neighbor {ours} timers connect 1",
    ]
    if network.routing_auth:  # the ISP's side of the session's TCP-MD5 password
        lines.append(f" neighbor {ours} password {_isp_key(network, up)}")
    if "gtsm" in network.features:  # the ISP agrees to GTSM as the edge renders it: one hop, TTL 255
        lines.append(f" neighbor {ours} ttl-security hops 1")
    if edge.bfd:
        lines.append(f" neighbor {ours} bfd")
    lines += [
        f" neighbor {core_side.ip} remote-as {CORE_ASN}",
        f" neighbor {core_side.ip} description {CORE}",
        f" neighbor {core_side.ip} timers connect 1",
        " address-family ipv4 unicast",
        f"  neighbor {ours} activate",
        f"  neighbor {ours} default-originate",
        f"  neighbor {ours} prefix-list CUSTOMER in",
        f"  neighbor {ours} advertisement-interval 0",
        f"  neighbor {core_side.ip} activate",
        f"  neighbor {core_side.ip} advertisement-interval 0",
        " exit-address-family",
        "exit",
        "!",
        "end",
        "",
    ]
    return "\n".join(lines)


def _core_config(
    isp_ends: list[tuple[Any, IPv4Interface, IPv4Interface]],
    nets: tuple[IPv4Network, ...],
    inside_nets: list[IPv4Network],
) -> str:
    lines = _head(CORE, CORE_ASN)
    for i, (up, _, core_side) in enumerate(isp_ends):
        lines += [f"interface eth{i}", f" description {up.isp} (AS {up.asn})", f" ip address {core_side}", "exit"]
    lines.append("!")
    for net in inside_nets:
        lines += [f"ip route {net} {isp_side.ip}" for _, isp_side, _ in isp_ends]
    lines += ["!", f"router bgp {CORE_ASN}", f" bgp router-id {isp_ends[0][2].ip}", " no bgp ebgp-requires-policy"]
    lines += [" no bgp default ipv4-unicast", " bgp log-neighbor-changes"]
    for up, isp_side, _ in isp_ends:
        lines += [
            f" neighbor {isp_side.ip} remote-as {up.asn}",
            f" neighbor {isp_side.ip} description {up.isp}",
            f" neighbor {isp_side.ip} timers connect 1",
        ]
    lines.append(" address-family ipv4 unicast")
    lines += [f"  network {net}" for net in nets]
    for _, isp_side, _ in isp_ends:
        lines += [f"  neighbor {isp_side.ip} activate", f"  neighbor {isp_side.ip} advertisement-interval 0"]
    lines += [" exit-address-family", "exit", "!", "end", ""]
    return "\n".join(lines)
