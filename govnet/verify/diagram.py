"""The topology as a graphviz picture: one cluster per site (Arabic and English names), links with speed and cost.

Arabic labels need a font with Arabic shaping (Noto Sans Arabic from fonts-noto-core); graphviz shapes them with
pango when the font is installed, so the label text is given as-is, never reversed by hand.
"""

from __future__ import annotations

from pathlib import Path

import graphviz

from govnet.lab.internet import CITIZEN, CORE, UPSTREAM
from govnet.lab.internet import plan as internet_plan
from govnet.model.derived import Network
from govnet.verify.expect import dual_homed

FONT = "Noto Sans, Noto Sans Arabic"
COLOURS = {"datacentre": "#dbe9f6", "local-admin": "#e6f4e1", "service": "#fdf1d8", "security": "#f9dede"}


def build(network: Network) -> graphviz.Graph:
    g = graphviz.Graph(network.name, engine="dot")
    g.attr(rankdir="LR", fontname=FONT, label=f"{network.name} — {network.name_ar} ({network.env})", labelloc="t")
    g.attr("node", fontname=FONT, shape="box", style="rounded,filled", fillcolor="white")
    g.attr("edge", fontname=FONT, fontsize="9")
    dual = set(dual_homed(network))  # from the graph: two edge routers, rings and sub-districts as they are
    for site in network.sites.values():
        with g.subgraph(name=f"cluster_{site.name}") as c:
            critical = " (dual-homed)" if site.name in dual else ""
            c.attr(
                label=f"{site.name_en}{critical}\n{site.name_ar}",
                style="filled",
                fillcolor=COLOURS.get(site.category, "#eeeeee"),
                fontname=FONT,
            )
            for dev in site.devices:
                d = network.devices[dev]
                c.node(dev, f"{dev}\n{d.role} {d.loopback.ip}")
    for lk in network.links:
        g.edge(lk.a.device, lk.b.device, label=f"{lk.bandwidth_mbps} Mb/s\ncost {lk.ospf_cost}")
    _internet(g, network)
    return g


def _internet(g: graphviz.Graph, network: Network) -> None:
    """The Internet side, where the inventory has an edge: each ISP, its uplink and eBGP session, and what the
    citizen reaches: the public prefix and the published services with the server each one is translated to."""
    edge = network.internet
    if edge is None:
        return
    with g.subgraph(name="cluster_internet") as c:
        c.attr(label=f"Internet — الإنترنت\npublic prefix {edge.public_prefix}", style="dashed", fontname=FONT)
        for isp in dict.fromkeys(u.isp for u in edge.uplinks):
            asn = next(u.asn for u in edge.uplinks if u.isp == isp)
            c.node(f"isp_{isp}", f"{isp}\nAS{asn}", shape="ellipse", fillcolor="#eeeeee")
        published = "\n".join(
            f"{p.public} {', '.join(str(s) for s in p.services)} → {p.server}" for p in edge.published
        )
        c.node("internet_published", f"published (static NAT)\n{published}", shape="note", fillcolor="#fffbe6")
        outside = internet_plan(network)  # the lab's emulated Internet: its core and the citizen behind the ISPs
        if outside is not None:
            core = next(r for r in outside.routers if r.name == CORE)
            hosts = {name: addr for name, _, addr in outside.hosts}
            c.node("internet_core", f"{core.name} (Internet core)\nAS{core.asn}", shape="ellipse", fillcolor="#f4f4f4")
            c.node(
                "internet_citizen",
                f"citizen {hosts[CITIZEN].ip}\nresolves portal.{network.domain}\nthrough the public DNS view",
                shape="box",
                fillcolor="#e8f4ff",
            )
            c.node("internet_upstream", f"upstream NTP / DNS\n{hosts[UPSTREAM].ip}", shape="box", fillcolor="#f4f4f4")
            c.edge("internet_citizen", "internet_core", label="HTTPS 443")
            c.edge("internet_upstream", "internet_core")
            for isp in dict.fromkeys(u.isp for u in edge.uplinks):
                c.edge("internet_core", f"isp_{isp}")
    for u in edge.uplinks:
        g.edge(f"isp_{u.isp}", u.device, label=f"{u.bandwidth_mbps} Mb/s eBGP\n{u.peer} ↔ {u.address.ip}")


def render_file(network: Network, path: Path) -> Path:
    """Write PNG/SVG/PDF (chosen by the extension) with ``dot``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = build(network).pipe(format=path.suffix.lower().lstrip("."))
    path.write_bytes(data)
    return path


def svg(network: Network) -> str:
    return build(network).pipe(format="svg").decode()
