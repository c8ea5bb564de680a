"""Derive stage: validated `Inventory` + IPAM lock → addressed `Network`."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, collapse_addresses
from pathlib import Path

from govnet import ipam, ipfast
from govnet.model import derived as d
from govnet.model import schema as s
from govnet.model.platform import TEMPLATES, HardwareModel, Platform, known_platforms, load_platform
from govnet.model.yamlsrc import Loc

__all__ = ["TEMPLATES", "Deriver", "known_platforms", "platform_data", "requests"]

SERVER_ROLES_NTP = {"ntp"}


def zone_roles(inv: s.Inventory) -> dict[str, str]:
    """Declared zone role → zone name (checks make each role unique)."""
    return {z.role: z.name for z in inv.zones if z.role}


def platform_data(name: str) -> Platform:
    """The validated platform definition (network_templates/<name>/platform.yml)."""
    return load_platform(name)


def link_key(link: s.Link) -> str:
    a, b = sorted([(link.a.device, link.a.interface), (link.b.device, link.b.interface)])
    return f"{a[0]}:{a[1]}--{b[0]}:{b[1]}"


def segment_zone(site: s.Site, seg: s.Segment, roles: dict[str, str]) -> str:
    """The segment's own zone, else a department mgmt segment's declared zone, else the site's."""
    if seg.zone:
        return seg.zone
    if seg.kind == "mgmt" and site.kind == "department" and "department-management" in roles:
        return roles["department-management"]
    return site.zone


def requests(inv: s.Inventory, env: str) -> Iterator[tuple[ipam.Request, Loc]]:
    """Every address need of the inventory with the inventory path it belongs to, in a stable order."""
    for i, site in enumerate(inv.sites):
        for j, dev in enumerate(site.devices):
            yield (
                ipam.Request(f"loopback/{dev.name}", "loopback", 32, reserve_first=1),
                ("sites", i, "devices", j),
            )
            yield (
                ipam.Request(f"mgmt/{dev.name}", "mgmt", 32, reserve_first=2, reserve_last=1),
                (
                    "sites",
                    i,
                    "devices",
                    j,
                ),
            )
    for i, link in enumerate(inv.links):
        yield ipam.Request(f"p2p/{link_key(link)}", "p2p", 31), ("links", i)
    zone_blocks = inv.environments[env].pools.zones
    roles = zone_roles(inv)
    for i, site in enumerate(inv.sites):
        for k, seg in enumerate(site.segments):
            zone = segment_zone(site, seg, roles)
            pool = "dc" if site.kind == "datacentre" else (f"zone:{zone}" if zone in zone_blocks else "lan")
            yield (
                ipam.Request(
                    f"segment/{site.name}/{seg.name}",
                    pool,
                    ipam.prefixlen_for(seg.hosts),
                    pinned=seg.prefix.get(env),
                ),
                ("sites", i, "segments", k),
            )
    for i, srv in enumerate(inv.servers):
        pinned = srv.address.get(env)
        yield (
            ipam.Request(
                f"server/{srv.name}",
                "dc",
                32,
                pinned=IPv4Network(pinned) if pinned else None,
                within=f"segment/{srv.site}/{srv.segment}",
                reserve_first=2,
                reserve_last=2,
            ),
            ("servers", i),
        )


@cache
def parse_service(text: str) -> d.Service:
    if text in ("icmp", "any"):
        return d.Service(text)  # type: ignore[arg-type]
    proto, port = text.split("/")
    return d.Service(proto, int(port))  # type: ignore[arg-type]


def access_port_counts(site: s.Site, held: list[d.Segment], available: int) -> list[int]:
    """Access ports per segment a switch holds: as the inventory says, else an even share of what is left."""
    asked = {seg.name: seg.access_ports for seg in site.segments}
    fixed = sum(asked.get(sg.name) or 0 for sg in held)
    open_ = [sg for sg in held if asked.get(sg.name) is None]
    share = max(available - fixed, 0) // len(open_) if open_ else 0
    return [asked.get(sg.name) if asked.get(sg.name) is not None else share for sg in held]  # type: ignore[misc]


def outside(pools: dict[str, IPv4Network]) -> list[IPv4Network]:
    """The Internet zone: every address but the governorate's own pools (the lab's internet block stays outside),
    so a stateless ACL's return entries towards the Internet never match an internal zone."""
    inside = collapse_addresses(net for name, net in pools.items() if name != "internet" and ":" not in name)
    rest = [IPv4Network("0.0.0.0/0")]
    for net in inside:
        rest = [piece for block in rest for piece in (block.address_exclude(net) if net.subnet_of(block) else [block])]
    return sorted(collapse_addresses(rest))


def _phase_of(inv: s.Inventory) -> dict[str, int]:
    return {site: p.id for p in inv.phases for site in p.sites}


class Deriver:
    """Holds the inventory, plan and platform while building the Network; one instance per derive call."""

    def __init__(self, inv: s.Inventory, env: str, plan: ipam.Plan, vault: Path | None = None) -> None:
        self.inv, self.env, self.plan, self.vault = inv, env, plan, vault
        self.environment = inv.environments[env]
        self.platform = platform_data(self.environment.platform)
        self.model_of = {dev.name: dev.model for site in inv.sites for dev in site.devices}
        self.phase = _phase_of(inv)
        self.site_of = {dev.name: site for site in inv.sites for dev in site.devices}
        self.pools = self.environment.pools.flat()
        self.sites = {x.name: x for x in inv.sites}
        self.policy_cache: dict[str, tuple[d.PolicyEntry, ...]] = {}
        self.roles = zone_roles(inv)

    def hardware(self, device: str) -> HardwareModel | None:
        """The device's hardware model where the platform has per-model data (checked before derive)."""
        return self.platform.model(self.model_of[device]) if self.platform.models else None

    def ifname(self, device: str, logical: str) -> str:
        """Inventory name (eth3) → platform name: the model's third routed port, or the platform's pattern."""
        hw = self.hardware(device)
        if hw is not None:
            return hw.routed()[int(logical[3:]) - 1].name
        return self.platform.interface.format(name=logical, n=int(logical[3:]))

    def seg_ifname(self, vlan: int) -> str:
        return self.platform.segment_interface.format(vlan=vlan)

    def switch_ports(self, device: str, used: set[str], held: list[d.Segment]) -> tuple[d.SwitchPort, ...]:
        """Every port of the model that no link uses: access ports in their segment's VLAN, the rest shut."""
        hw = self.hardware(device)
        if hw is None:
            return ()
        access = [p.name for p in hw.access()]
        ports: list[d.SwitchPort] = []
        start = 0
        for sg, count in zip(held, access_port_counts(self.site_of[device], held, len(access)), strict=True):
            for name in access[start : start + count]:
                ports.append(d.SwitchPort(name, f"{sg.kind} segment {sg.key}", sg.vlan, sg.name))
            start += count
        unused = [p.name for p in hw.routed() if p.name not in used] + access[start:]
        ports += [d.SwitchPort(name, "unused", None, None, routed=name not in access) for name in unused]
        return tuple(ports)

    def segments(self) -> list[d.Segment]:
        out = []
        for site in self.inv.sites:
            holder = next((x.name for x in site.devices if x.role in ("access", "dc_switch")), "")
            for seg in site.segments:
                prefix = self.plan.prefix(f"segment/{site.name}/{seg.name}")
                gateway = ipfast.interface(int(prefix.network_address) + 1, prefix.prefixlen)
                zone = segment_zone(site, seg, self.roles)
                if zone not in self.policy_cache:
                    self.policy_cache[zone] = tuple(self.policy_for(zone))
                policy = self.policy_cache[zone]
                out.append(
                    d.Segment(
                        site.name,
                        seg.name,
                        seg.kind,
                        seg.vlan,
                        prefix,
                        gateway,
                        holder,
                        self.seg_ifname(seg.vlan),
                        zone,
                        policy,
                    )
                )
        return out

    def policy_for(self, zone: str) -> Iterator[d.PolicyEntry]:
        for rule in self.inv.policy:
            if rule.src != zone:
                continue
            for svc in map(parse_service, rule.services):
                proto = "ip" if svc.proto == "any" else svc.proto
                yield d.PolicyEntry(rule.name, rule.action, proto, rule.dst, svc.port)

    def p2p_interfaces(self) -> tuple[dict[str, list[d.Interface]], list[d.Link]]:
        per_device: dict[str, list[d.Interface]] = {}
        links = []
        for link in self.inv.links:
            key = link_key(link)
            prefix = self.plan.prefix(f"p2p/{key}")
            ends = []
            base = int(prefix.network_address)
            names = (self.ifname(link.a.device, link.a.interface), self.ifname(link.b.device, link.b.interface))
            for mine, other, idx in ((link.a, link.b, 0), (link.b, link.a, 1)):
                peer_ifname = names[1 - idx]
                addr = ipfast.interface(base + idx, 31)
                peer_addr = ipfast.address(base + 1 - idx)
                per_device.setdefault(mine.device, []).append(
                    d.Interface(
                        name=names[idx],
                        logical=mine.interface,
                        kind="p2p",
                        address=addr,
                        description=f"to {other.device} {peer_ifname} ({link.medium} {link.bandwidth_mbps} Mb/s)",
                        peer=other.device,
                        peer_interface=peer_ifname,
                        peer_address=peer_addr,
                        ospf_cost=link.ospf_cost,
                        bandwidth_mbps=link.bandwidth_mbps,
                    )
                )
                ends.append(d.LinkEnd(mine.device, names[idx], addr))
            links.append(d.Link(key, ends[0], ends[1], prefix, link.medium, link.bandwidth_mbps, link.ospf_cost))
        return per_device, links

    def devices(self, segments: list[d.Segment], p2p: dict[str, list[d.Interface]]) -> dict[str, d.Device]:
        loopbacks = {
            dev.name: self.plan.prefix(f"loopback/{dev.name}").network_address
            for site in self.inv.sites
            for dev in site.devices
        }
        cores = [n for site in self.inv.sites for n in (x.name for x in site.devices if x.role == "core")]
        mgmt_len = self.pools["mgmt"].prefixlen
        out = {}
        held_by: dict[str, list[d.Segment]] = {}
        for sg in segments:
            held_by.setdefault(sg.device, []).append(sg)
        # Every device but a core peers with the cores alone, and a core with every other device: each neighbour
        # is built once and shared (frozen), not once per device that peers with it (a national core has 5,000).
        core_peers = {n: d.BgpNeighbor(loopbacks[n], n, rr_client=False) for n in cores}
        clients = {n: d.BgpNeighbor(loopbacks[n], n, rr_client=True) for n in loopbacks if n not in core_peers}
        of_client = tuple(core_peers.values())
        for site in self.inv.sites:
            for dev in site.devices:
                held = held_by.get(dev.name, [])
                hw = self.hardware(dev.name)
                seg_ifaces = [
                    d.Interface(
                        name=sg.interface,
                        logical=sg.name,
                        kind="segment",
                        address=sg.gateway,
                        description=f"{sg.kind} segment {sg.site}/{sg.name}",
                        vlan=sg.vlan,
                        segment=sg.name,
                        zone=sg.zone,
                    )
                    for sg in held
                ]
                is_core = dev.role == "core"
                if not is_core:
                    neighbors = of_client
                else:
                    neighbors = tuple(core_peers.get(n) or clients[n] for n in loopbacks if n != dev.name)
                statics = tuple(
                    d.StaticRoute(self.pools[p], "blackhole", f"summary of the {p} pool")
                    for p in ("lan", "dc")
                    if is_core
                )
                out[dev.name] = d.Device(
                    name=dev.name,
                    site=site.name,
                    role=dev.role,
                    platform=self.platform.name,
                    loopback=ipfast.interface(int(loopbacks[dev.name]), 32),
                    router_id=dev.router_id.get(self.env, loopbacks[dev.name]),
                    mgmt=ipfast.interface(int(self.plan.prefix(f"mgmt/{dev.name}").network_address), mgmt_len),
                    mgmt_interface=hw.mgmt.interface if hw else self.platform.mgmt_interface,
                    mgmt_vrf=(hw.mgmt.vrf if hw else "MGMT") if "mgmt_vrf" in self.platform.features else "",
                    mgmt_vrf_builtin=bool(hw and hw.mgmt.builtin),
                    loopback_interface=self.platform.loopback_interface,
                    interfaces=tuple(sorted(p2p.get(dev.name, []), key=lambda i: int(i.logical[3:])) + seg_ifaces),
                    bgp_neighbors=neighbors,
                    bgp_networks=tuple(sg.prefix for sg in held),
                    route_reflector=is_core,
                    static_routes=statics,
                    phase=self.phase.get(site.name, 0),
                    zone=site.zone,
                    model=dev.model,
                    switch=bool(hw and hw.switch),
                    filesystem=hw.filesystem if hw else "",
                    switch_ports=self.switch_ports(
                        dev.name, {i.name for i in p2p.get(dev.name, [])} | self.uplink_ports(dev.name), held
                    ),
                )
        return out

    def servers(self, segments: list[d.Segment]) -> list[d.Server]:
        by_key = {sg.key: sg for sg in segments}
        out = []
        for srv in self.inv.servers:
            seg = by_key[f"{srv.site}/{srv.segment}"]
            addr = self.plan.prefix(f"server/{srv.name}").network_address
            out.append(
                d.Server(
                    srv.name,
                    srv.role,
                    srv.site,
                    srv.segment,
                    IPv4Interface((int(addr), seg.prefix.prefixlen)),
                    seg.gateway.ip,
                    srv.vcpu,
                    srv.memory_mb,
                    srv.disk_gb,
                    tuple(map(parse_service, srv.services)),
                    seg.zone,
                    self.phase.get(srv.site, 0),
                )
            )
        return out

    def hosts(self, segments: list[d.Segment]) -> list[d.Host]:
        return [
            d.Host(
                f"{sg.site}-{sg.name}",
                sg.site,
                sg.name,
                ipfast.interface(int(sg.prefix.broadcast_address) - 1, sg.prefix.prefixlen),
                sg.gateway.ip,
                sg.zone,
            )
            for sg in segments
            if self.inv_site(sg.site).kind == "department"
        ]

    def uplink_ports(self, device: str) -> set[str]:
        ups = self.inv.internet.uplinks if self.inv.internet else ()
        return {self.ifname(device, u.interface) for u in ups if u.device == device}

    def internet(self, servers: list[d.Server]) -> d.InternetEdge | None:
        net = self.inv.internet
        if net is None or "internet" not in self.roles:
            return None
        public = net.public_prefix[self.env]
        by_name = {x.name: x for x in servers}
        uplinks = tuple(
            d.Uplink(
                u.isp,
                u.asn,
                u.device,
                self.ifname(u.device, u.interface),
                u.interface,
                IPv4Interface(
                    (
                        int(u.link[self.env].network_address) + (1 if u.link[self.env].prefixlen == 31 else 2),
                        u.link[self.env].prefixlen,
                    )
                ),
                u.link[self.env][0] if u.link[self.env].prefixlen == 31 else u.link[self.env][1],
                u.bandwidth_mbps,
                u.accept,
                u.max_prefixes,
            )
            for u in net.uplinks
        )
        edges = list(dict.fromkeys(u.device for u in net.uplinks))
        pat = tuple((dev, public[-2 - k]) for k, dev in enumerate(edges))
        published = tuple(
            d.Publication(
                p.name,
                p.server,
                by_name[p.server].address.ip,
                p.address[self.env],
                tuple(map(parse_service, p.services)),
                p.dns,
            )
            for p in net.published
        )
        return d.InternetEdge(self.roles["internet"], public, uplinks, published, pat, net.bfd, net.bgp_keepalive)

    def inv_site(self, name: str) -> s.Site:
        return self.sites[name]

    def network(self) -> d.Network:
        inv, env = self.inv, self.environment
        segments = self.segments()
        p2p, links = self.p2p_interfaces()
        devices = self.devices(segments, p2p)
        servers = self.servers(segments)
        zone_prefixes: dict[str, list[IPv4Network]] = {z.name: [] for z in inv.zones}
        for sg in segments:
            zone_prefixes[sg.zone].append(sg.prefix)
        if "internet" in self.roles:
            zone_prefixes[self.roles["internet"]] = outside(self.pools)

        def by_role(*roles: str) -> tuple[IPv4Address, ...]:
            return tuple(x.address.ip for x in servers if x.role in roles)

        return d.Network(
            name=inv.governorate.name,
            name_ar=inv.governorate.name_ar,
            domain=inv.governorate.domain,
            env=self.env,
            platform=self.platform.name,
            features=self.platform.features,
            asn=inv.governorate.bgp_asn,
            timezone=inv.governorate.timezone,
            ospf_hello=env.ospf_hello,
            ospf_dead=env.ospf_dead,
            ospf_retransmit=env.ospf_retransmit,
            ospf_fast_convergence=env.ospf_fast_convergence,
            bgp_connect_retry=env.bgp_connect_retry,
            bfd_interval=env.bfd_interval,
            bfd_multiplier=env.bfd_multiplier,
            routing_auth=env.routing_auth,
            lab_prefix=env.lab_prefix,
            lab_stock=env.lab_stock,
            vault=self.vault,
            pools=self.pools,
            mgmt_prefix=self.pools["mgmt"],
            mgmt_gateway=ipam.host(self.pools["mgmt"], 1),
            sites={
                x.name: d.Site(
                    x.name,
                    x.kind,
                    x.category,
                    x.name_en,
                    x.name_ar,
                    x.zone,
                    x.critical,
                    self.phase.get(x.name, 0),
                    tuple(v.name for v in x.devices),
                )
                for x in inv.sites
            },
            devices=devices,
            links=tuple(links),
            segments=tuple(segments),
            servers=tuple(servers),
            hosts=tuple(self.hosts(segments)),
            zones=tuple(z.name for z in inv.zones),
            zone_roles=self.roles,
            rules=tuple(
                d.Rule(r.name, r.src, r.dst, r.action, tuple(map(parse_service, r.services))) for r in inv.policy
            ),
            phases=tuple(d.Phase(p.id, p.name, p.name_ar, p.sites) for p in sorted(inv.phases, key=lambda p: p.id)),
            ntp_servers=by_role("ntp"),
            dns_servers=by_role("dns"),
            syslog_servers=by_role("syslog"),
            monitoring_servers=by_role("monitoring"),
            tacacs_servers=tuple((t.name, t.address) for t in env.aaa.tacacs_servers) if env.aaa else (),
            deploy_user=env.deploy_user,
            zone_prefixes={z: tuple(ipfast.collapse(p)) for z, p in zone_prefixes.items()},
            internet=self.internet(servers),
        )
