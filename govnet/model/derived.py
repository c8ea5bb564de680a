"""Derive stage: the addressed model every later stage (render, lab, deploy, verify, Ansible, Pulumi) consumes.

Everything computed from the inventory (addresses, neighbours, router IDs, per-segment policy) is computed here, once;
templates only format it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Literal

Role = Literal["core", "dc_switch", "edge", "access", "internet_edge"]


@dataclass(frozen=True, slots=True, kw_only=True)  # thirteen fields: by name, never by position
class Interface:
    name: str  # platform name (eth1, GigabitEthernet0/1, vlan10, Vlan10)
    logical: str  # inventory name (eth1) or segment name
    kind: Literal["p2p", "segment"]
    address: IPv4Interface
    description: str
    peer: str | None = None  # device (p2p) or None (segment)
    peer_interface: str | None = None
    peer_address: IPv4Address | None = None
    ospf_cost: int | None = None  # None: not an OSPF transit interface
    bandwidth_mbps: int | None = None
    vlan: int | None = None
    segment: str | None = None
    zone: str | None = None


@dataclass(frozen=True, slots=True)
class SwitchPort:
    """A port of the device's hardware model that no link uses: an access port of a segment, or unused (shut)."""

    name: str
    description: str
    vlan: int | None  # None: unused
    segment: str | None
    routed: bool = False  # an unused routed (uplink) port rather than an access port


@dataclass(frozen=True, slots=True)
class BgpNeighbor:
    address: IPv4Address
    name: str
    rr_client: bool


@dataclass(frozen=True, slots=True)
class StaticRoute:
    prefix: IPv4Network
    nexthop: str  # an address or "blackhole"
    description: str


@dataclass(frozen=True, slots=True)
class PolicyEntry:
    """One filter line for traffic leaving a segment: what it may (or may not) start towards `dst`."""

    rule: str
    action: Literal["allow", "deny"]
    proto: Literal["ip", "tcp", "udp", "icmp"]
    dst_zone: str  # the zone's prefixes are in Network.zone_prefixes (object-groups / nftables sets)
    port: int | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    site: str
    name: str
    kind: str
    vlan: int
    prefix: IPv4Network
    gateway: IPv4Interface
    device: str
    interface: str
    zone: str
    policy: tuple[PolicyEntry, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.site}/{self.name}"


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    site: str
    role: Role
    platform: str
    loopback: IPv4Interface
    router_id: IPv4Address
    mgmt: IPv4Interface
    mgmt_interface: str
    loopback_interface: str
    interfaces: tuple[Interface, ...]
    bgp_neighbors: tuple[BgpNeighbor, ...]
    bgp_networks: tuple[IPv4Network, ...]
    route_reflector: bool
    static_routes: tuple[StaticRoute, ...]
    phase: int
    zone: str
    model: str = ""
    mgmt_vrf: str = ""  # "" where management shares the global table (the lab)
    mgmt_vrf_builtin: bool = False  # the model's own management VRF (Mgmt-intf, Mgmt-vrf): never defined
    switch: bool = False  # front ports are switchports: a routed link port needs `no switchport`
    filesystem: str = ""  # where archive and driver files live (bootflash:, flash:)
    switch_ports: tuple[SwitchPort, ...] = ()  # every other port of the model, rendered so a replace owns it

    @property
    def segments(self) -> tuple[Interface, ...]:
        return tuple(i for i in self.interfaces if i.kind == "segment")

    @property
    def p2p(self) -> tuple[Interface, ...]:
        return tuple(i for i in self.interfaces if i.kind == "p2p")


@dataclass(frozen=True, slots=True)
class LinkEnd:
    device: str
    interface: str  # platform name
    address: IPv4Interface


@dataclass(frozen=True, slots=True)
class Link:
    name: str  # stable key: "a-dev:eth1--b-dev:eth2"
    a: LinkEnd
    b: LinkEnd
    prefix: IPv4Network
    medium: str
    bandwidth_mbps: int
    ospf_cost: int


@dataclass(frozen=True, slots=True)
class Service:
    proto: Literal["tcp", "udp", "icmp", "any"]
    port: int | None = None

    def __str__(self) -> str:
        return f"{self.proto}/{self.port}" if self.port is not None else self.proto


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    role: str
    site: str
    segment: str
    address: IPv4Interface
    gateway: IPv4Address
    vcpu: int
    memory_mb: int
    disk_gb: int
    services: tuple[Service, ...]
    zone: str
    phase: int


@dataclass(frozen=True, slots=True)
class Host:
    """A staff PC (or service kiosk) standing in for a department LAN in the lab."""

    name: str
    site: str
    segment: str
    address: IPv4Interface
    gateway: IPv4Address
    zone: str


@dataclass(frozen=True, slots=True)
class Site:
    name: str
    kind: Literal["datacentre", "department"]
    category: str
    name_en: str
    name_ar: str
    zone: str
    critical: bool
    phase: int
    devices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Phase:
    id: int
    name: str
    name_ar: str
    sites: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    src: str
    dst: str
    action: Literal["allow", "deny"]
    services: tuple[Service, ...]


@dataclass(frozen=True, slots=True)
class Uplink:
    """One ISP uplink on an internet_edge device: the link the ISP gives and the eBGP session over it."""

    isp: str
    asn: int
    device: str
    interface: str  # platform name
    logical: str  # inventory name (eth2)
    address: IPv4Interface  # ours: the second address of the ISP's link prefix
    peer: IPv4Address  # the ISP's: the first
    bandwidth_mbps: int
    accept: tuple[IPv4Network, ...]
    max_prefixes: int

    @property
    def key(self) -> str:
        """The secret holding this session's TCP-MD5 password: one per ISP (GOVNET_BGP_KEY_<ISP>)."""
        return "bgp_key_" + "".join(c if c.isalnum() else "_" for c in self.isp.lower())


@dataclass(frozen=True, slots=True)
class Publication:
    """A published server: its public address is statically translated to its own on every edge."""

    name: str
    server: str
    inside: IPv4Address
    public: IPv4Address
    services: tuple[Service, ...]
    dns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class InternetEdge:
    zone: str
    public_prefix: IPv4Network
    uplinks: tuple[Uplink, ...]
    published: tuple[Publication, ...]
    pat: tuple[tuple[str, IPv4Address], ...]  # (edge device, its PAT address), from the top of the public prefix
    bfd: bool
    keepalive: int

    @property
    def hold(self) -> int:
        return 3 * self.keepalive

    @property
    def devices(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(u.device for u in self.uplinks))

    def uplinks_of(self, device: str) -> tuple[Uplink, ...]:
        return tuple(u for u in self.uplinks if u.device == device)

    def pat_of(self, device: str) -> IPv4Address | None:
        return next((a for d, a in self.pat if d == device), None)


@dataclass(frozen=True)
class Network:
    """The governorate in one environment, fully addressed. Frozen: stages never change it."""

    name: str
    name_ar: str
    domain: str
    env: str
    platform: str
    features: frozenset[str]
    asn: int
    timezone: str
    ospf_hello: int
    ospf_dead: int
    ospf_retransmit: int
    ospf_fast_convergence: bool
    bgp_connect_retry: int
    bfd_interval: int  # ms, BFD on every OSPF link (tx and min rx)
    bfd_multiplier: int
    pools: dict[str, IPv4Network]
    mgmt_prefix: IPv4Network
    mgmt_gateway: IPv4Address
    sites: dict[str, Site]
    devices: dict[str, Device]
    links: tuple[Link, ...]
    segments: tuple[Segment, ...]
    servers: tuple[Server, ...]
    hosts: tuple[Host, ...]
    zones: tuple[str, ...]
    rules: tuple[Rule, ...]
    phases: tuple[Phase, ...]
    ntp_servers: tuple[IPv4Address, ...] = ()
    dns_servers: tuple[IPv4Address, ...] = ()
    syslog_servers: tuple[IPv4Address, ...] = ()
    monitoring_servers: tuple[IPv4Address, ...] = ()
    tacacs_servers: tuple[tuple[str, IPv4Address], ...] = ()  # (name, address), in the inventory's order
    deploy_user: str = "govnet"
    lab_prefix: str = "gv"  # the lab's namespace prefix (gv-<device>)
    lab_stock: tuple[str, ...] = ()  # lab devices built as stock FRR boxes (govnet.lab: no forced login, no helper)
    zone_prefixes: dict[str, tuple[IPv4Network, ...]] = field(default_factory=dict)
    zone_roles: dict[str, str] = field(default_factory=dict)  # declared role → zone (department-management …)
    internet: InternetEdge | None = None  # the Internet edge, where the inventory has one
    #: The environment's Ansible Vault beside the inventory (group_vars/env_<env>/vault.yml; govnet.vault), where
    #: the secrets the inventory never holds may be kept
    vault: Path | None = None
    routing_auth: bool = True  # OSPF MD5 and BGP TCP-MD5 on every adjacency (off only in a lab that asks)

    def role_prefixes(self, role: str) -> tuple[IPv4Network, ...]:
        """The prefixes of the zone that declares *role* (none when no zone does)."""
        zone = self.zone_roles.get(role)
        return self.zone_prefixes.get(zone, ()) if zone else ()

    @cached_property
    def _segment_index(self) -> dict[tuple[str, str], Segment]:
        return {(s.site, s.name): s for s in self.segments}

    def segment(self, site: str, name: str) -> Segment:
        return self._segment_index[(site, name)]

    def server(self, name: str) -> Server:
        return next(s for s in self.servers if s.name == name)

    def devices_in_phase(self, phase: int) -> list[Device]:
        return [d for d in self.devices.values() if d.phase == phase]
