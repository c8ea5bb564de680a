"""What a rendered configuration says, as plain facts both platforms share.

The parsers (govnet.analyze.ios with ciscoconfparse2, govnet.analyze.frr with frr-reload's own parser) fill these
from the text alone; the checks (govnet.analyze.checks) only read facts.  A line a parser does not know is skipped,
never guessed at: config another feature adds (an Internet edge, NAT) must not break the analysis, and anything it
names that is not defined is reported by the references check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface

from govnet.analyze.ios_acl import Config as AclConfig
from govnet.analyze.nft import Ruleset

# What a reference names: an ACL (IOS: standard or extended, by name or number), a route-map, a prefix-list, an
# object-group, a VRF, an interface (update-source, passive-interface), a key chain.
KINDS = ("acl", "route-map", "prefix-list", "object-group", "vrf", "interface", "key-chain")


@dataclass
class Iface:
    name: str
    address: IPv4Interface | None = None
    secondary: list[IPv4Interface] = field(default_factory=list)
    vrf: str = ""
    shutdown: bool = False
    ospf_area: str | None = None  # dotted form; None: OSPF does not run here
    ospf_network: str = "broadcast"  # the default of both platforms on Ethernet
    ospf_hello: int = 10
    ospf_dead: int | None = None  # None: 4 x hello (both platforms' default)
    ospf_cost: int | None = None
    ospf_passive: bool = False
    ospf_auth: str = ""  # "", "simple", "message-digest", "key-chain NAME"
    ospf_keys: tuple[str, ...] = ()  # key ids (the keys themselves are secrets and never kept)

    @property
    def dead(self) -> int:
        return self.ospf_dead if self.ospf_dead is not None else 4 * self.ospf_hello

    def addresses(self) -> list[IPv4Interface]:
        return ([self.address] if self.address else []) + self.secondary


@dataclass(frozen=True)
class Neighbor:
    address: IPv4Address
    remote_as: int | None
    update_source: str | None  # an interface name, as written


@dataclass
class Bgp:
    asn: int
    router_id: IPv4Address | None = None
    neighbors: dict[IPv4Address, Neighbor] = field(default_factory=dict)


@dataclass
class Facts:
    """One device's rendered configuration, read.  ``where`` of a reference is the line that makes it."""

    name: str  # the hostname the text sets (the file's device name when it sets none)
    platform: str  # "cisco_ios" or "frr"
    interfaces: dict[str, Iface] = field(default_factory=dict)
    bgp: Bgp | None = None
    defined: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})
    used: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name, line)
    acls: AclConfig | None = None  # IOS: the evaluator's view of object-groups, ACLs and their interfaces
    nft: Ruleset | None = None  # FRR: the nftables ruleset rendered for the device, parsed
    problems: list[str] = field(default_factory=list)  # lines the analysis could not evaluate

    def use(self, kind: str, name: str, line: str) -> None:
        self.used.append((kind, name, line.strip()))

    def define(self, kind: str, name: str) -> None:
        self.defined[kind].add(name)

    def owned(self) -> list[tuple[IPv4Address, str]]:
        """Every address the device owns, with the interface holding it."""
        return [(a.ip, i.name) for i in self.interfaces.values() for a in i.addresses()]

    def ospf_addresses(self) -> set[IPv4Address]:
        """Addresses OSPF advertises (interfaces in an area, passive or not, and up)."""
        return {
            a.ip for i in self.interfaces.values() if i.ospf_area is not None and not i.shutdown for a in i.addresses()
        }
