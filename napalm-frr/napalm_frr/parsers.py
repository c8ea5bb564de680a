"""Turn FRR's output (mostly ``show ... json``) into NAPALM's model shapes.

Pure functions, one per getter or sub-part, so they are tested from recorded output without a
device. FRR's JSON is preferred to screen-scraping: it is stable across minor releases and needs
no regular expressions beyond ``show version`` and ``ping``.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from napalm.base import helpers, models

VENDOR = "FRRouting"
MODEL = "FRR"
#: BGP address families NAPALM knows, by FRR's JSON key.
BGP_AFI = {"ipv4Unicast": "ipv4", "ipv6Unicast": "ipv6"}
#: OSPF states in which a neighbour is a working adjacency (2-Way is final between DROthers).
OSPF_UP_STATES = ("Full", "2-Way")
UPTIME_PART = re.compile(r"(\d+)([wdhms])")
UPTIME_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


class ParseError(ValueError):
    """The device answered something this driver cannot read."""


def loads(text: str, command: str) -> Any:
    """Parse a ``... json`` reply; an empty reply (feature not configured) is an empty dict."""
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except ValueError as exc:
        first = text.strip().splitlines()[0][:120]
        raise ParseError(f"{command!r} did not return JSON: {first}") from exc


def documents(text: str) -> list[Any]:
    """The JSON documents of several ``... json`` replies printed one after the other."""
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    index, end = 0, len(text)
    while True:
        while index < end and text[index].isspace():
            index += 1
        if index >= end:
            return docs
        try:
            doc, index = decoder.raw_decode(text, index)
        except ValueError as exc:
            first = text[index:].strip().splitlines()[0][:120]
            raise ParseError(f"not JSON: {first}") from exc
        docs.append(doc)


def vrf_name(name: str) -> str:
    """NAPALM calls the default VRF "global"."""
    return "global" if name == "default" else name


# --------------------------------------------------------------------------- facts, interfaces


def version(show_version: str) -> tuple[str, str]:
    """(os_version, hostname) from ``FRRouting 8.4.4 (r1) on Linux(6.1.0).``"""
    match = re.search(r"FRRouting (\S+) \(([^)]*)\)", show_version)
    if not match:
        raise ParseError(f"unexpected 'show version' output: {show_version.strip()[:120]}")
    return match.group(1), match.group(2)


def facts(show_version: str, interfaces: dict[str, Any], box_facts: dict[str, Any]) -> models.FactsDict:
    """NAPALM facts: FRR has no serial number; uptime is how long the instance's zebra has run."""
    os_version, hostname = version(show_version)
    return {
        "uptime": float(box_facts.get("uptime", -1.0)),
        "vendor": VENDOR,
        "os_version": os_version,
        "serial_number": "",
        "model": MODEL,
        "hostname": hostname,
        "fqdn": hostname,
        "interface_list": sorted(interfaces),
    }


def interface(data: dict[str, Any]) -> models.InterfaceDict:
    """One interface from ``show interface json``; FRR's speed is already in Mbit/s."""
    mac = data.get("hardwareAddress", "")
    return {
        "is_up": data.get("operationalStatus") == "up",
        "is_enabled": data.get("administrativeStatus") == "up",
        "description": data.get("description", ""),
        "last_flapped": -1.0,
        "mtu": int(data.get("mtu", 0)),
        "speed": float(data.get("speed", 0)),
        "mac_address": helpers.mac(mac) if mac else "",
    }


def interfaces(show_interface: dict[str, Any]) -> dict[str, models.InterfaceDict]:
    """All interfaces FRR's zebra sees."""
    return {name: interface(data) for name, data in show_interface.items()}


def interfaces_ip(show_interface: dict[str, Any]) -> dict[str, models.InterfacesIPDict]:
    """Addresses per interface and family, link-local IPv6 included (as NAPALM's ios does)."""
    result: dict[str, Any] = {}
    for name, data in show_interface.items():
        for entry in data.get("ipAddresses", []):
            iface = ipaddress.ip_interface(entry["address"])
            family = f"ipv{iface.version}"
            result.setdefault(name, {}).setdefault(family, {})[str(iface.ip)] = {
                "prefix_length": iface.network.prefixlen
            }
    return result


# --------------------------------------------------------------------------- BGP


def bgp_neighbors(show_neighbors: dict[str, Any]) -> dict[str, models.BGPStateNeighborsPerVRFDict]:
    """``show bgp vrf all neighbors json`` → NAPALM's per-VRF peer table."""
    result: dict[str, Any] = {}
    for vrf, data in show_neighbors.items():
        peers = {addr: peer for addr, peer in data.items() if isinstance(peer, dict)}
        router_id = next((p.get("localRouterId", "") for p in peers.values()), "")
        result[vrf_name(vrf)] = {"router_id": router_id, "peers": {a: bgp_peer(p) for a, p in peers.items()}}
    return result


def bgp_peer(peer: dict[str, Any]) -> models.PeerDict:
    """One peer. A peer that is not Established reports uptime -1 (FRR keeps no down-timer)."""
    established = peer.get("bgpState") == "Established"
    return {
        "local_as": _as_number(peer.get("localAs")),
        "remote_as": _as_number(peer.get("remoteAs")),
        "remote_id": peer.get("remoteRouterId", ""),
        "is_up": established,
        "is_enabled": not peer.get("adminShutDown", False),
        "description": peer.get("nbrDesc", ""),
        "uptime": int(peer.get("bgpTimerUpMsec", 0) // 1000) if established else -1,
        "address_family": bgp_families(peer.get("addressFamilyInfo", {})),
    }


def bgp_families(af_info: dict[str, Any]) -> dict[str, models.AFDict]:
    """Prefix counters per family. FRR counts received prefixes after inbound policy only."""
    families: dict[str, Any] = {}
    for key, data in af_info.items():
        if key in BGP_AFI:
            accepted = int(data.get("acceptedPrefixCounter", 0))
            families[BGP_AFI[key]] = {
                "received_prefixes": accepted,
                "accepted_prefixes": accepted,
                "sent_prefixes": int(data.get("sentPrefixCounter", 0)),
            }
    return families


def _as_number(value: Any) -> int:
    """FRR prints ``"external"``/``"internal"`` for unnumbered peers before they come up."""
    return int(value) if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else -1


# --------------------------------------------------------------------------- OSPF


def ospf_neighbors(show_ospf: dict[str, Any], show_detail: dict[str, Any]) -> dict[str, Any]:
    """Our own OSPF getter (documented in docs/napalm_frr.md); keyed like get_bgp_neighbors."""
    result: dict[str, Any] = {}
    for vrf, data in show_detail.items():
        neighbors: dict[str, list[dict[str, Any]]] = {}
        for router_id, adjacencies in data.get("neighbors", {}).items():
            neighbors[router_id] = [ospf_adjacency(adj) for adj in adjacencies]
        router = show_ospf.get(vrf, {}).get("routerId", "")
        result[vrf_name(vrf)] = {"router_id": router, "neighbors": neighbors}
    return result


def ospf_adjacency(adj: dict[str, Any]) -> dict[str, Any]:
    """One adjacency: state without FRR's "/DR" role suffix, which goes to ``role``."""
    state, _, role = adj.get("nbrState", "").partition("/")
    return {
        "address": adj.get("ifaceAddress", ""),
        "interface": adj.get("ifaceName", ""),
        "area": adj.get("areaId", ""),
        "state": state,
        "role": role if role not in ("", "-") else "",
        "priority": int(adj.get("nbrPriority", 0)),
        "is_up": state in OSPF_UP_STATES,
        "uptime": round(adj.get("lastPrgrsvChangeMsec", 0) / 1000.0, 3),
        "dead_time": round(adj.get("routerDeadIntervalTimerDueMsec", 0) / 1000.0, 3),
    }


# --------------------------------------------------------------------------- routes


def age_seconds(uptime: str) -> int:
    """FRR route ages: ``00:03:19``, ``1d02h03m``, ``01w2d03h``."""
    if ":" in uptime:
        hours, minutes, seconds = (int(x) for x in uptime.split(":"))
        return hours * 3600 + minutes * 60 + seconds
    return sum(int(n) * UPTIME_UNITS[unit] for n, unit in UPTIME_PART.findall(uptime))


def routes(show_route: dict[str, Any], protocol: str, bgp_attrs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``show ip route ... json`` → {prefix: [RouteDict per next hop]}, optionally one protocol only."""
    result: dict[str, list[models.RouteDict]] = {}
    for prefix, entries in show_route.items():
        for entry in entries:
            if protocol and entry.get("protocol") != protocol:
                continue
            for hop in route_next_hops(entry.get("nexthops", [])):
                result.setdefault(prefix, []).append(route_entry(entry, hop, bgp_attrs))
    return result


def route_next_hops(nexthops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Protocol next hops, each carrying the interface of the hop that resolves it (recursive BGP)."""
    hops: list[dict[str, Any]] = []
    for hop in nexthops:
        if hop.get("resolver") and hops:
            hops[-1].setdefault("interfaceName", hop.get("interfaceName", ""))
        else:
            hops.append(dict(hop))
    return hops


def route_entry(entry: dict[str, Any], hop: dict[str, Any], bgp_attrs: dict[str, dict[str, Any]]) -> Any:
    """One RouteDict. BGP routes get their path attributes from ``show bgp ... json``."""
    selected = bool(entry.get("selected", False))
    next_hop = hop.get("ip", "")
    attributes: dict[str, Any] = {}
    if entry.get("protocol") == "bgp":
        attributes = bgp_attrs.get(next_hop, {})
    elif "metric" in entry:
        attributes = {"metric": int(entry["metric"])}
    return {
        "protocol": entry.get("protocol", ""),
        "current_active": selected,
        "last_active": selected,
        "age": age_seconds(entry.get("uptime", "0")),
        "next_hop": next_hop,
        "outgoing_interface": hop.get("interfaceName", ""),
        "selected_next_hop": bool(hop.get("fib", hop.get("active", False))) and selected,
        "preference": int(entry.get("distance", 0)),
        "inactive_reason": "" if selected else "not selected",
        "routing_table": entry.get("vrfName", "default"),
        "protocol_attributes": attributes,
    }


def bgp_path_attributes(show_bgp_prefix: dict[str, Any], local_as: int) -> dict[str, dict[str, Any]]:
    """Path attributes per BGP next hop from ``show bgp ipv4 unicast PREFIX json``."""
    result: dict[str, dict[str, Any]] = {}
    for path in show_bgp_prefix.get("paths", []):
        peer = path.get("peer", {})
        segments = [str(asn) for seg in path.get("aspath", {}).get("segments", []) for asn in seg.get("list", [])]
        remote_as = int(segments[0]) if segments else local_as
        for hop in path.get("nexthops", []):
            result[hop.get("ip", "")] = {
                "local_as": local_as,
                "remote_as": remote_as,
                "peer_id": peer.get("routerId", ""),
                "as_path": " ".join(segments),
                "communities": path.get("community", {}).get("list", []),
                "local_preference": int(path.get("locPrf", 100)),
                "preference2": int(path.get("weight", 0)),
                "metric": int(path.get("metric", 0)),
                "metric2": int(hop.get("metric", 0)),
            }
    return result


def bgp_local_as(show_summary: dict[str, Any]) -> int:
    """Local AS from ``show bgp vrf all summary json`` (any family of the default VRF)."""
    for family in show_summary.get("default", {}).values():
        if isinstance(family, dict) and "as" in family:
            return int(family["as"])
    return -1


# --------------------------------------------------------------------------- ping


PING_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
PING_RTT = re.compile(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms")
PING_REPLY = re.compile(r"bytes from ([^\s:]+)(?: \([^)]*\))?: .*time=([\d.]+) ms")


def ping(output: str) -> models.PingResultDict:
    """iputils ``ping`` output → NAPALM's ping result (an ``error`` key when nothing was sent)."""
    summary = PING_SUMMARY.search(output)
    if not summary:
        lines = [line for line in output.strip().splitlines() if line.strip()]
        return {"error": lines[-1] if lines else "ping produced no output"}
    sent, received = int(summary.group(1)), int(summary.group(2))
    rtt = PING_RTT.search(output)
    rtt_min, rtt_avg, rtt_max, rtt_dev = (float(x) for x in rtt.groups()) if rtt else (0.0, 0.0, 0.0, 0.0)
    results = [{"ip_address": ip, "rtt": float(ms)} for ip, ms in PING_REPLY.findall(output)]
    return {
        "success": {
            "probes_sent": sent,
            "packet_loss": sent - received,
            "rtt_min": rtt_min,
            "rtt_max": rtt_max,
            "rtt_avg": rtt_avg,
            "rtt_stddev": rtt_dev,
            "results": results,
        }
    }


# --------------------------------------------------------------------------- config

SHOW_RUN_HEADER = re.compile(r"\A(?:Building configuration\.\.\.\s*\n)?\s*(?:Current configuration:\s*\n)?")

#: Secrets FRR can hold in its config, and what replaces them in sanitized output.
SANITIZE = {
    r"^(\s*(?:enable )?password) \S+": r"\1 <removed>",
    r"^(\s*neighbor \S+ password) \S+": r"\1 <removed>",
    r"^(\s*ip ospf authentication-key) \S+": r"\1 <removed>",
    r"^(\s*ip ospf message-digest-key \d+ md5) \S+": r"\1 <removed>",
    r"^(\s*key-string) \S+": r"\1 <removed>",
    r"^(\s*isis password (?:clear|md5)) \S+": r"\1 <removed>",
}


def strip_show_run(text: str) -> str:
    """``show running-config`` without vtysh's banner, so it diffs cleanly against a file."""
    return SHOW_RUN_HEADER.sub("", text, count=1)
