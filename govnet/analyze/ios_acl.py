"""Evaluate packets against the IPv4 extended ACLs of an IOS configuration, from its text.

Parses `object-group network`, `ip access-list extended` and the `ip access-group NAME in` of interfaces, then
answers "would this packet, entering this interface, be permitted, and by which line?" the way IOS does: entries
in sequence order, first match wins, an implicit deny at the end.  Only what govnet renders (and a little more)
is understood; anything else raises AclSyntaxError, so a template printing an unknown word fails loudly instead
of being evaluated as something it is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, summarize_address_range

# Names IOS accepts (and prints) for ports, per protocol.
TCP_PORTS = {
    "bgp": 179, "chargen": 19, "cmd": 514, "daytime": 13, "discard": 9, "domain": 53, "echo": 7, "exec": 512,
    "finger": 79, "ftp": 21, "ftp-data": 20, "gopher": 70, "hostname": 101, "ident": 113, "irc": 194,
    "klogin": 543, "kshell": 544, "login": 513, "lpd": 515, "msrpc": 135, "nntp": 119, "pim-auto-rp": 496,
    "pop2": 109, "pop3": 110, "smtp": 25, "sunrpc": 111, "tacacs": 49, "talk": 517, "telnet": 23, "time": 37,
    "uucp": 540, "whois": 43, "www": 80,
}  # fmt: skip
UDP_PORTS = {
    "biff": 512, "bootpc": 68, "bootps": 67, "discard": 9, "dnsix": 195, "domain": 53, "echo": 7, "isakmp": 500,
    "mobile-ip": 434, "nameserver": 42, "netbios-dgm": 138, "netbios-ns": 137, "netbios-ss": 139,
    "non500-isakmp": 4500, "ntp": 123, "pim-auto-rp": 496, "rip": 520, "snmp": 161, "snmptrap": 162,
    "sunrpc": 111, "syslog": 514, "tacacs": 49, "talk": 517, "tftp": 69, "time": 37, "who": 513, "xdmcp": 177,
}  # fmt: skip
# ICMP message names: (type, code or None for every code of the type).
ICMP_TYPES: dict[str, tuple[int, int | None]] = {
    "administratively-prohibited": (3, 13), "alternate-address": (6, None), "conversion-error": (31, None),
    "dod-host-prohibited": (3, 10), "dod-net-prohibited": (3, 9), "echo": (8, None), "echo-reply": (0, None),
    "general-parameter-problem": (12, 0), "host-isolated": (3, 8), "host-precedence-unreachable": (3, 14),
    "host-redirect": (5, 1), "host-tos-redirect": (5, 3), "host-tos-unreachable": (3, 12),
    "host-unknown": (3, 7), "host-unreachable": (3, 1), "information-reply": (16, None),
    "information-request": (15, None), "mask-reply": (18, None), "mask-request": (17, None),
    "mobile-redirect": (32, None), "net-redirect": (5, 0), "net-tos-redirect": (5, 2),
    "net-tos-unreachable": (3, 11), "net-unreachable": (3, 0), "network-unknown": (3, 6),
    "no-room-for-option": (12, 2), "option-missing": (12, 1), "packet-too-big": (3, 4),
    "parameter-problem": (12, None), "port-unreachable": (3, 3), "precedence-unreachable": (3, 15),
    "protocol-unreachable": (3, 2), "reassembly-timeout": (11, 1), "redirect": (5, None),
    "router-advertisement": (9, None), "router-solicitation": (10, None), "source-quench": (4, None),
    "source-route-failed": (3, 5), "time-exceeded": (11, None), "timestamp-reply": (14, None),
    "timestamp-request": (13, None), "traceroute": (30, None), "ttl-exceeded": (11, 0), "unreachable": (3, None),
}  # fmt: skip
PROTOCOLS = {
    "ip": None, "icmp": 1, "igmp": 2, "ipinip": 4, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ahp": 51,
    "eigrp": 88, "ospf": 89, "nos": 94, "pim": 103, "pcp": 108, "sctp": 132,
}  # fmt: skip
TCP_FLAGS = frozenset({"ack", "fin", "psh", "rst", "syn", "urg"})
MAX_PORT = 65535


class AclSyntaxError(ValueError):
    """A line the evaluator does not understand (so cannot vouch for)."""


# ------------------------------------------------------------------------------------------------ matchers


@dataclass(frozen=True, slots=True)
class Wildcard:
    """An address with an IOS wildcard (1 bits are "don't care"); also non-contiguous ones, as IOS allows."""

    address: int
    wildcard: int

    def matches(self, ip: int) -> bool:
        return (ip | self.wildcard) == (self.address | self.wildcard)

    def within(self, other: Wildcard) -> bool:
        """Every address this matches, *other* matches too."""
        return (self.wildcard | other.wildcard) == other.wildcard and other.matches(self.address)


ANY = Wildcard(0, 0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class Addresses:
    """A source or destination of an entry: a union of wildcards (an object-group is several)."""

    parts: tuple[Wildcard, ...]
    text: str

    def matches(self, ip: IPv4Address) -> bool:
        value = int(ip)
        return any(p.matches(value) for p in self.parts)

    def within(self, other: Addresses) -> bool:
        """Conservative containment: each part inside one part of *other* (a union may cover more)."""
        return all(any(p.within(q) for q in other.parts) for p in self.parts)


@dataclass(frozen=True, slots=True)
class Ports:
    """A port match as closed intervals (`eq 53 123`, `gt 1023`, `range 1 5`, `neq 80` all become intervals)."""

    intervals: tuple[tuple[int, int], ...]

    def matches(self, port: int | None) -> bool:
        return port is not None and any(lo <= port <= hi for lo, hi in self.intervals)

    def within(self, other: Ports | None) -> bool:
        if other is None:
            return True
        return all(any(olo <= lo and hi <= ohi for olo, ohi in other.intervals) for lo, hi in self.intervals)


@dataclass(frozen=True, slots=True)
class Packet:
    """What an entry looks at.  ``flags`` are TCP flags set (syn, ack, rst, fin, psh, urg)."""

    src: IPv4Address
    dst: IPv4Address
    proto: str  # tcp | udp | icmp | another IOS protocol name
    sport: int | None = None
    dport: int | None = None
    flags: frozenset[str] = frozenset()
    icmp_type: int | None = None
    icmp_code: int = 0

    @property
    def number(self) -> int | None:
        return PROTOCOLS.get(self.proto) if not self.proto.isdigit() else int(self.proto)


@dataclass(frozen=True, slots=True)
class Entry:
    """One permit/deny line of an extended ACL, resolved (object-groups expanded)."""

    seq: int
    action: str  # permit | deny
    proto: int | None  # None: ip (every protocol)
    src: Addresses
    dst: Addresses
    sport: Ports | None = None
    dport: Ports | None = None
    established: bool = False
    flags: frozenset[str] = frozenset()  # TCP flags that must be set
    icmp: tuple[int, int | None] | None = None
    log: bool = False
    text: str = ""

    def matches(self, pkt: Packet) -> bool:
        """IOS's match of one entry: protocol, addresses, ports, then the options."""
        if self.proto is not None and pkt.number != self.proto:
            return False
        if not (self.src.matches(pkt.src) and self.dst.matches(pkt.dst)):
            return False
        if self.sport is not None and not self.sport.matches(pkt.sport):
            return False
        if self.dport is not None and not self.dport.matches(pkt.dport):
            return False
        if self.established and not pkt.flags & {"ack", "rst"}:
            return False
        if not self.flags <= pkt.flags:
            return False
        if self.icmp is not None:
            kind, code = self.icmp
            return pkt.icmp_type == kind and (code is None or pkt.icmp_code == code)
        return True

    def within(self, other: Entry) -> bool:
        """Does *other* match every packet this entry matches?  (Conservative: may answer False wrongly.)"""
        if other.proto is not None and other.proto != self.proto:
            return False
        if not (self.src.within(other.src) and self.dst.within(other.dst)):
            return False
        if other.sport is not None and (self.sport is None or not self.sport.within(other.sport)):
            return False
        if other.dport is not None and (self.dport is None or not self.dport.within(other.dport)):
            return False
        if other.established and not self.established:
            return False
        if not other.flags <= self.flags:
            return False
        if other.icmp is not None:
            if self.icmp is None or self.icmp[0] != other.icmp[0]:
                return False
            return other.icmp[1] is None or self.icmp[1] == other.icmp[1]
        return True


@dataclass(frozen=True, slots=True)
class Verdict:
    permitted: bool
    entry: Entry | None  # None: the implicit deny at the end

    @property
    def line(self) -> str:
        """The deciding line as IOS shows it (with its sequence number)."""
        return f"{self.entry.seq} {self.entry.text}" if self.entry else "implicit deny"


@dataclass
class Acl:
    name: str
    entries: list[Entry] = field(default_factory=list)
    remarks: dict[int, str] = field(default_factory=dict)

    def evaluate(self, pkt: Packet) -> Verdict:
        """First matching entry in sequence order decides; nothing matching is denied."""
        for entry in self.entries:
            if entry.matches(pkt):
                return Verdict(entry.action == "permit", entry)
        return Verdict(False, None)

    def shadowed(self) -> list[tuple[Entry, Entry]]:
        """(earlier, later) pairs where the earlier entry matches everything the later one does: the later one
        never decides anything (dead if the actions agree, a bug if they differ)."""
        out = []
        for i, later in enumerate(self.entries):
            earlier = next((e for e in self.entries[:i] if later.within(e)), None)
            if earlier is not None:
                out.append((earlier, later))
        return out


@dataclass
class Interface:
    name: str
    networks: list[IPv4Interface] = field(default_factory=list)
    acl_in: str | None = None
    acl_out: str | None = None


@dataclass
class Config:
    groups: dict[str, list[Wildcard]]
    acls: dict[str, Acl]
    interfaces: dict[str, Interface]

    def interface_for(self, ip: IPv4Address) -> Interface | None:
        """The interface whose connected subnet holds *ip*: where a packet from that address enters."""
        best: tuple[int, Interface] | None = None
        for iface in self.interfaces.values():
            for net in iface.networks:
                if ip in net.network and (best is None or net.network.prefixlen > best[0]):
                    best = (net.network.prefixlen, iface)
        return best[1] if best else None

    def inbound(self, pkt: Packet) -> tuple[Interface | None, Verdict | None]:
        """Judge *pkt* by the inbound ACL of the interface it enters (found from its source address).
        No such interface, or one without an inbound ACL: (interface, None), nothing filters it."""
        iface = self.interface_for(pkt.src)
        if iface is None or iface.acl_in is None:
            return iface, None
        if iface.acl_in not in self.acls:
            raise AclSyntaxError(f"{iface.name}: access-group {iface.acl_in} names no extended ACL")
        return iface, self.acls[iface.acl_in].evaluate(pkt)


# ------------------------------------------------------------------------------------------------ parsing


def _blocks(text: str) -> Iterator[tuple[str, list[str]]]:
    """Top-level lines with their indented children (IOS's indentation is its structure)."""
    head: str | None = None
    children: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("!"):
            continue
        if line[0].isspace():
            if head is not None:
                children.append(line.strip())
            continue
        if head is not None:
            yield head, children
        head, children = line, []
    if head is not None:
        yield head, children


def _ip(word: str) -> int:
    try:
        return int(IPv4Address(word))
    except ValueError as exc:
        raise AclSyntaxError(f"not an IPv4 address: {word!r}") from exc


def _mask_to_wildcard(mask: str) -> int:
    """Object-groups take a subnet mask, ACL entries a wildcard: the same bits, inverted."""
    return ~_ip(mask) & 0xFFFFFFFF


def _group_members(name: str, lines: list[str], groups: dict[str, list[Wildcard]]) -> list[Wildcard]:
    out: list[Wildcard] = []
    for line in lines:
        words = line.split()
        if words[0] == "description":
            continue
        if words[0] == "host" and len(words) == 2:
            out.append(Wildcard(_ip(words[1]), 0))
        elif words[0] == "range" and len(words) == 3:
            first, last = IPv4Address(words[1]), IPv4Address(words[2])
            out += [Wildcard(int(n.network_address), int(n.hostmask)) for n in summarize_address_range(first, last)]
        elif words[0] == "group-object" and len(words) == 2:
            if words[1] not in groups:
                raise AclSyntaxError(f"object-group {name}: group-object {words[1]} is not defined before it")
            out += groups[words[1]]
        elif len(words) == 2:
            net = IPv4Network(f"{words[0]}/{words[1]}", strict=False)
            if str(net.network_address) != words[0]:
                raise AclSyntaxError(f"object-group {name}: {line!r} has host bits set")
            out.append(Wildcard(_ip(words[0]), _mask_to_wildcard(words[1])))
        else:
            raise AclSyntaxError(f"object-group {name}: cannot read {line!r}")
    return out


def _addresses(words: list[str], i: int, groups: dict[str, list[Wildcard]]) -> tuple[Addresses, int]:
    """An address at words[i]: `any`, `host A`, `object-group NAME` or `A WILDCARD`; returns it and the next i."""
    if i >= len(words):
        raise AclSyntaxError("address missing")
    word = words[i]
    if word == "any":
        return Addresses((ANY,), "any"), i + 1
    if word == "host":
        return Addresses((Wildcard(_ip(words[i + 1]), 0),), f"host {words[i + 1]}"), i + 2
    if word == "object-group":
        name = words[i + 1]
        if name not in groups:
            raise AclSyntaxError(f"object-group {name} is not defined")
        return Addresses(tuple(groups[name]), f"object-group {name}"), i + 2
    if i + 1 >= len(words):
        raise AclSyntaxError(f"wildcard missing after {word}")
    address, wildcard = _ip(word), _ip(words[i + 1])
    if address & wildcard:
        raise AclSyntaxError(f"{word} {words[i + 1]}: address bits under the wildcard (IOS would rewrite it)")
    return Addresses((Wildcard(address, wildcard),), f"{word} {words[i + 1]}"), i + 2


def port_number(word: str, proto: str) -> int:
    """A port as written: a number or one of IOS's names for *proto*."""
    if word.isdigit():
        value = int(word)
        if value > MAX_PORT:
            raise AclSyntaxError(f"port out of range: {word}")
        return value
    names = TCP_PORTS if proto == "tcp" else UDP_PORTS
    if word not in names:
        raise AclSyntaxError(f"unknown {proto} port name {word!r}")
    return names[word]


OPERATORS = frozenset({"eq", "neq", "gt", "lt", "range"})


def _ports(words: list[str], i: int, proto: str) -> tuple[Ports | None, int]:
    """An optional port operator at words[i] (only for tcp/udp); returns it and the next i."""
    if proto not in ("tcp", "udp") or i >= len(words) or words[i] not in OPERATORS:
        return None, i
    op = words[i]
    i += 1
    if op == "range":
        lo, hi = port_number(words[i], proto), port_number(words[i + 1], proto)
        return Ports(((lo, hi),)), i + 2
    if op == "eq":  # IOS-XE takes up to ten ports after eq
        values = []
        while i < len(words) and (words[i].isdigit() or words[i] in (TCP_PORTS if proto == "tcp" else UDP_PORTS)):
            values.append(port_number(words[i], proto))
            i += 1
        if not values:
            raise AclSyntaxError("eq without a port")
        return Ports(tuple((v, v) for v in values)), i
    value = port_number(words[i], proto)
    if op == "gt":
        return Ports(((value + 1, MAX_PORT),)), i + 1
    if op == "lt":
        return Ports(((0, value - 1),)), i + 1
    return Ports(tuple(r for r in ((0, value - 1), (value + 1, MAX_PORT)) if r[0] <= r[1])), i + 1  # neq


SEQ = re.compile(r"^\d+$")


def parse_entry(line: str, seq: int, groups: dict[str, list[Wildcard]]) -> Entry:
    """One `[seq] permit|deny proto src [ports] dst [ports] [options]` line (sequence number already split off)."""
    words = line.split()
    action = words[0]
    if action not in ("permit", "deny") or len(words) < 4:
        raise AclSyntaxError(f"cannot read {line!r}")
    proto_word = words[1]
    if proto_word not in PROTOCOLS and not proto_word.isdigit():
        raise AclSyntaxError(f"unknown protocol {proto_word!r} in {line!r}")
    proto = PROTOCOLS[proto_word] if not proto_word.isdigit() else int(proto_word)
    src, i = _addresses(words, 2, groups)
    sport, i = _ports(words, i, proto_word)
    dst, i = _addresses(words, i, groups)
    dport, i = _ports(words, i, proto_word)
    established, log, icmp = False, False, None
    flags: set[str] = set()
    if proto_word == "icmp" and i < len(words):
        if words[i] in ICMP_TYPES:
            icmp = ICMP_TYPES[words[i]]
            i += 1
        elif words[i].isdigit():
            code = int(words[i + 1]) if i + 1 < len(words) and words[i + 1].isdigit() else None
            icmp = (int(words[i]), code)
            i += 1 if code is None else 2
    for word in words[i:]:
        if word == "established" and proto_word == "tcp":
            established = True
        elif word in TCP_FLAGS and proto_word == "tcp":
            flags.add(word)
        elif word in ("log", "log-input"):
            log = True
        else:
            raise AclSyntaxError(f"unknown option {word!r} in {line!r}")
    text = " ".join(words)
    return Entry(seq, action, proto, src, dst, sport, dport, established, frozenset(flags), icmp, log, text)


def parse_acl(name: str, lines: Iterable[str], groups: dict[str, list[Wildcard]]) -> Acl:
    """An extended ACL's lines; entries without a sequence number get the last one + 10, as IOS numbers them.
    A remark shares the number of the entry after it (IOS-XE prints `10 remark ...` then `10 permit ...`)."""
    acl = Acl(name)
    last = 0
    for line in lines:
        words = line.split()
        seq: int | None = None
        if SEQ.match(words[0]):
            seq, words = int(words[0]), words[1:]
        if words[0] == "remark":
            acl.remarks[seq if seq is not None else last + 10] = " ".join(words[1:])
            continue
        number = seq if seq is not None else last + 10
        if number <= last:
            raise AclSyntaxError(f"{name}: sequence {number} after {last}")
        acl.entries.append(parse_entry(" ".join(words), number, groups))
        last = number
    return acl


def _interface(name: str, lines: list[str]) -> Interface:
    iface = Interface(name)
    for line in lines:
        words = line.split()
        if words[:2] == ["ip", "address"] and len(words) >= 4:
            iface.networks.append(IPv4Interface(f"{words[2]}/{words[3]}"))
        elif words[:2] == ["ip", "access-group"] and len(words) == 4:
            if words[3] == "in":
                iface.acl_in = words[2]
            elif words[3] == "out":
                iface.acl_out = words[2]
    return iface


def parse_config(text: str, problems: list[str] | None = None) -> Config:
    """The object-groups, extended ACLs and interface ACL applications of a configuration.

    Without *problems* an unreadable object-group or ACL raises AclSyntaxError; with it, the problem is recorded
    there and that one group or ACL is left out (the analysis then reports what it cannot evaluate)."""
    groups: dict[str, list[Wildcard]] = {}
    acls: dict[str, Acl] = {}
    interfaces: dict[str, Interface] = {}
    for head, children in _blocks(text):
        words = head.split()
        try:
            if words[:2] == ["object-group", "network"] and len(words) == 3:
                groups[words[2]] = _group_members(words[2], children, groups)
            elif words[:3] == ["ip", "access-list", "extended"] and len(words) == 4:
                acls[words[3]] = parse_acl(words[3], children, groups)
            elif words[0] == "interface" and len(words) == 2:
                interfaces[words[1]] = _interface(words[1], children)
        except (AclSyntaxError, ValueError, IndexError) as exc:
            if problems is None:
                raise AclSyntaxError(str(exc)) from exc
            problems.append(f"{head}: {exc}")
    return Config(groups, acls, interfaces)


# ------------------------------------------------------------------------------------------------ packets


def tcp(src: str | IPv4Address, dst: str | IPv4Address, sport: int, dport: int, *flags: str) -> Packet:
    """A TCP segment; ``tcp(a, b, 50000, 443, "syn")`` opens, ``..., "ack")`` answers."""
    return Packet(IPv4Address(src), IPv4Address(dst), "tcp", sport, dport, frozenset(flags))


def udp(src: str | IPv4Address, dst: str | IPv4Address, sport: int, dport: int) -> Packet:
    return Packet(IPv4Address(src), IPv4Address(dst), "udp", sport, dport)


def icmp(src: str | IPv4Address, dst: str | IPv4Address, message: str = "echo") -> Packet:
    """An ICMP message by its IOS name (echo, echo-reply, port-unreachable, ...)."""
    kind, code = ICMP_TYPES[message]
    return Packet(IPv4Address(src), IPv4Address(dst), "icmp", icmp_type=kind, icmp_code=code or 0)
