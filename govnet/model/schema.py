"""The inventory's shape: what a person writes in `inventory/<governorate>/*.yml`.

Types only; relations between objects (references, uniqueness, graph properties) are checked in `checks.py`, and
addresses are derived later by IPAM. Every model is frozen and rejects unknown keys so that a typo is an error, not a
silently ignored setting.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

# Device names become namespace, veth and file names: short, lowercase, no surprises.
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$", max_length=12)]
SiteName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*$", max_length=8)]
ZoneName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$", max_length=24)]
InterfaceName = Annotated[str, StringConstraints(pattern=r"^eth[0-9]{1,4}$")]


def _port_in_range(text: str) -> str:
    """`tcp/99999` matches the pattern but is no port: refused here, not rendered as `eq 99999`."""
    if "/" in text and not 1 <= int(text.split("/")[1]) <= 65535:
        raise ValueError(f"port {int(text.split('/')[1])} of {text!r} is outside 1..65535")
    return text


Service = Annotated[
    str, StringConstraints(pattern=r"^(icmp|any|(tcp|udp)/[0-9]{1,5})$"), AfterValidator(_port_in_range)
]

Role = Literal["core", "dc_switch", "edge", "access", "internet_edge"]
SegmentKind = Literal["staff", "services", "mgmt", "dmz", "app", "db", "infra"]


class Base(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Governorate(Base):
    name: str = Field(min_length=1)
    name_ar: str = Field(min_length=1)
    domain: str = Field(pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
    bgp_asn: int = Field(ge=1, le=4294967294)
    timezone: str = "Asia/Baghdad"


class Pools(Base):
    """Address pools of one environment; every derived address comes from one of these."""

    loopback: IPv4Network
    p2p: IPv4Network
    lan: IPv4Network
    dc: IPv4Network
    mgmt: IPv4Network
    internet: IPv4Network | None = Field(
        default=None,
        description="the lab's emulated Internet (ISP links, Internet hosts, the public prefix); never in production",
    )
    zones: dict[ZoneName, IPv4Network] = Field(
        default_factory=dict,
        description="per-zone blocks inside `lan`: a zone's segments then summarise to one prefix (small ACLs)",
    )

    def flat(self) -> dict[str, IPv4Network]:
        """Every pool by name; zone blocks are named `zone:<zone>`."""
        out = {k: v for k, v in self if isinstance(v, IPv4Network)}
        out.update({f"zone:{z}": net for z, net in self.zones.items()})
        return out


class TacacsServer(Base):
    name: Name
    address: IPv4Address


class Aaa(Base):
    """Who authenticates logins on devices whose platform renders AAA (IOS): TACACS+ first, local as fallback."""

    tacacs_servers: tuple[TacacsServer, ...] = Field(min_length=1, max_length=4)


class Environment(Base):
    platform: str
    pools: Pools
    description: str = ""
    deploy_user: Name = Field(
        default="govnet", description="the account govnet logs in with; platforms that manage users render it"
    )
    aaa: Aaa | None = None
    ospf_hello: int = Field(default=10, ge=1, le=65535, description="seconds; the lab uses 1 for fast failover")
    ospf_dead: int = Field(default=40, ge=2, le=65535)
    ospf_retransmit: int = Field(default=5, ge=1, le=65535, description="seconds between LSA retransmissions")
    ospf_fast_convergence: bool = Field(
        default=False, description="sub-second SPF and LSA throttling (routes follow adjacencies within ~1 s)"
    )
    lab_prefix: str = Field(
        default="gv",
        pattern=r"^[a-z]{2,3}$",
        description="lab only: devices live in namespaces <prefix>-<device>; two governorates' labs need two prefixes",
    )
    lab_stock: tuple[Name, ...] = Field(
        default=(),
        description="lab only: devices built as stock FRR boxes (the login lands in a shell, no helper installed: "
        "the FRR driver brings its own); the others keep the lab's login and resident helper",
    )
    bgp_connect_retry: int = Field(
        default=5, ge=1, le=65535, description="seconds between BGP connection attempts to a peer not yet up"
    )
    bfd_interval: int = Field(
        default=300,
        ge=50,
        le=9999,
        description="ms between BFD packets sent and expected on every OSPF link (the range both FRR and IOS take)",
    )
    bfd_multiplier: int = Field(
        default=3, ge=3, le=50, description="BFD packets missed before the neighbour (and its OSPF adjacency) is down"
    )
    routing_auth: bool = Field(
        default=True,
        description="OSPF MD5 keys on every OSPF link and TCP-MD5 passwords on every BGP session; only the lab may "
        "turn it off (bench/deploy_bench.py measures what authentication costs a deploy)",
    )


ZoneRole = Literal["department-management", "dc-management", "internet"]


class Zone(Base):
    name: ZoneName
    description: str = ""
    role: ZoneRole | None = Field(
        default=None,
        description="department-management: departments' mgmt segments belong to it; "
        "dc-management: it manages the network devices (SSH, SNMP); "
        "internet: everything outside the governorate, reached through the Internet edge",
    )


class Rule(Base):
    """One line of the flow policy: traffic from a zone's segments to another zone's segments."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    src: ZoneName = Field(alias="from")
    dst: ZoneName = Field(alias="to")
    action: Literal["allow", "deny"]
    services: tuple[Service, ...] = ("any",)


class Phase(Base):
    id: int = Field(ge=1)
    name: str
    name_ar: str = ""
    sites: tuple[SiteName, ...] = Field(min_length=1)


class Segment(Base):
    """A LAN or DC segment (a VLAN in production, a routed link in the lab)."""

    name: Name
    kind: SegmentKind
    vlan: int = Field(ge=2, le=4094)
    hosts: int = Field(ge=1, le=65000, description="addresses the segment must hold; sets its prefix length")
    zone: ZoneName | None = None
    prefix: dict[str, IPv4Network] = Field(default_factory=dict, description="pinned prefix per environment")
    access_ports: int | None = Field(
        default=None, ge=0, le=512, description="access ports on the holding switch (default: an even share)"
    )


class Device(Base):
    name: Name
    role: Role
    interfaces: tuple[InterfaceName, ...] = Field(min_length=1)
    model: str = ""
    router_id: dict[str, IPv4Address] = Field(default_factory=dict, description="pinned router ID per environment")


class Site(Base):
    name: SiteName
    kind: Literal["datacentre", "department"]
    category: Literal["datacentre", "local-admin", "service", "security"]
    name_en: str = Field(min_length=1)
    name_ar: str = Field(min_length=1)
    zone: ZoneName
    critical: bool = False
    devices: tuple[Device, ...] = Field(min_length=1)
    segments: tuple[Segment, ...] = ()


class LinkEnd(Base):
    device: Name
    interface: InterfaceName


class Link(Base):
    a: LinkEnd
    b: LinkEnd
    medium: Literal["fibre", "microwave", "copper", "leased-line"]
    bandwidth_mbps: int = Field(ge=1, le=400000)
    ospf_cost: int = Field(ge=1, le=65535)


class Server(Base):
    name: Name
    role: str = Field(min_length=1)
    site: SiteName
    segment: Name
    vcpu: int = Field(ge=1, le=256)
    memory_mb: int = Field(ge=256)
    disk_gb: int = Field(ge=1)
    services: tuple[Service, ...] = ()
    address: dict[str, IPv4Address] = Field(default_factory=dict, description="pinned address per environment")


class Uplink(Base):
    """One ISP uplink: the link the ISP provides on an internet_edge device and the eBGP session over it."""

    isp: Name
    asn: int = Field(ge=1, le=4294967294)
    device: Name
    interface: InterfaceName
    bandwidth_mbps: int = Field(ge=1, le=400000)
    link: dict[str, IPv4Network] = Field(
        description="the ISP's link prefix per environment (/30 or /31): the ISP holds the first address, we the next"
    )
    accept: tuple[IPv4Network, ...] = Field(
        default=(IPv4Network("0.0.0.0/0"),),
        min_length=1,
        description="the only prefixes taken from the ISP (exact match); the default route unless said otherwise",
    )
    max_prefixes: int = Field(default=10, ge=1, le=1000000, description="the session is torn down beyond this")


class Published(Base):
    """A server reachable from the Internet: static 1:1 NAT of a public address, only the listed services."""

    name: Name
    server: Name
    services: tuple[Service, ...] = Field(min_length=1)
    address: dict[str, IPv4Address] = Field(description="the public address per environment, inside public_prefix")
    dns: tuple[Name, ...] = Field(default=(), description="names under the domain the public DNS view gives it")


class Internet(Base):
    """The Internet edge: the governorate's public prefix, its ISP uplinks and what it publishes."""

    public_prefix: dict[str, IPv4Network] = Field(description="per environment; announced to the ISPs, nothing else")
    uplinks: tuple[Uplink, ...] = Field(min_length=1)
    published: tuple[Published, ...] = ()
    bfd: bool = Field(default=True, description="BFD on the eBGP sessions (sub-second failure detection)")
    bgp_keepalive: int = Field(default=3, ge=1, le=3600, description="eBGP keepalive seconds (hold time x3)")


class Inventory(Base):
    """Everything in one governorate's inventory directory, merged."""

    governorate: Governorate
    environments: dict[str, Environment] = Field(min_length=1)
    zones: tuple[Zone, ...] = Field(min_length=1)
    policy: tuple[Rule, ...] = ()
    phases: tuple[Phase, ...] = Field(min_length=1)
    sites: tuple[Site, ...] = Field(min_length=1)
    links: tuple[Link, ...] = Field(min_length=1)
    servers: tuple[Server, ...] = ()
    internet: Internet | None = None  # a governorate without an Internet edge leaves it out

    @field_validator("environments")
    @classmethod
    def _env_names(cls, value: dict[str, Environment]) -> dict[str, Environment]:
        for name in value:
            if not name.isidentifier():
                raise ValueError(f"environment name '{name}' must be a simple word")
        return value
