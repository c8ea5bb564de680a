"""The analysis's checks: filters, references, pairing, N-1.  Each reads parsed text (Facts); the model supplies
only the intent the text is judged against: the policy (rules, first match wins, default deny), which zone and
device each segment belongs to (and so a host address to probe from), the cabling (which ports a link joins) and
which sites the inventory calls critical.

Every check yields Check records, one per thing checked, with a name unique in the run (a JUnit testcase each).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import networkx as nx

from govnet.analyze.facts import Facts, Iface, Neighbor
from govnet.analyze.ios_acl import Acl, Packet, Verdict, Wildcard
from govnet.analyze.nft import Packet as NftPacket
from govnet.analyze.nft import Rule, Ruleset
from govnet.edge import bogons, internet_side
from govnet.model.derived import Network, Segment, Service, Uplink

EPHEMERAL = 51515
ONE_WAY_UDP = (514, 162)
ANY_PROBES = (Service("tcp", 22), Service("udp", 161), Service("icmp"))  # concrete probes of an any-service rule
UNLISTED = Service("tcp", 9999)  # a port no policy rule names: the default deny (or an any-service rule) decides
SYN, ACK = frozenset({"syn"}), frozenset({"ack"})


@dataclass
class Check:
    family: str  # filters | references | pairing | n-1
    name: str  # unique in a run
    ok: bool
    summary: str
    details: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ filters


def policy_verdict(network: Network, src: str, dst: str, svc: Service) -> tuple[bool, Service | None]:
    """First match of the zone policy for a new flow (default deny), and the rule service that decided it."""
    for rule in network.rules:
        if (rule.src, rule.dst) != (src, dst):
            continue
        for listed in rule.services:
            if listed.proto == "any" or (listed.proto == svc.proto and listed.port in (None, svc.port)):
                return rule.action == "allow", listed
    return False, None


def flow_classes(network: Network) -> list[tuple[str, str, Service]]:
    """Every (source zone, destination zone, service) a rule names, then an unlisted port for every zone pair."""
    seen: dict[tuple[str, str, Service], None] = {}
    for rule in network.rules:
        for svc in rule.services:
            seen.setdefault((rule.src, rule.dst, svc), None)
    for a in network.zones:
        for b in network.zones:
            seen.setdefault((a, b, UNLISTED), None)
    return list(seen)


_HOSTS: dict[IPv4Network, IPv4Address] = {}


def _host(seg: Segment) -> IPv4Address:
    """The last usable address of the segment (never the gateway)."""
    if seg.prefix not in _HOSTS:
        _HOSTS[seg.prefix] = seg.prefix[-2]
    return _HOSTS[seg.prefix]


def _opening(svc: Service, src: IPv4Address, dst: IPv4Address) -> Packet:
    """The first packet of a new flow: TCP SYN, a UDP request, an ICMP echo."""
    if svc.proto == "tcp":
        return Packet(src, dst, "tcp", EPHEMERAL, svc.port or 0, SYN)
    if svc.proto == "udp":
        return Packet(src, dst, "udp", EPHEMERAL, svc.port or 0)
    return Packet(src, dst, "icmp", icmp_type=8)


def _answer(svc: Service, server: IPv4Address, client: IPv4Address) -> Packet:
    """The server's reply: TCP ACK from the service port, UDP from it, ICMP echo-reply."""
    if svc.proto == "tcp":
        return Packet(server, client, "tcp", svc.port or 0, EPHEMERAL, ACK)
    if svc.proto == "udp":
        return Packet(server, client, "udp", svc.port or 0, EPHEMERAL)
    return Packet(server, client, "icmp", icmp_type=0)


def _reply_needed(svc: Service, decided_by: Service) -> bool:
    """The stateless contract (docs/design.md): which allowed flows an IOS ACL must let the answer of back."""
    if svc.proto != "udp":
        return True
    if decided_by.proto == "any":
        return (svc.port or 0) < 1024
    return svc.port not in ONE_WAY_UDP


@dataclass(frozen=True)
class Outside:
    """A probe destination beyond the Internet edge: the zone of the Internet has no segment, one host stands for
    it (the Internet host the edge probes come from)."""

    key: str
    host: IPv4Address


def _addr(t: Segment | Outside) -> IPv4Address:
    return t.host if isinstance(t, Outside) else _host(t)


def _targets(network: Network, zone: str, segments: list[Segment]) -> list[Segment | Outside]:
    """Probe destinations of a zone: one segment inside each of the zone's prefixes (its object-group / set); the
    Internet's zone: one Internet host."""
    if network.internet is not None and zone == network.internet.zone:
        return [Outside("internet", _client(network))]
    out: list[Segment | Outside] = []
    for prefix in network.zone_prefixes.get(zone, ()):
        seg = next((s for s in segments if s.zone == zone and s.prefix.subnet_of(prefix)), None)
        if seg is not None:
            out.append(seg)
    return out


def _prefixes(nets: Iterable[IPv4Network]) -> tuple[tuple[int, int], ...]:
    """A set's prefixes as integers: a key that hashes without ipaddress's per-object hashing."""
    return tuple((int(n.network_address), n.prefixlen) for n in nets)


class Judge:
    """A packet's verdict at the first hop, from the text: the inbound ACL of the IOS interface it enters, or the
    nftables chain of the FRR interface it enters.  (True/False, deciding line), or (None, why) when unknown."""

    def __init__(self, facts: dict[str, Facts]) -> None:
        self.facts = facts
        self.memo: dict[tuple[Any, ...], tuple[bool | None, str]] = {}
        self.iface_memo: dict[tuple[str, IPv4Address], Iface | None] = {}
        self.chain_ids: dict[tuple[str, str], int] = {}
        self.signatures: dict[tuple[Any, ...], int] = {}
        self._by_signature: dict[int, Callable[[Packet], tuple[bool | None, str]]] = {}

    def interface(self, device: str, ip: IPv4Address) -> Iface | None:
        key = (device, ip)
        if key not in self.iface_memo:
            facts = self.facts.get(device)
            best = None
            for iface in facts.interfaces.values() if facts else ():
                for a in iface.addresses():
                    if ip in a.network and (best is None or a.network.prefixlen > best[0]):
                        best = (a.network.prefixlen, iface)
            self.iface_memo[key] = best[1] if best else None
        return self.iface_memo[key]

    def __call__(self, device: str, pkt: Packet) -> tuple[bool | None, str]:
        facts = self.facts.get(device)
        if facts is None:
            return None, f"no rendered config for {device}"
        iface = self.interface(device, pkt.src)
        if iface is None:
            return None, f"{device}: no interface holds {pkt.src}"
        if facts.acls is not None:
            name = facts.acls.interfaces.get(iface.name)
            acl = name.acl_in if name else None
            if acl is None:
                return True, f"{device} {iface.name}: no inbound ACL"
            if acl not in facts.acls.acls:
                return None, f"{device} {iface.name}: ACL {acl} is not defined (or not readable)"
            verdict: Verdict = facts.acls.acls[acl].evaluate(pkt)
            return verdict.permitted, f"{device} {acl} {verdict.line}"
        if facts.nft is not None:
            return self._nft(device, facts.nft, iface.name, pkt)
        return True, f"{device} {iface.name}: no filter rendered"

    def groups(self, segments: list[Segment]) -> dict[int | None, list[Segment]]:
        """Source segments by the signature of the chain their traffic enters (None: not an nftables chain, or
        no verdict without the device: judged one probe at a time)."""
        out: dict[int | None, list[Segment]] = {}
        for seg in segments:
            facts = self.facts.get(seg.device)
            iface = self.interface(seg.device, _host(seg)) if facts is not None else None
            sig = None
            if facts is not None and facts.acls is None and facts.nft is not None and iface is not None:
                sig = self._signature(seg.device, facts.nft, iface.name)
            out.setdefault(sig, []).append(seg)
        return out

    def agreeing(
        self, groups: dict[int | None, list[Segment]], targets: list[Segment | Outside], probe: Service, allowed: bool
    ) -> int | None:
        """How many (source, target) probes there are when every one of them agrees with *allowed*; None when a
        source must be judged alone or one verdict disagrees (the caller then walks them, naming each)."""
        count = 0
        for sig, segs in groups.items():
            if sig is None:
                return None
            for b in targets:
                sources = len(segs) - (isinstance(b, Segment) and any(a is b for a in segs))  # none probes itself
                if not sources:
                    continue
                pkt = _opening(probe, _host(segs[0]), _addr(b))
                key = (sig, pkt.dst, pkt.proto, pkt.dport)
                if key not in self.memo:
                    self.memo[key] = self._by_signature[sig](pkt)
                if self.memo[key][0] is not allowed:
                    return None
                count += sources
        return count

    def _signature(self, device: str, rs: Ruleset, iif: str) -> int:
        """Segments whose chains read the same (rules and the sets they name) share verdicts: one number each."""
        if (device, iif) not in self.chain_ids:
            chain = rs.jumps.get(iif)
            rules = rs.chains.get(chain, []) if chain else []
            used = tuple(sorted({(r.set, _prefixes(rs.sets.get(r.set, ()))) for r in rules if r.set}))
            texts = tuple(r.text for r in rules)  # a rule is what its text reads (nft._rule): the text keys it
            sig = self.signatures.setdefault((chain is None, texts, used), len(self.signatures))
            self.chain_ids[device, iif] = sig
            self._by_signature.setdefault(sig, lambda p: rs.verdict(iif, p.dst, p.proto, p.dport))
        return self.chain_ids[device, iif]

    def _nft(self, device: str, rs: Ruleset, iif: str, pkt: Packet) -> tuple[bool | None, str]:
        key = (self._signature(device, rs, iif), pkt.dst, pkt.proto, pkt.dport)
        if key not in self.memo:
            self.memo[key] = rs.verdict(iif, pkt.dst, pkt.proto, pkt.dport)
        ok, line = self.memo[key]
        return ok, f"{device} {iif}: {line}"


def flow_verdicts(network: Network, facts: dict[str, Facts]) -> dict[str, bool | None]:
    """The rendered verdict of every probe of every flow class: "src -> dst svc: seg -> seg probe" → allowed
    (None: not evaluable).  What `impact` compares between two revisions."""
    judge = Judge(facts)
    segments = list(network.segments)
    by_zone = {z: [s for s in segments if s.zone == z] for z in network.zones}
    targets = {z: _targets(network, z, segments) for z in network.zones}
    out: dict[str, bool | None] = {}
    for src_zone, dst_zone, svc in flow_classes(network):
        for probe in ANY_PROBES if svc.proto == "any" else (svc,):
            for a in by_zone[src_zone]:
                for b in targets[dst_zone]:
                    if a != b:
                        ok, _ = judge(a.device, _opening(probe, _host(a), _addr(b)))
                        out[f"{src_zone} -> {dst_zone} {svc}: {a.key} -> {b.key} {probe}"] = ok
    return out


def check_filters(network: Network, facts: dict[str, Facts]) -> Iterator[Check]:
    judge = Judge(facts)
    stateless = any(f.acls is not None for f in facts.values())
    segments = list(network.segments)
    by_zone = {z: [s for s in segments if s.zone == z] for z in network.zones}
    targets = {z: _targets(network, z, segments) for z in network.zones}
    # The nftables fast path: a segment's verdicts depend only on its chain's signature (Judge._signature), so
    # each (signature, target, probe) is judged once and the segments sharing it are counted, not walked.  IOS
    # ACLs read the source address (and stateless replies are judged per pair): those keep the per-probe walk.
    groups = {} if stateless else {z: judge.groups(segs) for z, segs in by_zone.items()}
    for src_zone, dst_zone, svc in flow_classes(network):
        if not by_zone[src_zone] or not targets[dst_zone]:
            continue
        wrong: list[str] = []
        probes = 0
        for probe in ANY_PROBES if svc.proto == "any" else (svc,):
            allowed, decided_by = policy_verdict(network, src_zone, dst_zone, probe)
            if not stateless:
                counted = judge.agreeing(groups[src_zone], targets[dst_zone], probe, allowed)
                if counted is not None:
                    probes += counted
                    continue
            for a in by_zone[src_zone]:
                for b in targets[dst_zone]:
                    if a == b:
                        continue
                    probes += 1
                    ok, line = judge(a.device, _opening(probe, _host(a), _addr(b)))
                    if ok is not allowed:
                        want = "allow" if allowed else "deny"
                        got = "unknown" if ok is None else "allow" if ok else "deny"
                        wrong.append(f"{a.key} -> {b.key} {probe}: policy {want}, rendered {got} ({line})")
                    if isinstance(b, Outside):  # the answer enters at the edge: its inbound filter is the edge's
                        continue
                    if stateless and allowed and decided_by is not None and _reply_needed(probe, decided_by):
                        back, line = judge(b.device, _answer(probe, _host(b), _host(a)))
                        if back is not True:
                            wrong.append(f"reply {b.key} -> {a.key} {probe}: not let back ({line})")
        name = f"filters: {src_zone} -> {dst_zone} {svc}"
        summary = f"{len(wrong)} of {probes} probes disagree with the policy" if wrong else f"{probes} probes agree"
        yield Check("filters", name, not wrong, summary, wrong[:50])
    yield from check_edge(network, facts)
    yield from _filter_hygiene(facts, internet_ports(network))


def _client(network: Network) -> IPv4Address:
    """An Internet host: the first address of the Internet side that is no bogon."""
    bad = bogons(network)
    return next(p[1] for p in internet_side(network) if not any(p[1] in b for b in bad))


def _edge_probes(network: Network) -> list[tuple[str, IPv4Address, IPv4Address, Service, IPv4Address | None]]:
    """(what, source, public destination, service, inside address it must reach or None: must be dropped): every
    published service from an Internet host, an unpublished port, and our own public prefix spoofed from outside."""
    edge = network.internet
    if edge is None or not edge.published:
        return []
    client = _client(network)
    out: list[tuple[str, IPv4Address, IPv4Address, Service, IPv4Address | None]] = [
        (f"published {pub.name} {svc}", client, pub.public, svc, pub.inside)
        for pub in edge.published
        for svc in pub.services
    ]
    first = edge.published[0]
    out.append((f"unpublished {first.name} {UNLISTED}", client, first.public, UNLISTED, None))
    out.append(
        (
            f"spoofed {edge.public_prefix[1]} -> {first.name}",
            edge.public_prefix[1],
            first.public,
            first.services[0],
            None,
        )
    )
    return out


def _edge_verdict(
    f: Facts, iface: str, src: IPv4Address, dst: IPv4Address, svc: Service
) -> tuple[bool | None, IPv4Address, str]:
    """What the text does with a new flow from the Internet entering *iface*: (accepted, destination after the
    edge's NAT, deciding line).  IOS: the inbound ACL (it sees the public address); FRR: the edge ruleset's
    prerouting chain (anti-spoofing, the 1:1 NAT) then its forward chain, with a route back to the source."""
    if f.acls is not None:
        port = f.acls.interfaces.get(iface)
        if port is None or port.acl_in is None or port.acl_in not in f.acls.acls:
            return None, dst, f"{iface}: no readable inbound ACL"
        v = f.acls.acls[port.acl_in].evaluate(_opening(svc, src, dst))
        return v.permitted, dst, f"{port.acl_in} {v.line}"
    if f.nft is None:
        return None, dst, "no filter rendered"
    pkt = NftPacket(iface, "", src, dst, svc.proto, EPHEMERAL if svc.port else None, svc.port)
    ok, pkt, line = f.nft.walk("pre", pkt)
    if ok is not True:
        return ok, pkt.dst, f"pre: {line}"
    ok, _, line = f.nft.walk("forward", pkt)
    return ok, pkt.dst, f"forward: {line}"


def check_edge(network: Network, facts: dict[str, Facts]) -> Iterator[Check]:
    """Per uplink: the Internet reaches exactly the published services (on FRR, translated to the server), and
    nothing with our own source enters."""
    probes = _edge_probes(network)
    for up in network.internet.uplinks if network.internet and probes else ():
        f = facts.get(up.device)
        if f is None:
            continue
        wrong = []
        for what, src, dst, svc, inside in probes:
            ok, reached, line = _edge_verdict(f, up.interface, src, dst, svc)
            if ok is not (inside is not None):
                got = "unknown" if ok is None else "allow" if ok else "deny"
                wrong.append(f"{what}: model {'allow' if inside else 'deny'}, rendered {got} ({line})")
            elif inside is not None and f.acls is None and reached != inside:
                wrong.append(f"{what}: translated to {reached}, the model's server is {inside} ({line})")
        name = f"filters: internet -> {up.device} {up.interface} ({up.isp})"
        summary = f"{len(wrong)} of {len(probes)} probes disagree" if wrong else f"{len(probes)} probes agree"
        yield Check("filters", name, not wrong, summary, wrong)


def internet_ports(network: Network) -> dict[str, set[str]]:
    """Device -> its Internet-facing interfaces (platform names), as the model's internet section declares them."""
    out: dict[str, set[str]] = {}
    for up in network.internet.uplinks if network.internet else ():
        out.setdefault(up.device, set()).add(up.interface)
    return out


def _overlaps(part: Wildcard, net: IPv4Network) -> bool:
    """Do a wildcard and a subnet share an address?  They must agree on every bit both care about."""
    care = ~(part.wildcard | int(net.hostmask)) & 0xFFFFFFFF
    return (part.address & care) == (int(net.network_address) & care)


def _acl_hygiene(acl: Acl, sources: list[IPv4Network]) -> list[str]:
    out = []
    for earlier, later in acl.shadowed():
        how = "never decides (redundant)" if earlier.action == later.action else "is overridden: a bug"
        out.append(f"{acl.name} {later.seq} {later.text!r} {how}: {earlier.seq} {earlier.text!r} matches first")
    for entry in acl.entries:
        if not entry.src.parts or not entry.dst.parts:
            out.append(f"{acl.name} {entry.seq} {entry.text!r} matches nothing: an empty object-group")
        elif sources and not any(_overlaps(p, n) for p in entry.src.parts for n in sources):
            out.append(f"{acl.name} {entry.seq} {entry.text!r} matches nothing: no source can enter here")
    return out


def _within(inner: list[IPv4Network], outer: list[IPv4Network]) -> bool:
    return all(any(p.subnet_of(q) for q in outer) for p in inner)


def _covers(earlier: Rule, later: Rule, sets: dict[str, list[IPv4Network]]) -> bool:
    """Does every packet *later* matches also match *earlier* (conservatively: each of earlier's conditions is
    implied by one of later's)?"""
    if earlier.set is not None:
        if later.set is None:
            return False
        if not _within(sets.get(later.set, []), sets.get(earlier.set, [])):
            return False
    for mine, theirs in ((earlier.saddr, later.saddr), (earlier.daddr, later.daddr)):
        if mine is not None and (theirs is None or not _within(theirs.prefixes(sets), mine.prefixes(sets))):
            return False
    for mine_if, theirs_if in ((earlier.iif, later.iif), (earlier.oif, later.oif)):
        if mine_if is not None and mine_if != theirs_if:
            return False
    if earlier.fib_missing and not later.fib_missing:
        return False
    if earlier.ct is not None and earlier.ct != later.ct:
        return False
    if earlier.proto is not None and earlier.proto != later.proto:
        return False
    if earlier.sport is not None and earlier.sport != later.sport:
        return False
    return earlier.port is None or earlier.port == later.port


def _nft_hygiene(rs: Ruleset) -> list[str]:
    out = [f"set {s} is used but not defined" for s in rs.undefined_sets()]
    for chain, rules in rs.chains.items():
        for i, later in enumerate(rules):
            if not later.known:
                out.append(f"{chain}: cannot read {later.text!r}")
                continue
            named = [n for n in (later.set, later.saddr and later.saddr.set) if n]
            empty = next((n for n in named if n in rs.sets and not rs.sets[n]), None)
            if empty is not None:
                out.append(f"{chain}: {later.text!r} matches nothing: set {empty} is empty")
                continue
            if not later.terminal:  # a NAT or notrack statement: every packet it matches goes on
                continue
            earlier = next((e for e in rules[:i] if e.known and e.terminal and _covers(e, later, rs.sets)), None)
            if earlier is not None:
                how = "never decides (redundant)" if earlier.accept == later.accept else "is overridden: a bug"
                out.append(f"{chain}: {later.text!r} {how}: {earlier.text!r} matches first")
    return out


def _filter_hygiene(facts: dict[str, Facts], internet: dict[str, set[str]]) -> Iterator[Check]:
    """Per device: shadowed rules, rules that match nothing, filters that could not be read.  What can enter an
    inbound ACL is its interfaces' connected subnets, except on an Internet-facing interface (*internet*): there
    the source is any address, so an ACL applied there matches nothing only when its source matches nothing."""
    memo: dict[tuple[Any, ...], list[str]] = {}
    for name, f in sorted(facts.items()):
        found = list(f.problems)
        if f.acls is not None:
            for acl in f.acls.acls.values():
                ports = [(n, i) for n, i in f.acls.interfaces.items() if i.acl_in == acl.name]
                if any(n in internet.get(name, ()) for n, _ in ports):
                    sources = [IPv4Network("0.0.0.0/0")]
                else:
                    sources = [a.network for _, i in ports for a in i.networks]
                found += _acl_hygiene(acl, sources)
        if f.nft is not None:
            key = (
                tuple((c, tuple(r.text for r in rules)) for c, rules in f.nft.chains.items()),
                tuple((k, _prefixes(v)) for k, v in f.nft.sets.items()),
            )
            if key not in memo:
                memo[key] = _nft_hygiene(f.nft)
            found += memo[key]
        if f.acls is None and f.nft is None:
            continue
        yield Check("filters", f"filters: rules of {name}", not found, f"{len(found)} finding(s)", found)


# ------------------------------------------------------------------------------------------------ references

CHECKED_UNUSED = ("acl", "route-map", "prefix-list", "object-group")


def check_references(facts: dict[str, Facts]) -> Iterator[Check]:
    for name, f in sorted(facts.items()):
        found = []
        used_names = {(k, n) for k, n, _ in f.used}
        for kind, ref, line in f.used:
            if ref not in f.defined.get(kind, set()):
                found.append(f"{kind} {ref} is used but not defined: {line!r}")
        for kind in CHECKED_UNUSED:
            for ref in sorted(f.defined[kind]):
                if (kind, ref) not in used_names:
                    found.append(f"{kind} {ref} is defined but never used")
        found = list(dict.fromkeys(found))
        yield Check("references", f"references: {name}", not found, f"{len(found)} finding(s)", found)


# ------------------------------------------------------------------------------------------------ pairing


def _end(facts: dict[str, Facts], device: str, interface: str) -> Iface | None:
    f = facts.get(device)
    return f.interfaces.get(interface) if f else None


def link_problems(a: Iface | None, b: Iface | None, a_name: str, b_name: str) -> list[str]:
    """Why two cabled ports would not form a working OSPF point-to-point adjacency ([] when they would)."""
    if a is None or b is None:
        return [f"{a_name if a is None else b_name}: interface not in the rendered config"]
    out = []
    for side, i in ((a_name, a), (b_name, b)):
        if i.address is None:
            out.append(f"{side}: no address")
        if i.shutdown:
            out.append(f"{side}: shut down")
        if i.ospf_area is None:
            out.append(f"{side}: OSPF does not run here")
        elif i.ospf_passive:
            out.append(f"{side}: OSPF passive (no adjacency forms)")
    if a.address is not None and b.address is not None and a.address.network != b.address.network:
        out.append(f"subnet: {a_name} {a.address.with_prefixlen}, {b_name} {b.address.with_prefixlen}")
    if a.ospf_area is None or b.ospf_area is None:
        return out
    for what, x, y in (
        ("OSPF area", a.ospf_area, b.ospf_area),
        ("OSPF network type", a.ospf_network, b.ospf_network),
        ("OSPF hello", a.ospf_hello, b.ospf_hello),
        ("OSPF dead", a.dead, b.dead),
        ("OSPF authentication", a.ospf_auth or "none", b.ospf_auth or "none"),
        ("OSPF key ids", ",".join(a.ospf_keys) or "none", ",".join(b.ospf_keys) or "none"),
    ):
        if x != y:
            out.append(f"{what}: {a_name} {x}, {b_name} {y}")
    return out


def check_pairing(network: Network, facts: dict[str, Facts]) -> Iterator[Check]:
    for link in network.links:
        a_name, b_name = f"{link.a.device} {link.a.interface}", f"{link.b.device} {link.b.interface}"
        found = link_problems(
            _end(facts, link.a.device, link.a.interface), _end(facts, link.b.device, link.b.interface), a_name, b_name
        )
        yield Check("pairing", f"pairing: link {link.name}", not found, "; ".join(found) or "ends agree", found)
    owners: dict[IPv4Address, list[str]] = {}
    for name, f in sorted(facts.items()):
        for ip, iface in f.owned():
            owners.setdefault(ip, []).append(f"{name} {iface}")
    dups = [f"{ip} is owned by {', '.join(o)}" for ip, o in sorted(owners.items()) if len(o) > 1]
    yield Check("pairing", "pairing: addresses owned once", not dups, f"{len(dups)} duplicate(s)", dups)
    yield from _bgp_pairs(facts, owners, network.internet.uplinks if network.internet else ())


def _uplink_problems(f: Facts, up: Uplink, nb: Neighbor | None) -> list[str]:
    """Why the text's eBGP session to a declared ISP would not come up as the model intends ([] when it would)."""
    where = f"uplink {up.isp} ({up.interface}, peer {up.peer} AS {up.asn})"
    if nb is None:
        return [f"{where}: no neighbor {up.peer} in the text"]
    out = []
    if nb.remote_as != up.asn:
        out.append(f"neighbor {up.peer} ({up.isp}): remote-as {nb.remote_as}, the model's {up.isp} is AS {up.asn}")
    iface = f.interfaces.get(up.interface)
    if iface is None or iface.address is None:
        out.append(f"{where}: {up.interface} has no address in the text")
    elif up.peer not in iface.address.network:
        out.append(f"{where}: {up.interface} is {iface.address.with_prefixlen}, the ISP's address is not on it")
    elif iface.shutdown:
        out.append(f"{where}: {up.interface} is shut down")
    return out


def _bgp_pairs(
    facts: dict[str, Facts], owners: dict[IPv4Address, list[str]], uplinks: tuple[Uplink, ...]
) -> Iterator[Check]:
    """Internal sessions pair with the device owning the other end; a session to an ISP pairs with the uplink the
    model's internet section declares (no device is on the other end); any other external peer must at least be on
    a connected subnet."""
    ospf = {name: f.ospf_addresses() for name, f in facts.items()}
    for name, f in sorted(facts.items()):
        declared = {up.peer: up for up in uplinks if up.device == name}
        if f.bgp is None:
            if declared:
                found = [p for up in declared.values() for p in _uplink_problems(f, up, None)]
                yield Check("pairing", f"pairing: bgp {name}", False, "no BGP in the text", found)
            continue
        found = []
        for up in declared.values():
            found += _uplink_problems(f, up, f.bgp.neighbors.get(up.peer))
        for addr, nb in f.bgp.neighbors.items():
            owner = owners.get(addr, [""])[0].split(" ")[0]
            if addr in declared and not owner:
                continue  # judged against the model's uplink above
            if not owner:
                if nb.remote_as is not None and nb.remote_as != f.bgp.asn:
                    # an external peer (an ISP): outside the inventory; it must at least be on a connected subnet
                    if not any(addr in a.network for i in f.interfaces.values() for a in i.addresses()):
                        found.append(f"external neighbor {addr} (AS {nb.remote_as}): not on a connected subnet")
                    continue
                found.append(f"neighbor {addr}: no device owns this address")
                continue
            peer = facts[owner]
            source_ip = _source_address(f, nb.update_source)
            if source_ip is None:
                found.append(f"neighbor {addr}: update-source {nb.update_source} has no address")
                continue
            back = peer.bgp.neighbors.get(source_ip) if peer.bgp else None
            if back is None:
                found.append(f"neighbor {addr} ({owner}): has no neighbor {source_ip} back")
                continue
            peer_as = peer.bgp.asn if peer.bgp else None
            if nb.remote_as != peer_as:
                found.append(f"neighbor {addr} ({owner}): remote-as {nb.remote_as}, {owner} is AS {peer_as}")
            if back.remote_as != f.bgp.asn:
                found.append(f"{owner} neighbor {source_ip}: remote-as {back.remote_as}, {name} is AS {f.bgp.asn}")
            if nb.update_source and source_ip not in ospf[name]:
                found.append(f"update-source {nb.update_source} ({source_ip}) is not in OSPF: unreachable")
            if back.update_source and addr not in ospf[owner]:
                found.append(f"{owner}'s update source {addr} is not in OSPF: unreachable")
        summary = f"{len(f.bgp.neighbors)} session(s)" + (f", {len(found)} problem(s)" if found else " pair up")
        yield Check("pairing", f"pairing: bgp {name}", not found, summary, found)


def _source_address(f: Facts, update_source: str | None) -> IPv4Address | None:
    if update_source is None:  # the session's source is the outgoing interface: take the router ID's address
        return f.bgp.router_id if f.bgp else None
    iface = f.interfaces.get(update_source)
    return iface.address.ip if iface is not None and iface.address is not None else None


# ------------------------------------------------------------------------------------------------ N-1

DC = "<dc>"


def ospf_graph(network: Network, facts: dict[str, Facts]) -> nx.DiGraph:
    """Routers and the adjacencies the rendered text would form over the cabled links, weighted by each side's
    outgoing OSPF cost; a DC segment holder joins the node DC at no cost."""
    graph = nx.DiGraph()
    graph.add_nodes_from(facts)
    for link in network.links:
        a = _end(facts, link.a.device, link.a.interface)
        b = _end(facts, link.b.device, link.b.interface)
        if a is None or b is None or link_problems(a, b, "a", "b"):
            continue
        graph.add_edge(link.a.device, link.b.device, weight=a.ospf_cost or 10, link=link.name)
        graph.add_edge(link.b.device, link.a.device, weight=b.ospf_cost or 10, link=link.name)
    for seg in network.segments:
        if network.sites[seg.site].kind == "datacentre" and seg.device in facts:
            graph.add_edge(seg.device, DC, weight=0, link="")
    return graph


def _path(graph: nx.DiGraph, source: str) -> list[str] | None:
    """A forward search from the site: where a failure cut it off it ends within the site's few nodes (a
    search from the DC side would first expand the cores' thousands of links)."""
    if source not in graph or DC not in graph:
        return None
    try:
        return list(nx.dijkstra_path(graph, source, DC)[:-1])
    except nx.NetworkXNoPath:
        return None


MANY = 16  # from this many affected sites one search from the DC beats one search per site


def site_sources(network: Network) -> dict[str, str]:
    """Each department site's first segment holder: where its traffic to the DC starts."""
    sources: dict[str, str] = {}
    for seg in network.segments:
        if network.sites[seg.site].kind == "department":
            sources.setdefault(seg.site, seg.device)
    return sources


def dc_paths(graph: nx.DiGraph, sources: dict[str, str]) -> dict[str, list[str] | None]:
    """Every site's predicted path to the DC (OSPF shortest path over the adjacencies), None: no path."""
    if DC not in graph:
        return dict.fromkeys(sources)
    _lengths, paths = nx.single_source_dijkstra(graph.reverse(copy=False), DC)
    return {site: list(reversed(paths[dev]))[:-1] if dev in paths else None for site, dev in sources.items()}


def check_n1(network: Network, facts: dict[str, Facts]) -> Iterator[Check]:
    graph = ospf_graph(network, facts)
    sources = site_sources(network)
    dc_holders = {s.device for s in network.segments if network.sites[s.site].kind == "datacentre"}
    baseline = dc_paths(graph, sources)
    cut = [s for s, p in baseline.items() if p is None]
    yield Check(
        "n-1",
        "n-1: every site reaches the DC",
        not cut,
        f"{len(cut)} site(s) cannot reach the DC" if cut else f"{len(sources)} sites reach the DC",
        [f"{s}: no path to the DC" for s in cut],
        {"paths": {s: p for s, p in baseline.items()}},
    )
    on_path: dict[Any, list[str]] = {}
    for site, p in baseline.items():
        for dev in p or ():
            on_path.setdefault(dev, []).append(site)
        for x, y in zip(p or (), (p or [])[1:], strict=False):
            on_path.setdefault(graph.edges[x, y]["link"], []).append(site)
    own = {site: set(network.sites[site].devices) for site in sources}
    critical = {site for site in sources if network.sites[site].critical}
    site_of = {dev: site for site, devs in own.items() for dev in devs}
    by_link: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for u, v, d in graph.edges(data=True):
        by_link.setdefault(d["link"], []).append((u, v, d))
    for link in network.links:
        removed = by_link.get(link.name, [])
        graph.remove_edges_from([(u, v) for u, v, _ in removed])
        a_site = site_of.get(link.a.device)
        inside = {a_site} if a_site is not None and a_site == site_of.get(link.b.device) else set()  # within a site
        yield _failure(f"link {link.name}", on_path.get(link.name, []), graph, sources, baseline, inside, critical)
        graph.add_edges_from(removed)
    for dev in sorted(facts):
        edges = [(u, dev, d) for u, d in graph.pred[dev].items()] + [(dev, v, d) for v, d in graph.succ[dev].items()]
        graph.remove_node(dev)
        down = {site_of[dev]} if dev in site_of else set()
        yield _failure(
            f"device {dev}", on_path.get(dev, []), graph, sources, baseline, down, critical, dc=dev in dc_holders
        )
        graph.add_node(dev)
        graph.add_edges_from(edges)


def _failure(
    element: str,
    affected: list[str],
    graph: nx.DiGraph,
    sources: dict[str, str],
    baseline: dict[str, list[str] | None],
    down: set[str],
    critical: set[str],
    dc: bool = False,
) -> Check:
    lost, rerouted = [], {}
    todo = sorted(set(affected) - down)
    paths = dc_paths(graph, {s: sources[s] for s in todo}) if len(todo) >= MANY else {}
    for site in todo:
        path = paths[site] if paths else _path(graph, sources[site])
        if path is None:
            lost.append(site)
        elif path != baseline[site]:
            rerouted[site] = path
    bad = [] if dc else sorted(set(lost) & critical)
    details = [f"critical site {s} loses the DC" for s in bad]
    details += [f"{s} loses the DC" for s in lost if s not in bad]
    details += [f"{s} reroutes: {' > '.join(p)}" for s, p in rerouted.items()]
    details += [f"{s} is cut off with it (its own device or link)" for s in sorted(down)]
    if dc:
        details.insert(0, "holds DC segments: the DC's own services are down with it")
    summary = f"{len(lost)} lose the DC, {len(rerouted)} reroute" + (f", {len(bad)} critical" if bad else "")
    data = {"lost": lost, "rerouted": rerouted, "down": sorted(down), "dc": dc}
    return Check("n-1", f"n-1: {element}", not bad, summary, details, data)
