"""Evaluate the first packet of a flow against a rendered nftables ruleset (the FRR platform's zone policy).

Reads the text govnet.policy renders: named interval sets of IPv4 prefixes, a `forward` chain that sends what each
segment interface starts (`iifname X oifname != X jump CHAIN`) to that segment's chain, and in the segment chains
rules of the form `ip daddr @SET [tcp|udp dport N | ip protocol P] counter accept|drop`.  Established and related
packets are accepted by state before any of that, so only a flow's first packet is judged, which is what the policy
speaks of.  A rule this reader does not understand is kept as unknown and makes every verdict through it
unknown, rather than being guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

SET_HEAD = re.compile(r"^set (\S+) \{$")
ELEMENTS = re.compile(r"^elements = \{ (.*) \}$")
CHAIN_HEAD = re.compile(r"^chain (\S+) \{$")
JUMP = re.compile(r'^iifname "([^"]+)" oifname != "([^"]+)" jump (\S+)$')
RULE = re.compile(
    r"^(?:ip daddr @(?P<set>\S+) )?"
    r"(?:(?P<l4>tcp|udp) dport (?P<port>\d+) |ip protocol (?P<proto>\w+) )?"
    r"counter (?P<verdict>accept|drop)(?: comment \"(?P<comment>[^\"]*)\")?$"
)


@dataclass(frozen=True, slots=True)
class Rule:
    text: str
    set: str | None  # destination set; None: any destination
    proto: str | None  # tcp | udp | icmp | None (every protocol)
    port: int | None
    accept: bool
    known: bool = True

    def matches(self, dst: IPv4Address, proto: str, port: int | None, sets: dict[str, list[IPv4Network]]) -> bool:
        if self.set is not None and not any(dst in p for p in sets.get(self.set, ())):
            return False
        if self.proto is not None and self.proto != proto:
            return False
        return self.port is None or self.port == port


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
            if not rule.known:
                return None, rule.text
            if rule.matches(dst, proto, port, self.sets):
                return rule.accept, rule.text
        return True, f"end of chain {chain}: back to the forward policy (accept)"

    def undefined_sets(self) -> list[str]:
        return sorted({r.set for rules in self.chains.values() for r in rules if r.set and r.set not in self.sets})


def _rule(line: str) -> Rule:
    m = RULE.match(line)
    if m is None:
        return Rule(line, None, None, None, False, known=False)
    proto = m["l4"] or m["proto"]
    return Rule(line, m["set"], proto, int(m["port"]) if m["port"] else None, m["verdict"] == "accept")


def parse_ruleset(text: str) -> Ruleset:
    """The sets, segment chains and jumps of a rendered ruleset (comments and state rules skipped)."""
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
            rs.sets[current_set] = [IPv4Network(p.strip()) for p in m[1].split(",")]
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
        elif chain is not None and chain != "forward" and current_set is None and not line.startswith("type "):
            rs.chains[chain].append(_rule(line))
    return rs
