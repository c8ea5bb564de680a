"""FRR configuration text → Facts, with frr-reload's own parser (`Config` of /usr/lib/frr/frr-reload.py).

frr-reload is FRR's tool for turning a config into contexts (`interface eth1`, `router bgp 65010`, its
address-families, single-line top-level commands); using it means the analysis splits a config the way FRR's own
reload does.  It ships in the Debian package frr-pythontools and is imported from there, not copied.  When it is
absent the FRR analysis stops with one clear line (FrrReloadMissing); the IOS analysis does not need it.
"""

from __future__ import annotations

import importlib.util
import re
import types
import warnings
from functools import cache
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

from govnet.analyze.facts import Bgp, Facts, Iface, Neighbor
from govnet.analyze.ios import area_dotted, ospf_interface_line

FRR_RELOAD = Path("/usr/lib/frr/frr-reload.py")
REFERENCES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rx), kind)
    for rx, kind in (
        (r"^neighbor \S+ route-map (?P<name>\S+) (?:in|out)$", "route-map"),
        (r"^neighbor \S+ prefix-list (?P<name>\S+) (?:in|out)$", "prefix-list"),
        (r"^neighbor \S+ distribute-list (?P<name>\S+) (?:in|out)$", "acl"),
        (r"^neighbor \S+ update-source (?P<name>[A-Za-z]\S*)$", "interface"),
        (r"^match ip address prefix-list (?P<name>\S+)$", "prefix-list"),
        (r"^match ip address (?!prefix-list)(?P<name>\S+)$", "acl"),
        (r"^redistribute .* route-map (?P<name>\S+)$", "route-map"),
        (r"^network \S+ route-map (?P<name>\S+)$", "route-map"),
        (r"^ip protocol \S+ route-map (?P<name>\S+)$", "route-map"),
        (r"^distribute-list (?P<name>\S+) (?:in|out)", "acl"),
        (r"^table-map (?P<name>\S+)$", "route-map"),
    )
)

# The first words a line of REFERENCES starts with: any other line names nothing (most lines are skipped at once).
REFERENCE_WORDS = (
    "neighbor ",
    "match ip address ",
    "redistribute ",
    "network ",
    "ip protocol ",
    "distribute-list ",
    "table-map ",
)


class FrrReloadMissing(RuntimeError):
    """frr-reload.py (package frr-pythontools) is not installed: FRR configs cannot be read the way FRR does."""


@cache
def frr_reload() -> types.ModuleType:
    """frr-reload.py loaded as a module (it is a program with an importable `Config` class)."""
    if not FRR_RELOAD.is_file():
        raise FrrReloadMissing(f"{FRR_RELOAD} is missing: install the Debian package frr-pythontools")
    spec = importlib.util.spec_from_file_location("frr_reload", FRR_RELOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():  # its regexes have escapes newer Pythons warn about
        warnings.simplefilter("ignore")
        spec.loader.exec_module(module)
    return module


class _Text:
    """frr-reload's `Vtysh` as far as `Config.load_from_file` uses it: our texts are already in vtysh's marked
    form (a golden test checks `vtysh -m` leaves each one as it is), so no vtysh runs."""

    def __init__(self, text: str) -> None:
        self.text = text

    def mark_file(self, filename: str, stdin: object = None) -> str:
        return self.text


def contexts(text: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """The config as frr-reload splits it: (context keys, lines) in order."""
    config: Any = frr_reload().Config(_Text(text))
    config.load_from_file("rendered")
    return [(tuple(keys), list(ctx.lines)) for keys, ctx in config.contexts.items()]


def parse_frr(name: str, text: str) -> Facts:
    facts = Facts(name, "frr")
    for keys, lines in contexts(text):
        words = keys[0].split()
        if words[0] == "hostname" and len(words) == 2:
            facts.name = words[1]
        elif words[0] == "interface" and len(words) >= 2:
            facts.interfaces[words[1]] = _interface(words[1], lines, words)
        elif words[:2] == ["router", "bgp"] and len(words) >= 3:
            if facts.bgp is None:
                facts.bgp = Bgp(int(words[2]))
            _bgp(facts, facts.bgp, lines)
        elif words[:2] == ["router", "ospf"]:
            for line in lines:
                w = line.split()
                if w[0] == "passive-interface" and len(w) == 2 and w[1] in facts.interfaces:
                    facts.interfaces[w[1]].ospf_passive = True
        else:
            _definition(facts, words)
        for line in (*keys, *lines):
            _references(facts, line)
    facts.defined["interface"] = set(facts.interfaces)
    return facts


def _interface(name: str, lines: list[str], head: list[str]) -> Iface:
    iface = Iface(name, vrf=head[3] if head[2:3] == ["vrf"] and len(head) > 3 else "")
    for line in lines:
        w = line.split()
        if w[:2] == ["ip", "address"] and len(w) >= 3:
            address = IPv4Interface(w[2])
            if iface.address is None:
                iface.address = address
            else:
                iface.secondary.append(address)
        elif w == ["shutdown"]:
            iface.shutdown = True
        elif w[:3] == ["ip", "ospf", "area"] and len(w) == 4:
            iface.ospf_area = area_dotted(w[3])
        elif ospf_interface_line(iface, w):
            pass
        elif w[:2] == ["ip", "ospf"] and "passive" in w:
            iface.ospf_passive = True
    return iface


def _bgp(facts: Facts, bgp: Bgp, lines: list[str]) -> None:
    remote = {a: n.remote_as for a, n in bgp.neighbors.items()}
    source = {a: n.update_source for a, n in bgp.neighbors.items() if n.update_source}
    for line in lines:
        w = line.split()
        if w[:2] == ["bgp", "router-id"] and len(w) == 3:
            bgp.router_id = IPv4Address(w[2])
        elif w[0] == "neighbor" and len(w) >= 4 and w[1][0].isdigit():
            address = IPv4Address(w[1])
            if w[2] == "remote-as" and w[3].isdigit():
                remote[address] = int(w[3])
            elif w[2] == "remote-as" and w[3] == "internal":
                remote[address] = bgp.asn
            elif w[2] == "update-source":
                source[address] = w[3]
    for address in sorted({*remote, *source}):
        bgp.neighbors[address] = Neighbor(address, remote.get(address), source.get(address))


def _definition(facts: Facts, words: list[str]) -> None:
    if words[:2] == ["ip", "prefix-list"] and len(words) >= 3:
        facts.define("prefix-list", words[2])
    elif words[0] == "access-list" and len(words) >= 2:
        facts.define("acl", words[1])
    elif words[0] == "route-map" and len(words) >= 2:
        facts.define("route-map", words[1])


def _references(facts: Facts, line: str) -> None:
    text = line.strip()
    if not text.startswith(REFERENCE_WORDS):
        return
    for rx, kind in REFERENCES:
        if m := rx.match(text):
            facts.use(kind, m["name"], line)
