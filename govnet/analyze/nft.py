"""Evaluate packets against a rendered nftables ruleset: the FRR platform's zone policy and its Internet edge.

Reads the text govnet.policy and govnet.edge render: named interval sets of IPv4 prefixes, chains of rules, and in
a zone-policy `forward` chain the jumps that send what each segment interface starts
(`iifname X oifname != X jump CHAIN`) to that segment's chain.  A rule is a sequence of matches (`iifname`/`oifname`
with a name or a `{ }` list, optionally `!=`; `ip saddr`/`ip daddr` with `@SET` or an address; `tcp|udp dport|sport
N`; `ip protocol P`; `fib saddr oif missing`; `ct state S`) followed by statements: `counter`, `notrack`, the
stateless 1:1 NAT rewrites `ip daddr set A` / `ip saddr set A`, `snat ip to A` / `dnat ip to A`, and a verdict
`accept` / `drop` (a rule without a verdict lets the packet go on to the next rule, rewritten).  Established and
related packets are accepted by state in a zone policy before any of that, so only a flow's first packet is judged,
which is what the policy speaks of.  A rule this reader does not understand is kept as unknown and makes every
verdict through it unknown, rather than being guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network
from typing import Any

SET_HEAD = re.compile(r"^set (\S+) \{$")
ELEMENTS = re.compile(r"^elements = \{ (.*) \}$")
CHAIN_HEAD = re.compile(r"^chain (\S+) \{$")
JUMP = re.compile(r'^iifname "([^"]+)" oifname != "([^"]+)" jump (\S+)$')
_NAMES = r'(?P<neg>!= )?(?:\{ (?P<list>"[^"]+"(?:, "[^"]+")*) \}|"(?P<one>[^"]+)")'
_ADDR = r"(?:@(?P<set>\S+)|(?P<net>\d+\.\d+\.\d+\.\d+(?:/\d+)?))"
_IP = r"(?P<ip>\d+\.\d+\.\d+\.\d+)"
TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern + r"(?: |$)"))
    for kind, pattern in (
        ("iif", r"iifname " + _NAMES),
        ("oif", r"oifname " + _NAMES),
        ("set_daddr", r"ip daddr set " + _IP),
        ("set_saddr", r"ip saddr set " + _IP),
        ("daddr", r"ip daddr " + _ADDR),
        ("saddr", r"ip saddr " + _ADDR),
        ("port", r"(?P<l4>tcp|udp) (?P<dir>dport|sport) (?P<port>\d+)"),
        ("proto", r"ip protocol (?P<proto>\w+)"),
        ("fib", r"fib saddr oif missing"),
        ("ct", r"ct state (?P<state>[\w,]+)"),
        ("counter", r"counter"),
        ("notrack", r"notrack"),
        ("snat", r"snat ip to " + _IP),
        ("dnat", r"dnat ip to " + _IP),
        ("verdict", r"(?P<verdict>accept|drop)"),
        ("comment", r'comment "(?P<comment>[^"]*)"'),
    )
)


@dataclass(frozen=True, slots=True)
class Names:
    """An interface match: the names, or (negated) every interface but them."""

    names: frozenset[str]
    negated: bool = False

    def __contains__(self, name: object) -> bool:
        return (name in self.names) != self.negated


@dataclass(frozen=True, slots=True)
class Addr:
    """An address match: a named set, or a literal prefix (a host when written without a length)."""

    set: str | None = None
    net: IPv4Network | None = None

    def prefixes(self, sets: dict[str, list[IPv4Network]]) -> list[IPv4Network]:
        return sets.get(self.set, []) if self.set is not None else [self.net] if self.net else []

    def __str__(self) -> str:
        return f"@{self.set}" if self.set is not None else str(self.net)


@dataclass(frozen=True, slots=True)
class Packet:
    iif: str
    oif: str
    src: IPv4Address
    dst: IPv4Address
    proto: str
    sport: int | None
    dport: int | None


@dataclass(frozen=True, slots=True)
class Rule:
    text: str
    set: str | None  # destination set; None: any destination (or a literal one, in daddr)
    proto: str | None  # tcp | udp | icmp | None (every protocol)
    port: int | None  # destination port
    accept: bool
    known: bool = True
    terminal: bool = True  # False: no verdict, the packet goes on (rewritten by the NAT statements)
    iif: Names | None = None
    oif: Names | None = None
    saddr: Addr | None = None
    daddr: Addr | None = None  # a literal destination (a set one is also in .set)
    sport: int | None = None
    fib_missing: bool = False  # uRPF: matches a source the FIB has no route back to
    ct: str | None = None
    new_daddr: IPv4Address | None = None  # stateless NAT: ip daddr set / dnat ip to
    new_saddr: IPv4Address | None = None  # ip saddr set / snat ip to
    notrack: bool = False

    @property
    def zone_rule(self) -> bool:
        """Only a destination set, a protocol and a port, and a verdict: a zone policy segment chain's rule."""
        return (
            self.terminal
            and (self.daddr is None or self.daddr.set is not None)
            and (self.iif, self.oif, self.saddr, self.sport, self.ct, self.new_daddr, self.new_saddr) == (None,) * 7
            and not self.fib_missing
        )

    def matches(self, dst: IPv4Address, proto: str, port: int | None, sets: dict[str, list[IPv4Network]]) -> bool:
        if self.set is not None and not any(dst in p for p in sets.get(self.set, ())):
            return False
        if self.proto is not None and self.proto != proto:
            return False
        return self.port is None or self.port == port

    def matches_packet(self, pkt: Packet, sets: dict[str, list[IPv4Network]], routed: bool = True) -> bool:
        """Does the rule match *pkt* (a new, untracked flow; *routed*: the FIB has a route back to its source)?"""
        if self.iif is not None and pkt.iif not in self.iif:
            return False
        if self.oif is not None and pkt.oif not in self.oif:
            return False
        for addr, ip in ((self.saddr, pkt.src), (self.daddr, pkt.dst)):
            if addr is not None and not any(ip in p for p in addr.prefixes(sets)):
                return False
        if self.proto is not None and self.proto != pkt.proto:
            return False
        if self.port is not None and self.port != pkt.dport:
            return False
        if self.sport is not None and self.sport != pkt.sport:
            return False
        if self.fib_missing and routed:
            return False
        return self.ct is None or "new" in self.ct.split(",")

    def rewrite(self, pkt: Packet) -> Packet:
        return replace(pkt, src=self.new_saddr or pkt.src, dst=self.new_daddr or pkt.dst)


@dataclass
class Ruleset:
    sets: dict[str, list[IPv4Network]] = field(default_factory=dict)
    chains: dict[str, list[Rule]] = field(default_factory=dict)
    jumps: dict[str, str] = field(default_factory=dict)  # input interface -> its segment chain

    def verdict(self, iif: str, dst: IPv4Address, proto: str, port: int | None) -> tuple[bool | None, str]:
        """(accepted, deciding rule) for a new flow entering *iif*; accepted None: a rule could not be read.
        An interface without a jump is not filtered (the forward chain's policy is accept)."""
        chain = self.jumps.get(iif)
        if chain is None:
            return True, "no segment chain: forward policy accept"
        for rule in self.chains.get(chain, []):
            if not rule.known or not rule.zone_rule:
                return None, rule.text
            if rule.matches(dst, proto, port, self.sets):
                return rule.accept, rule.text
        return True, f"end of chain {chain}: back to the forward policy (accept)"

    def walk(self, chain: str, pkt: Packet, routed: bool = True) -> tuple[bool | None, Packet, str]:
        """A base chain (policy accept) for *pkt*: (accepted, the packet as rewritten, deciding rule)."""
        for rule in self.chains.get(chain, []):
            if not rule.known:
                return None, pkt, rule.text
            if rule.matches_packet(pkt, self.sets, routed):
                if rule.terminal:
                    return rule.accept, pkt, rule.text
                pkt = rule.rewrite(pkt)
        return True, pkt, f"end of chain {chain}: policy accept"

    def undefined_sets(self) -> list[str]:
        used = {a.set for rules in self.chains.values() for r in rules for a in (r.saddr, r.daddr) if a and a.set}
        used |= {r.set for rules in self.chains.values() for r in rules if r.set}
        return sorted(s for s in used if s not in self.sets)


def _names(m: re.Match[str]) -> Names:
    names = [n.strip().strip('"') for n in m["list"].split(",")] if m["list"] else [m["one"]]
    return Names(frozenset(names), bool(m["neg"]))


def _addr(m: re.Match[str]) -> Addr:
    return Addr(set=m["set"]) if m["set"] else Addr(net=IPv4Network(m["net"]))


@lru_cache(maxsize=65536)
def _rule(line: str) -> Rule:
    """One rule line, read (cached: rules are immutable and the devices of a template share most of theirs)."""
    unknown = Rule(line, None, None, None, False, known=False)
    got: dict[str, Any] = {}  # what the tokens matched, by Rule field
    pos = 0
    while pos < len(line):
        for kind, pattern in TOKENS:
            m = pattern.match(line, pos)
            if m is None:
                continue
            if kind in ("iif", "oif"):
                got[kind] = _names(m)
            elif kind in ("saddr", "daddr"):
                got[kind] = _addr(m)
            elif kind == "port":
                got["port" if m["dir"] == "dport" else "sport"] = int(m["port"])
                got["proto"] = m["l4"]
            elif kind == "proto":
                got["proto"] = m["proto"]
            elif kind == "fib":
                got["fib_missing"] = True
            elif kind == "ct":
                got["ct"] = m["state"]
            elif kind == "notrack":
                got["notrack"] = True
            elif kind in ("set_daddr", "dnat"):
                got["new_daddr"] = IPv4Address(m["ip"])
            elif kind in ("set_saddr", "snat"):
                got["new_saddr"] = IPv4Address(m["ip"])
            elif kind == "verdict":
                got["accept"] = m["verdict"] == "accept"
            pos = m.end()
            break
        else:
            return unknown
    daddr: Addr | None = got.get("daddr")
    return Rule(
        line,
        daddr.set if daddr else None,
        got.get("proto"),
        got.get("port"),
        bool(got.get("accept", False)),
        terminal="accept" in got,
        iif=got.get("iif"),
        oif=got.get("oif"),
        saddr=got.get("saddr"),
        daddr=daddr if daddr and daddr.set is None else None,
        sport=got.get("sport"),
        fib_missing=bool(got.get("fib_missing")),
        ct=got.get("ct"),
        new_daddr=got.get("new_daddr"),
        new_saddr=got.get("new_saddr"),
        notrack=bool(got.get("notrack")),
    )


@lru_cache(maxsize=4096)
def _elements(text: str) -> tuple[IPv4Network, ...]:
    """A set's elements (cached: the zone sets of a national ruleset are the same on every device)."""
    return tuple(IPv4Network(p.strip()) for p in text.split(","))


def parse_ruleset(text: str) -> Ruleset:
    """The sets, chains and jumps of a rendered ruleset (comments and chain headers skipped)."""
    rs = Ruleset()
    current_set: str | None = None
    chain: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if m := SET_HEAD.match(line):
            current_set, rs.sets[m[1]] = m[1], []
        elif current_set is not None and (m := ELEMENTS.match(line)):
            rs.sets[current_set] = list(_elements(m[1]))
        elif m := CHAIN_HEAD.match(line):
            chain, current_set = m[1], None
            rs.chains.setdefault(chain, [])
        elif line == "}":
            if current_set is not None:
                current_set = None
            else:
                chain = None
        elif chain == "forward" and (m := JUMP.match(line)):
            rs.jumps[m[1]] = m[3]
        elif chain is not None and current_set is None and not line.startswith("type "):
            rs.chains[chain].append(_rule(line))
    return rs
