"""Formatting helpers for the cisco_ios templates: values printed the way IOS-XE prints them back.

IOS rewrites what it is given (`eq 53` becomes `eq domain`); rendering its own form keeps a replace and a drift
check free of noise.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network

from govnet import stateless
from govnet.model.derived import Interface, Network, Segment

# Port numbers IOS-XE 17 shows by name in `show running-config`, per protocol.
TCP_NAMES = {22: "22", 23: "telnet", 25: "smtp", 49: "tacacs", 53: "domain", 80: "www", 443: "443", 514: "cmd"}
UDP_NAMES = {53: "domain", 67: "bootps", 69: "tftp", 123: "ntp", 161: "snmp", 162: "snmptrap", 514: "syslog"}


def ios_port(port: int, proto: str) -> str:
    """The name IOS shows for *port* of *proto* (the number where it has none)."""
    names = TCP_NAMES if proto == "tcp" else UDP_NAMES if proto == "udp" else {}
    return names.get(port, str(port))


def ios_portop(op: stateless.PortOp | None, proto: str) -> str:
    """A port match as IOS prints it after an address (" eq domain", " gt 1023"), or nothing."""
    return f" {op[0]} {ios_port(op[1], proto)}" if op else ""


def acl_action(action: str) -> str:
    """IOS pads `deny` to the width of `permit` in extended ACL entries (`deny   ip any any`)."""
    return "permit" if action == "allow" else "deny  "


def acl_zones(segments: Iterable[Interface], network: Network, site: str) -> list[str]:
    """Zones the device's segment ACLs name: policy destinations and the zones their replies go back to."""
    zones: set[str] = set()
    for iface in segments:
        if iface.segment:
            seg = network.segment(site, iface.segment)
            zones |= {e.dst_zone for e in seg.policy} | set(stateless.return_zones(seg, network))
    return sorted(zones)


def acl_returns(seg: Segment, network: Network) -> list[stateless.ReturnEntry]:
    return stateless.return_entries(seg, network)


def acl_device_entries(seg: Segment, network: Network) -> list[stateless.ReturnEntry]:
    return stateless.device_entries(seg, network)


def device_prefixes(network: Network) -> list[IPv4Network]:
    """The network devices' own addresses as the ACLs see them: every device sources its NTP, DNS, TACACS+ and
    syslog from its loopback, and is managed there."""
    return [network.pools["loopback"]]


def _edge_filters() -> dict[str, object]:
    from govnet import edge

    return {
        "edge_bogons": edge.bogons,
        "edge_outbound": edge.outbound,
        "edge_outbound_sources": edge.outbound_sources,
    }


FILTERS = {
    **_edge_filters(),
    "ios_port": ios_port,
    "ios_portop": ios_portop,
    "acl_action": acl_action,
    "acl_zones": acl_zones,
    "acl_returns": acl_returns,
    "acl_device_entries": acl_device_entries,
    "device_prefixes": device_prefixes,
}
