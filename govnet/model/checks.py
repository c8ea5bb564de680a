"""Validate stage: relations the types cannot express (uniqueness, references, graph properties).

Each check returns problems with the inventory path they concern; the loader turns paths into file:line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from ipaddress import IPv4Network

from govnet.model.platform import Platform
from govnet.model.schema import Device, Inventory
from govnet.model.yamlsrc import Loc

Found = Iterator[tuple[Loc, str]]


def _duplicates(items: Sequence[tuple[Loc, str]], what: str) -> Found:
    seen: dict[str, Loc] = {}
    for loc, key in items:
        if key in seen:
            yield loc, f"duplicate {what} '{key}' (first at {_short(seen[key])})"
        else:
            seen[key] = loc


def _short(loc: Loc) -> str:
    from govnet.model.errors import loc_text

    return loc_text(loc)


def unique_names(inv: Inventory) -> Found:
    yield from _duplicates([(("sites", i, "name"), s.name) for i, s in enumerate(inv.sites)], "site name")
    yield from _duplicates([(("zones", i, "name"), z.name) for i, z in enumerate(inv.zones)], "zone name")
    yield from _duplicates([(("phases", i, "id"), str(p.id)) for i, p in enumerate(inv.phases)], "phase id")
    devices: list[tuple[Loc, str]] = [
        (("sites", i, "devices", j, "name"), d.name) for i, s in enumerate(inv.sites) for j, d in enumerate(s.devices)
    ]
    servers: list[tuple[Loc, str]] = [(("servers", i, "name"), s.name) for i, s in enumerate(inv.servers)]
    yield from _duplicates(devices + servers, "device or server name")
    for i, site in enumerate(inv.sites):
        for j, dev in enumerate(site.devices):
            ifaces = [(("sites", i, "devices", j, "interfaces", k), n) for k, n in enumerate(dev.interfaces)]
            yield from _duplicates(ifaces, f"interface on {dev.name}")
        segs = list(enumerate(site.segments))
        yield from _duplicates([(("sites", i, "segments", k, "name"), s.name) for k, s in segs], "segment name")
        yield from _duplicates([(("sites", i, "segments", k, "vlan"), str(s.vlan)) for k, s in segs], "VLAN ID")


def references(inv: Inventory) -> Found:
    zones = {z.name for z in inv.zones}
    yield from _duplicates([(("zones", i, "role"), z.role) for i, z in enumerate(inv.zones) if z.role], "zone role")
    for i, site in enumerate(inv.sites):
        if site.zone not in zones:
            yield ("sites", i, "zone"), f"unknown zone '{site.zone}'"
        for k, seg in enumerate(site.segments):
            if seg.zone is not None and seg.zone not in zones:
                yield ("sites", i, "segments", k, "zone"), f"unknown zone '{seg.zone}'"
    for i, rule in enumerate(inv.policy):
        for field, alias in (("src", "from"), ("dst", "to")):
            if getattr(rule, field) not in zones:
                yield ("policy", i, alias), f"unknown zone '{getattr(rule, field)}'"
    yield from _link_references(inv)
    yield from _server_references(inv)
    sites = {s.name for s in inv.sites}
    for i, phase in enumerate(inv.phases):
        for k, name in enumerate(phase.sites):
            if name not in sites:
                yield ("phases", i, "sites", k), f"unknown site '{name}'"


def _link_references(inv: Inventory) -> Found:
    interfaces = {d.name: set(d.interfaces) for s in inv.sites for d in s.devices}
    used: dict[tuple[str, str], int] = {}
    for i, link in enumerate(inv.links):
        if link.a.device == link.b.device:
            yield ("links", i, "b", "device"), f"link joins device '{link.a.device}' to itself"
        for end_name in ("a", "b"):
            end = getattr(link, end_name)
            if end.device not in interfaces:
                yield ("links", i, end_name, "device"), f"unknown device '{end.device}'"
            elif end.interface not in interfaces[end.device]:
                yield (
                    ("links", i, end_name, "interface"),
                    (f"device '{end.device}' has no interface '{end.interface}'"),
                )
            elif (end.device, end.interface) in used:
                yield (
                    ("links", i, end_name, "interface"),
                    (f"{end.device} {end.interface} already used by links[{used[(end.device, end.interface)]}]"),
                )
            else:
                used[(end.device, end.interface)] = i


def _server_references(inv: Inventory) -> Found:
    sites = {s.name: s for s in inv.sites}
    for i, server in enumerate(inv.servers):
        site = sites.get(server.site)
        if site is None:
            yield ("servers", i, "site"), f"unknown site '{server.site}'"
        elif server.segment not in {seg.name for seg in site.segments}:
            yield ("servers", i, "segment"), f"site '{server.site}' has no segment '{server.segment}'"


def site_roles(inv: Inventory) -> Found:
    dcs = [i for i, s in enumerate(inv.sites) if s.kind == "datacentre"]
    if len(dcs) != 1:
        yield ("sites",), f"exactly one datacentre site is required, found {len(dcs)}"
    for i, site in enumerate(inv.sites):
        roles = Counter(d.role for d in site.devices)
        if site.kind == "datacentre":
            if roles["core"] < 1:
                yield ("sites", i, "devices"), "the datacentre needs at least one core router"
            if (site.category != "datacentre") or roles["edge"] or roles["access"]:
                yield (
                    ("sites", i),
                    "a datacentre has category datacentre and only core, dc_switch and internet_edge devices",
                )
        else:
            if roles["edge"] < 1:  # a hospital campus or a police HQ may have two
                yield (("sites", i, "devices"), "a department needs at least one edge router, found none")
            if roles["core"] or roles["dc_switch"] or roles["internet_edge"] or site.category == "datacentre":
                yield (
                    ("sites", i),
                    "core, dc_switch and internet_edge devices and category datacentre belong to the datacentre",
                )
        holders = roles["access"] + roles["dc_switch"]
        if site.segments and holders != 1:
            yield (
                ("sites", i, "segments"),
                (f"segments need exactly one access or dc_switch device at the site to hold them, found {holders}"),
            )


def phases(inv: Inventory) -> Found:
    where: dict[str, int] = {}
    for i, phase in enumerate(inv.phases):
        for k, name in enumerate(phase.sites):
            if name in where:
                yield (
                    ("phases", i, "sites", k),
                    f"site '{name}' is already in phase {inv.phases[where[name]].id}",
                )
            where[name] = i
    for i, site in enumerate(inv.sites):
        if site.kind == "department" and site.name not in where:
            yield ("sites", i, "name"), f"department '{site.name}' is in no phase"


def site_graph(inv: Inventory) -> dict[str, Counter[str]]:
    """Sites as nodes, links between sites as edges weighted by how many links join the pair: for each site, its
    neighbours and the number of links to each.

    The two questions validate asks of it are linear-time walks written here rather than networkx calls:
    importing networkx costs more than the rest of `govnet validate` (docs/design.md, Validate); the unit tests
    check both answers against networkx.
    """
    graph: dict[str, Counter[str]] = {s.name: Counter() for s in inv.sites}
    site_of = {d.name: s.name for s in inv.sites for d in s.devices}
    for link in inv.links:
        a, b = site_of.get(link.a.device), site_of.get(link.b.device)
        if a and b and a != b:
            graph[a][b] += 1
            graph[b][a] += 1
    return graph


def connected(graph: Mapping[str, Mapping[str, int]], start: str, cut: Set[frozenset[str]] = frozenset()) -> set[str]:
    """The nodes reachable from ``start`` without crossing an edge of ``cut``."""
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        for nxt in graph[node]:
            if nxt not in seen and frozenset((node, nxt)) not in cut:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def bridges(graph: Mapping[str, Mapping[str, int]]) -> set[frozenset[str]]:
    """The single links whose loss splits the graph (Tarjan's bridges, iterative; parallel links are no bridge)."""
    disc: dict[str, int] = {}
    low: dict[str, int] = {}
    found: set[frozenset[str]] = set()
    for root in graph:
        if root in disc:
            continue
        disc[root] = low[root] = len(disc)
        stack: list[tuple[str, str | None, Iterator[str]]] = [(root, None, iter(graph[root]))]
        while stack:
            node, parent, todo = stack[-1]
            for nxt in todo:
                if nxt == parent and graph[node][nxt] == 1:
                    continue  # the tree edge itself; a second parallel link counts as a way back
                if nxt in disc:
                    low[node] = min(low[node], disc[nxt])
                else:
                    disc[nxt] = low[nxt] = len(disc)
                    stack.append((nxt, node, iter(graph[nxt])))
                    break
            else:
                stack.pop()
                if parent is not None:
                    low[parent] = min(low[parent], low[node])
                    if low[node] > disc[parent]:
                        found.add(frozenset((parent, node)))
    return found


def topology(inv: Inventory) -> Found:
    dc = next((s.name for s in inv.sites if s.kind == "datacentre"), None)
    if dc is None:
        return
    graph = site_graph(inv)
    reachable = connected(graph, dc)
    # two link-disjoint paths to the DC (max-flow >= 2) <=> no single link separates the site from the DC
    dual = connected(graph, dc, bridges(graph)) if any(s.critical for s in inv.sites) else set()
    for i, site in enumerate(inv.sites):
        if site.name not in reachable:
            yield ("sites", i, "name"), f"site '{site.name}' has no path to the datacentre '{dc}'"
        elif site.critical and site.name not in dual:
            yield (
                ("sites", i, "critical"),
                (f"critical department '{site.name}' needs two link-disjoint paths to the datacentre, has one"),
            )
    yield from _site_internal(inv)


def _site_internal(inv: Inventory) -> Found:
    """Every device of a site must be reachable from the site's other devices (no stranded access switch)."""
    linked = {end for link in inv.links for end in (link.a.device, link.b.device)}
    for i, site in enumerate(inv.sites):
        for j, dev in enumerate(site.devices):
            if dev.name not in linked:
                yield ("sites", i, "devices", j, "name"), f"device '{dev.name}' has no link"


def environments(inv: Inventory, platforms: set[str]) -> Found:
    for name, env in inv.environments.items():
        if env.platform not in platforms:
            yield (
                ("environments", name, "platform"),
                (f"unknown platform '{env.platform}' (known: {', '.join(sorted(platforms))})"),
            )
        if not env.routing_auth and name != "lab":
            yield (
                ("environments", name, "routing_auth"),
                "routing-protocol authentication may be off only in the lab: a rogue router could join this "
                "environment's OSPF and BGP",
            )
        devices = {d.name for site in inv.sites for d in site.devices}
        for i, device in enumerate(env.lab_stock):
            if name != "lab":
                yield ("environments", name, "lab_stock", i), "only the lab builds stock boxes"
            elif device not in devices:
                yield ("environments", name, "lab_stock", i), f"unknown device '{device}'"
        detect = env.bfd_interval * env.bfd_multiplier
        if detect >= env.ospf_dead * 1000:
            yield (
                ("environments", name, "bfd_interval"),
                f"BFD detects a failure in {detect} ms ({env.bfd_interval} ms x {env.bfd_multiplier}), not sooner "
                f"than the OSPF dead interval ({env.ospf_dead} s): BFD would add nothing",
            )
        pools = [(k, v) for k, v in env.pools.flat().items() if not k.startswith("zone:")]
        for k, (pool_a, net_a) in enumerate(pools):
            for pool_b, net_b in pools[k + 1 :]:
                if net_a.overlaps(net_b):
                    yield ("environments", name, "pools", pool_b), f"pool {net_b} overlaps pool {pool_a} {net_a}"
        zones = {z.name for z in inv.zones}
        blocks = list(env.pools.zones.items())
        for k, (zone, net) in enumerate(blocks):
            loc = ("environments", name, "pools", "zones", zone)
            if zone not in zones:
                yield loc, f"unknown zone '{zone}'"
            if not net.subnet_of(env.pools.lan):
                yield loc, f"zone block {net} is outside the lan pool {env.pools.lan}"
            for other, net_b in blocks[k + 1 :]:
                if net.overlaps(net_b):
                    yield ("environments", name, "pools", "zones", other), f"zone block {net_b} overlaps {zone} {net}"


def _segment_zones(inv: Inventory) -> dict[tuple[str, str], str]:
    from govnet.model.derive import segment_zone, zone_roles

    roles = zone_roles(inv)
    return {(site.name, seg.name): segment_zone(site, seg, roles) for site in inv.sites for seg in site.segments}


def _first_match(inv: Inventory, src: str, dst: str, service: str) -> tuple[int, str] | None:
    """The index and action of the first policy rule deciding *service* from zone *src* to zone *dst*."""
    for i, rule in enumerate(inv.policy):
        if rule.src == src and rule.dst == dst and ("any" in rule.services or service in rule.services):
            return i, rule.action
    return None


def internet(inv: Inventory) -> Found:
    """The Internet edge: uplinks on internet_edge devices, a public prefix clear of every pool, published services
    the server offers and the policy allows, and an Internet zone that reaches nothing else (no database ever)."""
    roles = {z.role: z.name for z in inv.zones if z.role}
    edge_devices = [d for s in inv.sites for d in s.devices if d.role == "internet_edge"]
    if inv.internet is None:
        return
    if "internet" not in roles:
        yield ("internet",), "the internet section needs a zone with role internet (the policy's name for the Internet)"
        return
    yield from _uplinks(inv, {d.name: d for d in edge_devices})
    yield from _public_addresses(inv)
    yield from _published(inv, roles["internet"])
    yield from _internet_policy(inv, roles["internet"])


def _uplinks(inv: Inventory, edges: dict[str, Device]) -> Found:
    assert inv.internet is not None
    devices = {d.name: d for s in inv.sites for d in s.devices}
    linked = {(e.device, e.interface) for link in inv.links for e in (link.a, link.b)}
    for k, up in enumerate(inv.internet.uplinks):
        here: Loc = ("internet", "uplinks", k)
        dev = devices.get(up.device)
        if dev is None:
            yield (*here, "device"), f"unknown device '{up.device}'"
        elif up.device not in edges:
            yield (*here, "device"), f"{up.device} is a {dev.role}: ISP uplinks terminate on internet_edge devices"
        elif up.interface not in dev.interfaces:
            yield (*here, "interface"), f"device '{up.device}' has no interface '{up.interface}'"
        elif (up.device, up.interface) in linked:
            yield (*here, "interface"), f"{up.device} {up.interface} is already used by a link"
        if up.asn == inv.governorate.bgp_asn:
            yield (*here, "asn"), f"ISP AS {up.asn} is the governorate's own AS"
        if up.isp in devices or up.isp == LAB_INTERNET_CORE:
            taken = "device" if up.isp in devices else "lab router"
            yield (
                (*here, "isp"),
                (
                    f"ISP name '{up.isp}' is taken by a {taken}: the lab builds a router named after each ISP "
                    "(rename the ISP)"
                ),
            )
        for env in inv.environments:
            net = up.link.get(env)
            if net is None:
                yield (*here, "link"), f"no link prefix for environment '{env}'"
            elif net.prefixlen not in (30, 31):
                yield (*here, "link", env), f"ISP link {net} must be a /30 or a /31"
    ends = [
        (("internet", "uplinks", k, "device"), f"{u.device} {u.interface}") for k, u in enumerate(inv.internet.uplinks)
    ]
    yield from _duplicates(ends, "uplink")


def _public_addresses(inv: Inventory) -> Found:
    """Public prefix and ISP links: clear of every internal pool; inside the lab's internet block where there is one."""
    assert inv.internet is not None
    for env, environment in inv.environments.items():
        public = inv.internet.public_prefix.get(env)
        if public is None:
            yield ("internet", "public_prefix"), f"no public prefix for environment '{env}'"
            continue
        pools = {k: v for k, v in environment.pools.flat().items() if k != "internet" and not k.startswith("zone:")}
        block = environment.pools.internet
        owned: list[tuple[Loc, str, object]] = [(("internet", "public_prefix", env), "public prefix", public)]
        owned += [
            (("internet", "uplinks", k, "link", env), f"ISP link of {u.isp}", u.link[env])
            for k, u in enumerate(inv.internet.uplinks)
            if env in u.link
        ]
        if (
            block is not None
            and _free_blocks(block, [n for _, _, n in owned if isinstance(n, IPv4Network)]) < LAB_INTERNET_BLOCKS
        ):
            yield (
                ("environments", env, "pools", "internet"),
                (
                    f"the internet block {block} has no room for the lab's emulated Internet: it needs "
                    f"{LAB_INTERNET_BLOCKS} /24 blocks clear of the public prefix and the ISP links"
                ),
            )
        for loc, what, net in owned:
            assert isinstance(net, type(public))
            for pool, pnet in pools.items():
                if net.overlaps(pnet):
                    yield loc, f"{what} {net} overlaps the {pool} pool {pnet}"
            if block is not None and not net.subnet_of(block):
                yield loc, f"{what} {net} is outside the {env} internet block {block}"
            if what != "public prefix" and net.overlaps(public):
                yield loc, f"{what} {net} overlaps the public prefix {public}"


#: The lab's emulated Internet (govnet.lab.internet): its core router's name, and the /24 blocks it takes from the
#: internet block (ISP–core links, the citizens' segment, the upstream segment).
LAB_INTERNET_CORE = "inet"
LAB_INTERNET_BLOCKS = 3


def _free_blocks(block: IPv4Network, taken: list[IPv4Network]) -> int:
    if block.prefixlen > 24:
        return 0
    free = 0
    for sub in block.subnets(new_prefix=24):
        if not any(sub.overlaps(t) for t in taken):
            free += 1
            if free >= LAB_INTERNET_BLOCKS:
                break
    return free


def _published(inv: Inventory, zone: str) -> Found:
    assert inv.internet is not None
    servers = {s.name: s for s in inv.servers}
    zones = _segment_zones(inv)
    taken: dict[tuple[str, object], str] = {}
    for k, pub in enumerate(inv.internet.published):
        here: Loc = ("internet", "published", k)
        srv = servers.get(pub.server)
        if srv is None:
            yield (*here, "server"), f"unknown server '{pub.server}'"
            continue
        for n, svc in enumerate(pub.services):
            if svc not in srv.services:
                offered = ", ".join(srv.services) or "nothing"
                yield (*here, "services", n), f"server {srv.name} does not offer {svc} (it offers {offered})"
                continue
            dst = zones.get((srv.site, srv.segment), "")
            match = _first_match(inv, zone, dst, svc)
            if match is None or match[1] != "allow":
                why = f"policy[{match[0]}] denies it" if match else "no policy rule allows it"
                yield (*here, "services", n), f"{svc} of {srv.name} is published but {why} from '{zone}' to '{dst}'"
        for env in inv.environments:
            public = inv.internet.public_prefix.get(env)
            addr = pub.address.get(env)
            if addr is None:
                yield (*here, "address"), f"no public address for environment '{env}'"
            elif public is not None and (
                addr not in public or addr in (public.network_address, public.broadcast_address)
            ):
                yield (
                    (*here, "address", env),
                    f"public address {addr} is not a host address of the public prefix {public}",
                )
            elif (env, addr) in taken:
                yield (*here, "address", env), f"public address {addr} is already published for {taken[(env, addr)]}"
            else:
                taken[(env, addr)] = pub.name


def _internet_policy(inv: Inventory, zone: str) -> Found:
    """The Internet reaches only what is published, and never a database (by role or by segment kind)."""
    assert inv.internet is not None
    zones = _segment_zones(inv)
    servers = {s.name: s for s in inv.servers}
    db_zones: dict[str, list[str]] = {}
    for site in inv.sites:
        for seg in site.segments:
            if seg.kind == "db":
                db_zones.setdefault(zones[(site.name, seg.name)], [])
    for srv in inv.servers:
        if srv.role == "database":
            db_zones.setdefault(zones.get((srv.site, srv.segment), ""), []).append(srv.name)
    published: dict[str, set[str]] = {}
    for pub in inv.internet.published:
        offered = servers.get(pub.server)
        if offered is not None:
            published.setdefault(zones.get((offered.site, offered.segment), ""), set()).update(pub.services)
    for i, rule in enumerate(inv.policy):
        if rule.src != zone or rule.action != "allow":
            continue
        if rule.dst in db_zones:
            held = ", ".join(db_zones[rule.dst]) or "database segments"
            yield (
                ("policy", i, "to"),
                f"opens zone '{rule.dst}' ({held}) to the Internet: a database is never reachable from '{zone}'",
            )
            continue
        extra = [svc for svc in rule.services if svc not in published.get(rule.dst, set())]
        if extra:
            shown = ", ".join(sorted(published.get(rule.dst, set()))) or "nothing"
            yield (
                ("policy", i, "services"),
                f"lets the Internet reach {', '.join(extra)} in '{rule.dst}', which publishes {shown}",
            )


CHECKS: tuple[Callable[[Inventory], Found], ...] = (
    unique_names,
    references,
    site_roles,
    phases,
    topology,
    internet,
)


def run_checks(inv: Inventory, platforms: set[str]) -> list[tuple[Loc, str]]:
    found = [item for check in CHECKS for item in check(inv)]
    return found + list(environments(inv, platforms))


def hardware(inv: Inventory, env: str, platform: Platform) -> Found:
    """What the inventory asks of each device's hardware model in *env*, where the platform knows its models:
    the model exists, has the ports the links use at the links' speed, runs the routing the design gives the
    device, and has access ports (a switch) for the segments it holds."""
    if not platform.models:
        return
    models = ", ".join(sorted(platform.models))
    speeds: dict[tuple[str, str], tuple[int, int]] = {}
    for i, link in enumerate(inv.links):
        for end_name in ("a", "b"):
            end = getattr(link, end_name)
            speeds[(end.device, end.interface)] = (i, link.bandwidth_mbps)
    for i, site in enumerate(inv.sites):
        holders = {d.name for d in site.devices if d.role in ("access", "dc_switch")}
        for j, dev in enumerate(site.devices):
            here: Loc = ("sites", i, "devices", j)
            hw = platform.model(dev.model)
            if hw is None:
                what = (
                    f"no model given (platform {platform.name} needs one of: {models})"
                    if not dev.model
                    else (f"model '{dev.model}' is not a {platform.name} model (known: {models})")
                )
                yield (*here, "model"), f"{env}: {what}"
                continue
            ports = hw.routed()
            for k, logical in enumerate(dev.interfaces):
                n = int(logical[3:])
                if n < 1:
                    yield (
                        (*here, "interfaces", k),
                        f"{env}: {logical} maps to no port of {dev.model}: its routed ports are eth1..eth{len(ports)}",
                    )
                elif n > len(ports):
                    yield (
                        (*here, "interfaces", k),
                        f"{env}: {dev.model} has {len(ports)} routed ports, {logical} would be port {n}",
                    )
                elif (dev.name, logical) in speeds:
                    link_index, mbps = speeds[(dev.name, logical)]
                    port = ports[n - 1]
                    if mbps > port.speed_mbps:
                        yield (
                            ("links", link_index, "bandwidth_mbps"),
                            f"{env}: {dev.name} {logical} is {port.name}, a {port.speed_mbps} Mb/s port of "
                            f"{dev.model}; the link asks {mbps} Mb/s",
                        )
            needs = ["ospf", "bgp"] + (["static"] if dev.role == "core" else [])
            for proto in needs:
                if proto not in hw.protocols:
                    yield (
                        (*here, "model"),
                        f"{env}: {dev.model} runs no {proto.upper()} at any licence level; {dev.name} ({dev.role}) "
                        f"needs it (iBGP to the route reflectors, OSPF on its links)",
                    )
            if dev.name in holders and site.segments:
                if not hw.switch:
                    yield (*here, "model"), f"{env}: {dev.model} is not a switch and cannot hold the site's segments"
                    continue
                asked = sum(seg.access_ports or 0 for seg in site.segments)
                if asked > len(hw.access()):
                    yield (
                        ("sites", i, "segments"),
                        f"{env}: the segments ask {asked} access ports, {dev.name} ({dev.model}) has "
                        f"{len(hw.access())}",
                    )
