"""The lab as the oracle of the analysis: what verify measured against what the analysis of the rendered text
predicts.  A disagreement is a failed `oracle` check naming both sides.

- Segmentation: every flow verify probed (source and destination endpoint, protocol, port, whether it passed) is
  judged by the analysis on the rendered filter of the source's first hop (nftables for the lab's FRR switches).
- Failover: every drill (verify's edge, interface, primary and backup core) is compared with the N-1 prediction for
  the failure of that link: the site must be predicted to reroute through the backup core the drill reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address
from typing import Any

from govnet.analyze.checks import SYN, Check, Judge, check_n1
from govnet.analyze.ios_acl import Packet
from govnet.analyze.run import parse_all, rendered_texts
from govnet.model.derived import Network
from govnet.verify.probes import SILENT
from govnet.verify.result import Check as VerifyCheck


def _packet(src: IPv4Address, dst: IPv4Address, proto: str, port: int | None) -> Packet:
    if proto == "tcp":
        return Packet(src, dst, "tcp", 51515, port or 0, SYN)
    if proto == "udp":
        return Packet(src, dst, "udp", 51515, port or 0)
    return Packet(src, dst, "icmp", icmp_type=8)


def cross_check(
    network: Network, measured: Iterable[VerifyCheck], where: dict[str, tuple[str, str]]
) -> list[VerifyCheck]:
    """Oracle checks for the segmentation and failover results of a verify run (*where*: endpoint → (netns,
    address), as verify has it)."""
    checks = list(measured)
    facts = parse_all(rendered_texts(network))
    out = _segmentation(network, facts, [c for c in checks if c.family == "segmentation"], where)
    drills = [c for c in checks if c.family == "failover" and c.data.get("edge")]
    if drills:
        out += _failover(network, list(check_n1(network, facts)), drills)
    return out


def _segmentation(
    network: Network, facts: dict[str, Any], measured: list[VerifyCheck], where: dict[str, tuple[str, str]]
) -> list[VerifyCheck]:
    judge = Judge(facts)
    out = []
    for c in measured:
        src, dst = c.data.get("src"), c.data.get("dst")
        if src not in where or dst not in where or "proto" not in c.data:
            continue
        src_ip, dst_ip = IPv4Address(where[src][1]), IPv4Address(where[dst][1])
        seg = next((s for s in network.segments if src_ip in s.prefix), None)
        if seg is None:
            continue
        predicted, line = judge(seg.device, _packet(src_ip, dst_ip, c.data["proto"], c.data.get("port")))
        passed = c.data.get("result") != SILENT
        port = f"/{c.data['port']}" if c.data.get("port") else ""
        name = f"segmentation {src} -> {dst} {c.data['proto']}{port}: lab and analysis agree"
        lab_word = "passes" if passed else "blocked"
        want = "unknown" if predicted is None else "passes" if predicted else "blocked"
        detail = "" if predicted is passed else f"lab: {lab_word}; analysis: {want} ({line})"
        out.append(VerifyCheck("oracle", name, predicted is passed, detail, {"lab": lab_word, "analysis": want}))
    return out


def _failover(network: Network, n1: list[Check], drills: list[VerifyCheck]) -> list[VerifyCheck]:
    by_name = {c.name: c for c in n1}
    out = []
    for d in drills:
        edge, iface, backup = d.data["edge"], d.data["interface"], d.data["backup"]
        site = d.name.split(":")[0]
        link = next(
            (
                lk
                for lk in network.links
                if (lk.a.device, lk.a.interface) == (edge, iface) or (lk.b.device, lk.b.interface) == (edge, iface)
            ),
            None,
        )
        name = f"failover {site}: cut {edge} {iface}: lab and N-1 prediction agree"
        if link is None:
            out.append(VerifyCheck("oracle", name, False, f"no link of the model ends at {edge} {iface}"))
            continue
        predicted = by_name[f"n-1: link {link.name}"].data
        path = predicted["rerouted"].get(site)
        lost = site in predicted["lost"]
        lab = f"via {backup}" if d.ok else f"no path via {backup} ({d.detail})"
        analysis = "loses the DC" if lost else f"via {' > '.join(path)}" if path else "path unchanged"
        agree = (d.ok and path is not None and backup in path) or (not d.ok and (lost or path is None))
        detail = "" if agree else f"lab: {lab}; analysis: {analysis}"
        out.append(VerifyCheck("oracle", name, agree, detail, {"lab": lab, "analysis": analysis}))
    return out
