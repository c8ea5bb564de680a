"""Data plane, from the host and server namespaces: reachability matrix, services, traceroute, segmentation.

Every expectation comes from ``govnet.verify.expect`` (the model and its policy); this module only sends the
packets and compares.
"""

from __future__ import annotations

import subprocess
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from govnet.model.derived import Network
from govnet.verify.expect import Endpoint, device_addresses, endpoints, judge, primary_core
from govnet.verify.probes import ANSWERED, REFUSED, SILENT, Probe, probe_many
from govnet.verify.result import Check

Where = dict[str, tuple[str, str]]  # endpoint name → (netns, address)


@dataclass
class Matrix:
    """Rows: department hosts; columns: DC servers then department hosts. Cells: (expected, reached, rule)."""

    rows: list[str]
    cols: list[str]
    cells: dict[tuple[str, str], tuple[bool, bool, str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "cols": self.cols,
            "cells": [
                {"src": s, "dst": d, "expected": e, "reached": r, "rule": rule}
                for (s, d), (e, r, rule) in self.cells.items()
            ],
        }


def reachability(network: Network, where: Where, only: Collection[str] | None = None) -> tuple[Matrix, list[Check]]:
    """Every host pings every DC server and every other host; the policy says which must answer. With *only*
    (a verify's scope), the pairs with an endpoint of *only* on either side: its row and its column."""
    eps = {e.name: e for e in endpoints(network)}
    hosts = [e.name for e in eps.values() if e.kind == "host"]
    cols = [e.name for e in eps.values() if e.kind == "server"] + hosts
    pairs = [(s, d) for s in hosts for d in cols if s != d and (only is None or s in only or d in only)]
    matrix = Matrix([h for h in hosts if any(s == h for s, _ in pairs)], cols)
    probes: dict[tuple[str, str], Probe] = {(s, d): (where[s][0], where[d][1], "icmp", None) for s, d in pairs}
    verdicts = {pair: judge(network, eps[pair[0]], eps[pair[1]], "icmp") for pair in pairs}
    allowed = {probe for pair, probe in probes.items() if verdicts[pair].allowed}
    got = probe_many(probes.values(), timeout=1.0, tries=2, retry=allowed.__contains__)
    checks = []
    for s in matrix.rows:
        wrong = []
        mine = [d for d in cols if (s, d) in probes]
        for d in mine:
            verdict = verdicts[(s, d)]
            reached = got[probes[(s, d)]] == ANSWERED
            matrix.cells[(s, d)] = (verdict.allowed, reached, verdict.rule)
            if reached != verdict.allowed:
                wrong.append(f"{d} {'unreachable' if verdict.allowed else 'reachable'} (policy: {verdict.rule})")
        n = len(mine)
        checks.append(Check("reachability", f"{s} → {n} endpoints as the policy says", not wrong, "; ".join(wrong)))
    return matrix, checks


def _source_for(network: Network, eps: list[Endpoint], dst: Endpoint, proto: str, port: int | None) -> Endpoint | None:
    """A host (preferred) or server the policy allows to start this flow."""
    ordered = sorted(eps, key=lambda e: e.kind != "host")
    return next(
        (e for e in ordered if e.name != dst.name and judge(network, e, dst, proto, port).allowed),
        None,
    )


def service_checks(network: Network, where: Where, protocols: tuple[str, ...] = ("tcp", "udp")) -> list[Check]:
    """Each DC server's planned TCP/UDP service answered by its listener, from a source the policy allows.

    Real servers answer UDP only in their own protocol (DNS, NTP; syslog never answers): with them, only the TCP
    ports are probed here and the UDP services are checked by what they do (``govnet.verify.eservices``)."""
    eps = endpoints(network)
    plan: list[tuple[Endpoint, Endpoint, str, int]] = []
    for dst in (e for e in eps if e.kind == "server"):
        for svc in dst.services:
            if svc.proto in protocols and svc.port:
                src = _source_for(network, eps, dst, svc.proto, svc.port)
                if src is not None:
                    plan.append((src, dst, svc.proto, svc.port))
    probes = {(s.name, d.name, pr, pt): (where[s.name][0], where[d.name][1], pr, pt) for s, d, pr, pt in plan}
    got = probe_many(probes.values(), timeout=1.0, tries=2)
    out = []
    for (s, d, pr, pt), probe in probes.items():
        state = got[probe]
        detail = "" if state == ANSWERED else {REFUSED: "no listener (refused)", SILENT: "no answer"}[state]
        out.append(Check("services", f"{d} {pr}/{pt} from {s}", state == ANSWERED, detail))
    return out


@dataclass(frozen=True)
class FlowClass:
    src_zone: str
    dst_zone: str
    proto: str
    port: int | None
    src: Endpoint
    dst: Endpoint

    @property
    def label(self) -> str:
        svc = f"{self.proto}/{self.port}" if self.port else self.proto
        return f"{self.src_zone} → {self.dst_zone} {svc}"


def flow_classes(network: Network, scope: tuple[Collection[str], Collection[str]] | None = None) -> list[FlowClass]:
    """Every (source zone, destination zone, service) the policy or the servers name, with a representative pair.

    Services: ICMP, the destination zone's server services, and every service a policy entry from the source zone
    names; representative endpoints sit in different segments (traffic inside a segment is never filtered), and a
    server offering the service is preferred as destination so an allowed flow meets a real listener.

    With *scope* (endpoints, zones of a verify's scope): the classes from or to a zone of *zones*, and those an
    endpoint of *endpoints* can represent (that endpoint as their source or destination).
    """
    eps = endpoints(network)
    if scope is not None:
        names, zones = scope
        mine = [e for e in eps if e.name in names]
        every = flow_classes(network)
        out = [c for c in every if c.src_zone in zones or c.dst_zone in zones]
        for c in every:
            if c.src_zone in zones or c.dst_zone in zones:
                continue
            pair = _scoped_pair(network, eps, mine, c)
            if pair is not None:
                out.append(FlowClass(c.src_zone, c.dst_zone, c.proto, c.port, *pair))
        return out
    by_zone: dict[str, list[Endpoint]] = {}
    for e in eps:
        by_zone.setdefault(e.zone, []).append(e)
    out = []
    for src_zone, sources in by_zone.items():
        for dst_zone, dests in by_zone.items():
            services: set[tuple[str, int | None]] = {("icmp", None)}
            services |= {(s.proto, s.port) for d in dests for s in d.services if s.proto in ("tcp", "udp")}
            for seg in network.segments:
                if seg.zone == src_zone:
                    services |= {
                        (p.proto, p.port) for p in seg.policy if p.dst_zone == dst_zone and p.proto in ("tcp", "udp")
                    }
            for proto, port in sorted(services, key=lambda x: (x[0], x[1] or 0)):
                pair = _pair(sources, dests, proto, port)
                if pair is not None:
                    out.append(FlowClass(src_zone, dst_zone, proto, port, *pair))
    return out


def _pair(
    sources: list[Endpoint], dests: list[Endpoint], proto: str, port: int | None
) -> tuple[Endpoint, Endpoint] | None:
    offering = [d for d in dests if proto == "icmp" or any(s.proto == proto and s.port == port for s in d.services)]
    for dst in offering + [d for d in dests if d not in offering]:
        for src in sorted(sources, key=lambda e: e.kind != "host"):
            if (src.site, src.segment) != (dst.site, dst.segment):
                return src, dst
    return None


def _scoped_pair(
    network: Network, eps: list[Endpoint], mine: list[Endpoint], c: FlowClass
) -> tuple[Endpoint, Endpoint] | None:
    """The class with an endpoint of the scope on one side (its source preferred), or None."""
    sources = [e for e in eps if e.zone == c.src_zone]
    dests = [e for e in eps if e.zone == c.dst_zone]
    first = _pair([e for e in mine if e.zone == c.src_zone], dests, c.proto, c.port)
    return first or _pair(sources, [e for e in mine if e.zone == c.dst_zone], c.proto, c.port)


def _other_sources(
    network: Network, where: Where, classes: list[FlowClass], probes: dict[FlowClass, Probe], got: dict[Probe, str]
) -> dict[Probe, str]:
    """Real servers filter their own ports more narrowly than the zone policy (the node exporter answers only the
    monitoring servers): an allowed class whose representative was dropped counts as passing when another source
    of its zone, in another segment than the destination, gets through. Denied classes keep one representative."""
    eps = endpoints(network)
    retry = [c for c in classes if got[probes[c]] == SILENT and judge(network, c.src, c.dst, c.proto, c.port).allowed]
    alt = {
        c: [
            (where[e.name][0], where[c.dst.name][1], c.proto, c.port)
            for e in eps
            if e.zone == c.src_zone and e.segment != c.dst.segment and e.name not in (c.src.name, c.dst.name)
        ]
        for c in retry
    }
    answers = probe_many([p for ps in alt.values() for p in ps], timeout=1.0, tries=1) if alt else {}
    return {probes[c]: ANSWERED for c, ps in alt.items() if any(answers[p] != SILENT for p in ps)}


def segmentation(
    network: Network,
    where: Where,
    real: dict[str, str] | None = None,
    scope: tuple[Collection[str], Collection[str]] | None = None,
) -> list[Check]:
    """A line per flow class: an allowed flow must get through, a denied one must be dropped.

    With real servers (``real``: server → container) a UDP syslog flow to a log server is judged by delivery: the
    line sent must be filed by the server (allowed) or must not be (denied); syslog never answers a probe."""
    classes = flow_classes(network, scope)
    probes = {c: (where[c.src.name][0], where[c.dst.name][1], c.proto, c.port) for c in classes}
    got = probe_many(probes.values(), timeout=1.0, tries=1)
    for c in classes:
        if real and c.dst.name in real and (c.proto, c.port) == ("udp", 514):
            from govnet.verify.eservices import syslog_delivered

            sent = syslog_delivered(where[c.src.name][0], where[c.dst.name][1], real[c.dst.name], c.src.name)
            got[probes[c]] = ANSWERED if sent else SILENT
    if real:
        got.update(_other_sources(network, where, classes, probes, got))
    out = []
    for c in classes:
        verdict = judge(network, c.src, c.dst, c.proto, c.port)
        passed = got[probes[c]] != SILENT
        ok = passed == verdict.allowed
        word = "allowed" if verdict.allowed else "denied"
        detail = "" if ok else f"{'blocked' if verdict.allowed else 'passes'} ({c.src.name} → {c.dst.name})"
        out.append(
            Check(
                "segmentation",
                f"{c.label}: {word} by {verdict.rule}",
                ok,
                detail,
                {
                    "src": c.src.name,
                    "dst": c.dst.name,
                    "proto": c.proto,
                    "port": c.port,
                    "expected": word,
                    "result": got[probes[c]],
                },
            )
        )
    return out


def traceroute(netns: str, address: str, max_hops: int = 10) -> list[str]:
    """Hop addresses (``*`` for silent hops) of an ICMP traceroute from a namespace."""
    argv = ["ip", "netns", "exec", netns, "traceroute", "-n", "-I", "-q", "1", "-w", "1", "-m", str(max_hops), address]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=max_hops * 2 + 5, check=False)
    hops = []
    for line in proc.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2:
            hops.append(parts[1])
    return hops


def path_target(network: Network, site: str, where: Where) -> tuple[Endpoint, Endpoint] | None:
    """A department host and a DC server it may ping (the probe pair for paths and failover)."""
    eps = endpoints(network)
    hosts = [e for e in eps if e.kind == "host" and e.site == site]
    servers = [e for e in eps if e.kind == "server"]
    for h in hosts:
        for s in servers:
            if judge(network, h, s, "icmp").allowed:
                return h, s
    return None


def core_on_path(network: Network, hops: list[str], cores: list[str]) -> str | None:
    return next((c for c in cores for hop in hops if hop in device_addresses(network.devices[c])), None)


def traceroute_checks(network: Network, where: Where, sites: Collection[str] | None = None) -> list[Check]:
    """Each department's (or each of *sites*') traffic to the DC crosses its primary core (the cheapest uplink)."""
    jobs = []
    for site in (s.name for s in network.sites.values() if s.kind == "department"):
        if sites is not None and site not in sites:
            continue
        pair = path_target(network, site, where)
        if pair is not None:
            jobs.append((site, *pair))

    def run(job: tuple[str, Endpoint, Endpoint]) -> Check:
        site, host, server = job
        plan = primary_core(network, site)
        if plan is None:
            return Check("traceroute", f"{site}: {host.name} → {server.name}", False, "no path to the DC via a core")
        _, _, cores = plan
        hops = traceroute(where[host.name][0], where[server.name][1])
        via = core_on_path(network, hops, cores)
        ok = via == cores[0] and bool(hops) and hops[-1] == where[server.name][1]
        detail = "" if ok else f"path {' '.join(hops) or '(none)'} crosses {via or 'no core'}"
        return Check("traceroute", f"{site}: {host.name} → {server.name} via {cores[0]}", ok, detail, {"hops": hops})

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(run, jobs))
