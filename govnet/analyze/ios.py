"""Cisco IOS / IOS-XE configuration text → Facts, with ciscoconfparse2 (IOS's indentation is its structure).

Reads interfaces (addresses, VRF, shutdown, OSPF per interface), `router ospf` (network statements give areas,
passive-interface), `router bgp` (neighbours, remote AS, update source), what is defined (ACLs, route-maps,
prefix-lists, object-groups, VRFs, key chains) and every line that names one.  Unknown lines are skipped.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface

from govnet.analyze.facts import Bgp, Facts, Iface, Neighbor
from govnet.analyze.ios_acl import Wildcard, parse_config

# The management VRFs IOS-XE builds in (never defined in a config).
BUILTIN_VRFS = frozenset({"Mgmt-intf", "Mgmt-vrf"})
# Lines naming something defined elsewhere: (regex on a stripped line, kind, group holding the name(s)).
REFERENCES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rx), kind)
    for rx, kind in (
        (r"^ip access-group (?P<name>\S+) (?:in|out)$", "acl"),
        (r"^access-class (?P<name>\S+) in", "acl"),
        (r"^snmp-server group \S+ v3 \S+(?: \S+ \S+)* access (?P<name>\S+)$", "acl"),
        (r"^snmp-server community \S+ (?:RO|RW) (?P<name>\S+)$", "acl"),
        (r"^ntp access-group \S+ (?P<name>\S+)$", "acl"),
        (r"^match ip address prefix-list (?P<names>.+)$", "prefix-list"),
        (r"^match ip address (?!prefix-list)(?P<names>.+)$", "acl"),
        (r"^neighbor \S+ route-map (?P<name>\S+) (?:in|out)$", "route-map"),
        (r"^neighbor \S+ prefix-list (?P<name>\S+) (?:in|out)$", "prefix-list"),
        (r"^neighbor \S+ distribute-list (?P<name>\S+) (?:in|out)$", "acl"),
        (r"^redistribute .* route-map (?P<name>\S+)$", "route-map"),
        (r"^network \S+(?: mask \S+)? route-map (?P<name>\S+)$", "route-map"),
        (r"^distribute-list prefix (?P<name>\S+) ", "prefix-list"),
        (r"^distribute-list route-map (?P<name>\S+) ", "route-map"),
        (r"^ip nat (?:inside|outside) source list (?P<name>\S+) ", "acl"),
        (r"^ip nat (?:inside|outside) source route-map (?P<name>\S+) ", "route-map"),
        (r"^ip policy route-map (?P<name>\S+)$", "route-map"),
        (r"^(?:vrf forwarding|ip vrf forwarding) (?P<name>\S+)$", "vrf"),
        (r"^ip ospf authentication key-chain (?P<name>\S+)$", "key-chain"),
    )
)
OBJECT_GROUP_USE = re.compile(r"object-group (\S+)")
NETWORK = re.compile(r"^network (\S+) (\S+) area (\S+)$")


def area_dotted(area: str) -> str:
    """IOS and FRR both accept `0` and `0.0.0.0`: compare areas in dotted form."""
    return str(IPv4Address(int(area))) if area.isdigit() else area


def layer3_text(text: str, facts: Facts) -> list[str]:
    """The lines ciscoconfparse2 is given: every top-level block except pure layer-2 ports and banners.

    A switch's access ports are most of its text (48 ports of five lines) and carry no fact a check reads beyond
    their name and state, which are recorded here; ciscoconfparse2 costs about 0.2 ms a line, so handing it
    only the blocks the checks read keeps the analysis of a governorate within seconds."""
    keep: list[str] = []
    block: list[str] = []
    in_banner = False

    def flush() -> None:
        head = block[0].split() if block else []
        body = [line.strip() for line in block[1:]]
        if head[:1] == ["interface"] and len(head) == 2 and not any(b.startswith(("ip ", "vrf ")) for b in body):
            facts.interfaces[head[1]] = Iface(head[1], shutdown="shutdown" in body)
        elif block:
            keep.extend(block)

    for raw in text.splitlines():
        if in_banner:
            in_banner = "^C" not in raw
            continue
        if raw.startswith("banner "):
            flush()
            block = []
            in_banner = raw.count("^C") < 2
            continue
        if raw and not raw[0].isspace() and not raw.startswith("!"):
            flush()
            block = [raw]
        elif raw.strip() and not raw.lstrip().startswith("!") and block:
            block.append(raw)
    flush()
    return keep


def parse_ios(name: str, text: str) -> Facts:
    # imported here: ciscoconfparse2 takes about 0.7 s to import, and verify's cross-check of a lab (FRR only)
    # imports this module for its helpers without parsing any IOS config
    from ciscoconfparse2 import CiscoConfParse

    facts = Facts(name, "cisco_ios")
    parse = CiscoConfParse(layer3_text(text, facts), syntax="ios")
    networks: list[tuple[Wildcard, str]] = []
    passive_default = False
    active: set[str] = set()
    passive: set[str] = set()
    for top in parse.find_objects(r"^\S"):
        head = top.text.strip()
        words = head.split()
        children = [c.text.strip() for c in top.all_children]
        if words[0] == "hostname" and len(words) == 2:
            facts.name = words[1]
        elif words[0] == "interface" and len(words) == 2:
            facts.interfaces[words[1]] = _interface(facts, words[1], children)
        elif words[:2] == ["router", "ospf"]:
            for line in children:
                w = line.split()
                if m := NETWORK.match(line):
                    wc = Wildcard(int(IPv4Address(m[1])), int(IPv4Address(m[2])))
                    networks.append((wc, area_dotted(m[3])))
                elif w == ["passive-interface", "default"]:
                    passive_default = True
                elif w[:2] == ["no", "passive-interface"] and len(w) == 3:
                    active.add(w[2])
                    facts.use("interface", w[2], line)
                elif w[0] == "passive-interface" and len(w) == 2:
                    passive.add(w[1])
                    facts.use("interface", w[1], line)
                _references(facts, line)
        elif words[:2] == ["router", "bgp"] and len(words) == 3:
            facts.bgp = _bgp(facts, int(words[2]), children)
        else:
            _definition(facts, words)
            for line in (head, *children):
                _references(facts, line)
    for iface in facts.interfaces.values():
        if iface.address is not None and iface.ospf_area is None and not iface.vrf:
            value = int(iface.address.ip)
            iface.ospf_area = next((area for wc, area in networks if wc.matches(value)), None)
        iface.ospf_passive = (passive_default and iface.name not in active) or iface.name in passive
    facts.defined["interface"] = set(facts.interfaces)
    problems: list[str] = []
    facts.acls = parse_config(text, problems)
    facts.problems += problems
    return facts


def _interface(facts: Facts, name: str, children: list[str]) -> Iface:
    iface = Iface(name)
    for line in children:
        w = line.split()
        if w[:2] == ["ip", "address"] and len(w) >= 4 and w[2][0].isdigit():
            address = IPv4Interface(f"{w[2]}/{w[3]}")
            if w[4:] == ["secondary"]:
                iface.secondary.append(address)
            else:
                iface.address = address
        elif w == ["shutdown"]:
            iface.shutdown = True
        elif w[:2] == ["vrf", "forwarding"] and len(w) == 3:
            iface.vrf = w[2]
        elif ospf_interface_line(iface, w):
            pass
        elif w[:2] == ["ip", "ospf"] and len(w) == 5 and w[3] == "area":
            iface.ospf_area = area_dotted(w[4])
        _references(facts, line)
    if iface.vrf in BUILTIN_VRFS:
        facts.define("vrf", iface.vrf)
    return iface


def ospf_interface_line(iface: Iface, w: list[str]) -> bool:
    """The interface OSPF lines IOS and FRR write alike (network type, timers, cost, authentication); True if read."""
    if w[:2] != ["ip", "ospf"] or len(w) < 3:
        return False
    if w[2] == "network" and len(w) == 4:
        iface.ospf_network = w[3]
    elif w[2] == "hello-interval" and len(w) == 4:
        iface.ospf_hello = int(w[3])
    elif w[2] == "dead-interval" and len(w) == 4 and w[3].isdigit():
        iface.ospf_dead = int(w[3])
    elif w[2] == "cost" and len(w) == 4:
        iface.ospf_cost = int(w[3])
    elif w[2] == "authentication":
        iface.ospf_auth = " ".join(w[3:]) or "simple"
    elif w[2] == "message-digest-key" and len(w) >= 4:
        iface.ospf_keys += (w[3],)
    else:
        return False
    return True


def _bgp(facts: Facts, asn: int, children: list[str]) -> Bgp:
    bgp = Bgp(asn)
    remote: dict[IPv4Address, int] = {}
    source: dict[IPv4Address, str] = {}
    for line in children:
        w = line.split()
        if w[:2] == ["bgp", "router-id"] and len(w) == 3:
            bgp.router_id = IPv4Address(w[2])
        elif w[0] == "neighbor" and len(w) >= 4 and w[1][0].isdigit():
            address = IPv4Address(w[1])
            if w[2] == "remote-as":
                remote[address] = int(w[3])
            elif w[2] == "update-source":
                source[address] = w[3]
                facts.use("interface", w[3], line)
        _references(facts, line)
    for address in sorted({*remote, *source}):
        bgp.neighbors[address] = Neighbor(address, remote.get(address), source.get(address))
    return bgp


def _definition(facts: Facts, words: list[str]) -> None:
    if words[:2] == ["ip", "access-list"] and len(words) >= 4:
        facts.define("acl", words[3])
    elif words[0] == "access-list" and len(words) >= 2:
        facts.define("acl", words[1])
    elif words[:2] == ["ip", "prefix-list"] and len(words) >= 3:
        facts.define("prefix-list", words[2])
    elif words[0] == "route-map" and len(words) >= 2:
        facts.define("route-map", words[1])
    elif words[0] == "object-group" and len(words) >= 3:
        facts.define("object-group", words[2])
    elif words[:2] == ["vrf", "definition"] and len(words) == 3:
        facts.define("vrf", words[2])
    elif words[:2] == ["key", "chain"] and len(words) == 3:
        facts.define("key-chain", words[2])


def _references(facts: Facts, line: str) -> None:
    for rx, kind in REFERENCES:
        if m := rx.match(line):
            groups = m.groupdict()
            for name in (groups.get("name") or groups.get("names") or "").split():
                facts.use(kind, name, line)
    if ("permit" in line or "deny" in line or line.startswith("group-object")) and "object-group" in line:
        for name in OBJECT_GROUP_USE.findall(line):
            facts.use("object-group", name, line)
    elif line.startswith("group-object "):
        facts.use("object-group", line.split()[1], line)
    if line.startswith("ip route vrf "):
        facts.use("vrf", line.split()[3], line)
