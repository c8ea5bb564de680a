"""The Internet edge's filter and NAT, as data both platforms render: the FRR platform's nftables script (here) and
the IOS ACLs and NAT statements (network_templates/cisco_ios/edge.j2 from the same functions).

Published servers are translated statically and without connection state, in both directions, on every edge: a
citizen's request may enter through one ISP and the answer leave through the other edge, and either edge holds the
same translation (docs/design.md, The Internet edge). Only the DC's own outbound (upstream NTP and DNS) is tracked,
translated to the edge's own PAT address so that its answers come back to the edge holding the state.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, collapse_addresses

from govnet.model.derived import InternetEdge, Network, PolicyEntry, Service

# Addresses no Internet host may send from (RFC 6890 special purpose, multicast, reserved); the environment's own
# blocks (the lab's internet block, documentation addresses standing in for production) are taken out of it.
BOGONS = tuple(
    IPv4Network(p)
    for p in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/3",
    )
)


def edge_of(network: Network) -> InternetEdge:
    assert network.internet is not None
    return network.internet


def internet_side(network: Network) -> list[IPv4Network]:
    """What the Internet edge treats as the outside in this environment: its links, the public prefix, the lab's
    internet block (where there is one)."""
    edge = edge_of(network)
    nets = [edge.public_prefix] + [u.address.network for u in edge.uplinks]
    if "internet" in network.pools:
        nets.append(network.pools["internet"])
    return nets


def bogons(network: Network) -> list[IPv4Network]:
    """Sources refused on an uplink: the bogons (less the environment's outside) and every prefix of our own."""
    outside = internet_side(network)
    out: list[IPv4Network] = []
    for bogon in BOGONS:
        pieces = [bogon]
        for net in outside:
            pieces = [
                x
                for p in pieces
                for x in (p.address_exclude(net) if net.subnet_of(p) else ([] if p.subnet_of(net) else [p]))
            ]
        out += pieces
    own = [n for k, n in network.pools.items() if k != "internet" and ":" not in k] + [edge_of(network).public_prefix]
    return sorted(collapse_addresses(out + own))


def outbound(network: Network) -> list[PolicyEntry]:
    """What the DC may start towards the Internet (the policy's entries to the Internet zone), PAT'd at the edge."""
    zone = edge_of(network).zone
    seen: dict[tuple[str, str, int | None], PolicyEntry] = {}
    for seg in network.segments:
        for e in seg.policy:
            if e.dst_zone == zone and e.action == "allow":
                seen.setdefault((e.rule, e.proto, e.port), e)
    return list(seen.values())


def outbound_sources(network: Network) -> list[IPv4Network]:
    zone = edge_of(network).zone
    srcs = {seg.zone for seg in network.segments for e in seg.policy if e.dst_zone == zone and e.action == "allow"}
    return sorted(collapse_addresses(p for z in srcs for p in network.zone_prefixes.get(z, ())))


def _l4(svc: Service, direction: str) -> str:
    if svc.proto == "icmp":
        return "ip protocol icmp"
    if svc.proto == "any" or svc.port is None:
        return ""
    return f"{svc.proto} {direction} {svc.port}"


def _set(name: str, nets: list[IPv4Network] | list[IPv4Address]) -> list[str]:
    lines = [f"\tset {name} {{", "\t\ttype ipv4_addr", "\t\tflags interval"]
    if nets:
        lines.append(f"\t\telements = {{ {', '.join(str(n) for n in nets)} }}")
    return [*lines, "\t}"]


def render_edge_nftables(network: Network, device: str, table: str, family: str) -> str:
    """The edge's nft script: anti-spoofing and uRPF on the uplinks, stateless 1:1 NAT and filtering of the
    published servers, PAT and state for the DC's outbound, nothing else in or out."""
    edge = edge_of(network)
    ups = edge.uplinks_of(device)
    own_pat = edge.pat_of(device)
    other_pat = [a for d, a in edge.pat if d != device]
    uplinks = ", ".join(f'"{u.interface}"' for u in ups)
    up = f"iifname {{ {uplinks} }}"
    down = f"oifname {{ {uplinks} }}"
    out = [
        "#!/usr/sbin/nft -f",
        f"# govnet Internet edge of {device} ({network.name}, {network.env}): anti-spoofing, stateless NAT of the",
        "# published servers, PAT for the DC's outbound. Rendered from the model; replaced as a whole.",
        f"table {family} {table} {{}}",
        f"delete table {family} {table}",
        f"table {family} {table} {{",
    ]
    out += _set("bogons", bogons(network))
    out += _set("outbound_src", outbound_sources(network))
    out += ["\tchain pre {", "\t\ttype filter hook prerouting priority raw; policy accept;"]
    out += [
        f'\t\t{up} ip saddr @bogons counter drop comment "bogon or our own source from the Internet"',
        f'\t\t{up} fib saddr oif missing counter drop comment "uRPF (loose): no route back to the source"',
    ]
    for p in edge.published:
        for svc in p.services:
            out.append(
                f"\t\t{up} ip daddr {p.public} {_l4(svc, 'dport')} notrack ip daddr set {p.inside} "
                f'comment "published {p.name} {svc}"'
            )
            out.append(
                f"\t\tiifname != {{ {uplinks} }} ip saddr {p.inside} {_l4(svc, 'sport')} notrack "
                f'comment "answer of published {p.name} {svc}: no state, either edge may carry it"'
            )
    out.append("\t}")
    out += ["\tchain forward {", "\t\ttype filter hook forward priority filter; policy accept;"]
    for p in edge.published:
        for svc in p.services:
            out.append(f'\t\t{up} ip daddr {p.inside} {_l4(svc, "dport")} accept comment "published {p.name} {svc}"')
            out.append(
                f"\t\t{down} ip saddr {p.inside} {_l4(svc, 'sport')} accept "
                f'comment "answer of published {p.name} {svc}"'
            )
    for addr in other_pat:
        out.append(f'\t\t{up} ip daddr {addr} accept comment "answer to the other edge\'s PAT: routed to it inside"')
    out.append(f"\t\t{up} ct state established,related accept")
    for e in outbound(network):
        out.append(
            f"\t\t{down} ip saddr @outbound_src {_l4(Service(e.proto if e.proto != 'ip' else 'any', e.port), 'dport')} "
            f'accept comment "{e.rule}"'.replace("  ", " ")
        )
    out += [
        f'\t\t{up} counter drop comment "the Internet reaches only what is published"',
        f'\t\t{down} counter drop comment "nothing else leaves for the Internet"',
        "\t}",
    ]
    # what is addressed to the edge itself from an uplink: only its ISP's BGP and BFD (and ICMP from the ISP), as
    # the IOS EDGE-IN list allows; a citizen scanning the uplink address finds nothing open
    out += ["\tchain input {", "\t\ttype filter hook input priority filter; policy accept;"]
    if own_pat is not None:  # an answer to the PAT is translated back before routing: it never lands here
        out.append(f'\t\tip daddr {own_pat} counter drop comment "the PAT address itself answers nothing"')
    for u in ups:
        out += [
            f'\t\tiifname "{u.interface}" ip saddr {u.peer} tcp dport 179 accept comment "BGP from {u.isp}"',
            f'\t\tiifname "{u.interface}" ip saddr {u.peer} tcp sport 179 accept comment "BGP from {u.isp}"',
            f'\t\tiifname "{u.interface}" ip saddr {u.peer} udp dport 3784 accept comment "BFD from {u.isp}"',
            f'\t\tiifname "{u.interface}" ip saddr {u.peer} ip protocol icmp accept comment "ICMP from {u.isp}"',
        ]
    out += [
        f"\t\t{up} ct state established,related accept",
        f'\t\t{up} counter drop comment "the edge itself answers only its ISP"',
        "\t}",
    ]
    out += ["\tchain post {", "\t\ttype filter hook postrouting priority raw; policy accept;"]
    for p in edge.published:
        for svc in p.services:
            out.append(
                f"\t\t{down} ip saddr {p.inside} {_l4(svc, 'sport')} ip saddr set {p.public} "
                f'comment "published {p.name} {svc}"'
            )
    out.append("\t}")
    if own_pat is not None:
        out += [
            "\tchain pat {",
            "\t\ttype nat hook postrouting priority srcnat; policy accept;",
            f'\t\t{down} ip saddr @outbound_src snat ip to {own_pat} comment "PAT of the DC\'s outbound"',
            "\t}",
        ]
    out += ["}", ""]
    return "\n".join(out)
