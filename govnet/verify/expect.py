"""What the network must look like, derived from the model alone (never hand-listed).

Control-plane expectations are NAPALM ``compliance_report`` validation data per device; data-plane expectations
are flows between endpoints (hosts and DC servers) judged by the zone policy the way the switches enforce it:
first matching entry wins, anything not allowed is denied, traffic inside one segment is bridged (not filtered).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from govnet.model import health
from govnet.model.derived import Device, Network, Segment, Service

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class Endpoint:
    """A host or DC server as the data plane sees it."""

    name: str
    kind: str  # "host" | "server"
    site: str
    segment: str
    zone: str
    address: IPv4Address
    services: tuple[Service, ...] = ()


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    rule: str  # the policy entry deciding, or "default deny" / "same segment"


def endpoints(network: Network) -> list[Endpoint]:
    """Every department host and DC server of the model."""
    out = [Endpoint(h.name, "host", h.site, h.segment, h.zone, h.address.ip) for h in network.hosts]
    out += [Endpoint(s.name, "server", s.site, s.segment, s.zone, s.address.ip, s.services) for s in network.servers]
    return out


def zone_of(network: Network, address: IPv4Address) -> str | None:
    return next((z for z, prefixes in network.zone_prefixes.items() if any(address in p for p in prefixes)), None)


def judge(network: Network, src: Endpoint, dst: Endpoint, proto: str, port: int | None = None) -> Verdict:
    """Would the policy let ``src`` start this flow to ``dst``? First match wins, default deny."""
    if (src.site, src.segment) == (dst.site, dst.segment):
        return Verdict(True, "same segment")
    seg = network.segment(src.site, src.segment)
    for entry in seg.policy:
        if not any(dst.address in p for p in network.zone_prefixes.get(entry.dst_zone, ())):
            continue
        if entry.proto != "ip" and entry.proto != proto:
            continue
        if entry.port is not None and entry.port != port:
            continue
        return Verdict(entry.action == "allow", entry.rule)
    return Verdict(False, "default deny")


# ----------------------------------------------------------------------------------------- control plane


def _exact(value: object) -> str:
    """NAPALM compares strings with re.search: anchor them, or "eth1" would match "eth10"."""
    return "^" + str(value).replace(".", r"\.") + "$"


def expected_neighbours(network: Network, device: Device) -> dict[str, list[tuple[str, str]]]:
    """OSPF: peer router ID → [(my interface, peer address)], one per adjacency of the health catalogue."""
    out: dict[str, list[tuple[str, str]]] = {}
    for fact in health.expectations(network, device.name):
        if isinstance(fact, health.Adjacency):
            out.setdefault(fact.peer_id, []).append((fact.interface, fact.peer_address))
    return out


def holder_of(network: Network) -> dict[str, Segment]:
    return {str(s.prefix): s for s in network.segments}


def validation_source(network: Network, name: str) -> list[dict[str, Any]]:
    """The device's whole health catalogue (``govnet.model.health``) as NAPALM validation data
    (``compliance_report(validation_source=...)``)."""
    facts = health.expectations(network, name)
    ips: dict[str, Any] = {}
    up: dict[str, Any] = {}
    ospf: dict[str, Any] = {}
    bgp: dict[str, Any] = {}
    routes: dict[str, Any] = {}
    for fact in facts:
        if isinstance(fact, health.Address):
            ips[fact.interface] = {"ipv4": {str(fact.address.ip): {"prefix_length": fact.address.network.prefixlen}}}
            if fact.up:
                up[fact.interface] = {"is_up": True, "is_enabled": True}
        elif isinstance(fact, health.Adjacency):
            entry = {"interface": _exact(fact.interface), "address": _exact(fact.peer_address), "state": "^Full$"}
            ospf.setdefault(fact.peer_id, {"list": []})["list"].append(entry)
        elif isinstance(fact, health.Session):
            bgp[fact.address] = {"is_up": True, "is_enabled": True}
        elif fact.protocol == "connected":
            hop = {"protocol": "^connected$", "current_active": True, "outgoing_interface": _exact(fact.interface)}
            routes[fact.prefix] = {"list": [hop]}
        else:
            hop = {"protocol": "^bgp$", "current_active": True, "next_hop": _exact(fact.next_hop)}
            routes[fact.prefix] = {"list": [hop]}
    source: list[dict[str, Any]] = [
        {"get_interfaces_ip": ips},
        {"get_interfaces": up},
        {"get_ospf_neighbors": {"global": {"neighbors": ospf}}},
        {"get_bgp_neighbors": {"global": {"peers": bgp}}},
    ]
    for pool in ("lan", "dc"):
        wanted = {p: r for p, r in routes.items() if network.pools[pool].supernet_of(_net(p))}
        source.append(
            {
                "get_route_table": {
                    "_name": f"routes in {network.pools[pool]}",
                    "_kwargs": {"destination": str(network.pools[pool]), "longer": True},
                    **wanted,
                }
            }
        )
    return source


def _net(prefix: str) -> Any:
    from ipaddress import IPv4Network

    return IPv4Network(prefix)


def device_graph(network: Network) -> nx.MultiGraph:
    """Devices joined by their links (parallel links kept), weighted by OSPF cost as OSPF sees them. networkx is
    imported here: a verify whose scope needs no path (``--changed`` without a traceroute) does not pay for it."""
    import networkx as nx

    graph = nx.MultiGraph()
    graph.add_nodes_from(network.devices)
    for link in network.links:
        ends = {link.a.device: link.a.interface, link.b.device: link.b.interface}
        graph.add_edge(link.a.device, link.b.device, key=link.name, weight=link.ospf_cost, ends=ends)
    return graph


def _dc_holders(network: Network) -> list[str]:
    return sorted({s.device for s in network.segments if network.sites[s.site].kind == "datacentre"})


def _route(graph: nx.MultiGraph, network: Network, site: str) -> tuple[list[str], str, str] | None:
    """Cheapest path from the site's segment holder (else its first device) to the nearest DC segment holder, and
    the link where it leaves the site: (path, device, interface)."""
    devices = network.sites[site].devices
    start = next((s.device for s in network.segments if s.site == site), devices[0] if devices else None)
    targets = [t for t in _dc_holders(network) if t in graph]
    if start is None or not targets:
        return None
    import networkx as nx

    lengths, paths = nx.single_source_dijkstra(graph, start, weight="weight")
    reachable = [t for t in targets if t in lengths]
    if not reachable:
        return None
    path = paths[min(reachable, key=lambda t: (lengths[t], t))]
    for here, there in itertools.pairwise(path):
        if network.devices[there].site != site:
            key = min(graph[here][there], key=lambda k: (graph[here][there][k]["weight"], k))
            return path, here, graph[here][there][key]["ends"][here]
    return None


def primary_core(network: Network, site: str) -> tuple[str, str, list[str]] | None:
    """(device, its interface where the site's traffic to the DC leaves, [cores in preference order]).

    Computed from the graph as OSPF chooses: the cheapest path from the site to the DC crosses the primary
    core; with the site's leaving link cut, the cheapest remaining path crosses the backup (when there is one
    and it is another core). Sites behind other departments, rings and parallel links are paths like any other.
    None when the site has no path to the DC through a core.
    """
    graph = device_graph(network)
    route = _route(graph, network, site)
    if route is None:
        return None
    path, device, interface = route
    primary = next((n for n in path if network.devices[n].role == "core"), None)
    if primary is None:
        return None
    cores = [primary]
    cut = graph.copy()
    leaving = next(i for i in network.devices[device].p2p if i.name == interface)
    for key, data in list(cut[device][str(leaving.peer)].items()):
        if data["ends"][device] == interface:
            cut.remove_edge(device, str(leaving.peer), key=key)
    backup_route = _route(cut, network, site)
    if backup_route is not None:
        backup = next((n for n in backup_route[0] if network.devices[n].role == "core"), None)
        if backup is not None and backup != primary:
            cores.append(backup)
    return device, interface, cores


def dual_homed(network: Network) -> list[str]:
    """Departments that keep a path to the DC through another core when their leaving link is cut."""
    out = []
    for site in (s.name for s in network.sites.values() if s.kind == "department"):
        plan = primary_core(network, site)
        if plan is not None and len(plan[2]) > 1:
            out.append(site)
    return out


def device_addresses(device: Device) -> set[str]:
    return {str(i.address.ip) for i in device.interfaces} | {str(device.loopback.ip)}
