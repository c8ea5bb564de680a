"""Zone policy → nftables ruleset for the frr platform (the layer-3 switch holding a site's segments).

IOS enforces `Segment.policy` with an inbound ACL per SVI (network_templates/cisco_ios/acl.j2); an FRR box has no
ACLs, so the same ordered entries become one nftables table in the switch's network namespace.  Only traffic a
segment *starts* towards another interface is filtered, in the forward hook (traffic inside the segment is
bridged and never judged): the router's own traffic (OSPF, BGP, SSH on mgmt0, pings to the gateway) never enters
these chains, and replies are accepted by connection state.
The script replaces the whole table in one nft transaction, so the box never runs half a policy.
"""

from __future__ import annotations

import re

from govnet.edge import render_edge_nftables
from govnet.model.derived import Network, PolicyEntry, Segment

TABLE = "govnet"
FAMILY = "inet"


def set_name(zone: str) -> str:
    """nftables identifiers: letters, digits and underscores (zone names carry hyphens)."""
    return "zone_" + re.sub(r"[^A-Za-z0-9_]", "_", zone)


def chain_name(interface: str) -> str:
    return "seg_" + re.sub(r"[^A-Za-z0-9_]", "_", interface)


def held_segments(network: Network, device_name: str) -> list[Segment]:
    """Segments whose gateway (and so whose policy) lives on this device."""
    return [s for s in network.segments if s.device == device_name]


def _match(entry: PolicyEntry) -> str:
    """The nft match of one entry: destination zone set, then protocol and port."""
    parts = [f"ip daddr @{set_name(entry.dst_zone)}"]
    if entry.proto == "icmp":
        parts.append("ip protocol icmp")
    elif entry.proto in ("tcp", "udp"):
        parts.append(f"{entry.proto} dport {entry.port}" if entry.port is not None else f"ip protocol {entry.proto}")
    return " ".join(parts)


def _rule(entry: PolicyEntry) -> str:
    verdict = "accept" if entry.action == "allow" else "drop"
    return f'{_match(entry)} counter {verdict} comment "{entry.rule}"'


def _edge_transit(network: Network, device_name: str) -> list[str]:
    """On a device cabled to both Internet edges: an answer to one edge's PAT address that the Internet sent to the
    other edge crosses this device between them. It passes without state here (this device saw the flow leave with
    its inside addresses, before translation; the answer would be an invalid stray to its conntrack): the edge that
    holds the translation checks it."""
    if network.internet is None:
        return []
    edges = set(network.internet.devices)
    ports = sorted(
        end.interface
        for lk in network.links
        for end, other in ((lk.a, lk.b), (lk.b, lk.a))
        if end.device == device_name and other.device in edges
    )
    if len(ports) < 2:
        return []
    names = ", ".join(f'"{p}"' for p in ports)
    return [
        f"\t\tiifname {{ {names} }} oifname {{ {names} }} ip daddr {pat} accept "
        f'comment "answer to {edge}\'s PAT, from the other edge"'
        for edge, pat in network.internet.pat
    ]


def render_nftables(network: Network, device_name: str) -> str | None:
    """The device's zone policy as an nft script, or None when it holds no segment (or lacks the feature)."""
    if "policy_nftables" not in network.features or device_name not in network.devices:
        return None
    if network.internet and device_name in network.internet.devices:
        return render_edge_nftables(network, device_name, TABLE, FAMILY)
    segments = held_segments(network, device_name)
    if not segments:
        return None
    zones = sorted({e.dst_zone for s in segments for e in s.policy})
    out = [
        "#!/usr/sbin/nft -f",
        f"# govnet zone policy of {device_name} ({network.name}, {network.env}): traffic each segment starts.",
        "# Rendered from the model; replaced as a whole (add + delete + define in one transaction).",
        f"table {FAMILY} {TABLE} {{}}",
        f"delete table {FAMILY} {TABLE}",
        f"table {FAMILY} {TABLE} {{",
    ]
    for zone in zones:
        prefixes = network.zone_prefixes.get(zone, ())
        out += [f"\tset {set_name(zone)} {{", "\t\ttype ipv4_addr", "\t\tflags interval"]
        if prefixes:
            out.append(f"\t\telements = {{ {', '.join(str(p) for p in prefixes)} }}")
        out.append("\t}")
    out += ["\tchain forward {", "\t\ttype filter hook forward priority filter; policy accept;"]
    out += _edge_transit(network, device_name)
    out += ["\t\tct state established,related accept", "\t\tct state invalid drop"]
    for seg in segments:
        # oifname: frames bridged inside the segment reach this hook too when br_netfilter is loaded
        out.append(f'\t\tiifname "{seg.interface}" oifname != "{seg.interface}" jump {chain_name(seg.interface)}')
    out.append("\t}")
    for seg in segments:
        out += [f"\tchain {chain_name(seg.interface)} {{", f"\t\t# {seg.key} ({seg.prefix}, zone {seg.zone})"]
        out += [f"\t\t{_rule(e)}" for e in seg.policy]
        out += [f'\t\tcounter drop comment "{seg.zone}: not allowed by policy"', "\t}"]
    out += ["}", ""]
    return "\n".join(out)


def flush_script() -> str:
    """Remove the policy table (and only it): used to take enforcement off a box."""
    return f"table {FAMILY} {TABLE} {{}}\ndelete table {FAMILY} {TABLE}\n"
