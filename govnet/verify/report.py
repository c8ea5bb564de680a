"""A self-contained HTML report: summary per family, failures first, the reachability matrix as a colour grid,
segmentation and failover tables, and the topology diagram (inline SVG, so the file travels alone)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from govnet.verify.diagram import svg

CSS = """
body{font-family:'Noto Sans','Noto Sans Arabic',sans-serif;margin:1.5em;color:#222}
h1,h2{font-weight:600} table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}
.ok{color:#17692b}.fail{color:#b3121b;font-weight:600}
.grid td{width:12px;height:12px;padding:0;border:1px solid #fff}
.grid th{font-size:10px;font-weight:400;white-space:nowrap}
.grid th.col{writing-mode:vertical-rl;transform:rotate(180deg);height:9em;text-align:left}
.pass-allow{background:#2e9d48}.pass-deny{background:#c9ced6}.bad-allow{background:#d7191c}.bad-deny{background:#f29e2e}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
.diagram svg{max-width:100%;height:auto}
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _matrix(outcome: Any) -> str:
    m = outcome.matrix
    if m is None:
        return "<p>no reachability matrix</p>"
    head = "".join(f'<th class="col">{_e(c)}</th>' for c in m.cols)
    rows = []
    for r in m.rows:
        cells = []
        for c in m.cols:
            if (r, c) not in m.cells:
                cells.append('<td style="background:#fff"></td>')
                continue
            exp, got, rule = m.cells[(r, c)]
            cls = ("pass-" if exp == got else "bad-") + ("allow" if exp else "deny")
            state = "reached" if got else "blocked"
            cells.append(f'<td class="{cls}" title="{_e(r)} → {_e(c)}: {state}; policy {_e(rule)}"></td>')
        rows.append(f"<tr><th>{_e(r)}</th>{''.join(cells)}</tr>")
    legend = (
        '<p class="legend"><span class="pass-allow"></span>allowed, reached<span class="pass-deny"></span>denied, '
        'blocked<span class="bad-allow"></span>allowed but unreachable<span class="bad-deny"></span>'
        "denied but reachable</p>"
    )
    return f'{legend}<table class="grid"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def _checks(checks: list[Any]) -> str:
    rows = "".join(
        f'<tr><td class="{"ok" if c.ok else "fail"}">{"ok" if c.ok else "FAIL"}</td><td>{_e(c.family)}</td>'
        f"<td>{_e(c.name)}</td><td>{_e(c.detail)}</td></tr>"
        for c in checks
    )
    return f"<table><tr><th></th><th>family</th><th>check</th><th>detail</th></tr>{rows}</table>"


def _sites(outcome: Any) -> str:
    net = outcome.network
    rows = "".join(
        f'<tr><td>{_e(s.name)}</td><td>{_e(s.name_en)}</td><td dir="rtl" lang="ar">{_e(s.name_ar)}</td>'
        f"<td>{_e(s.category)}</td><td>{'yes' if s.critical else ''}</td></tr>"
        for s in net.sites.values()
    )
    return f"<table><tr><th>site</th><th>name</th><th>الاسم</th><th>category</th><th>dual-homed</th></tr>{rows}</table>"


INTERNET = ("citizen", "exposure", "egress", "isp-failover")


def _internet(outcome: Any) -> str:
    """The citizen's path, the attacker's matrix by class, who leaves for the Internet, the ISP drills."""
    mine = [c for c in outcome.checks if c.family in INTERNET]
    if not mine:
        return "<p>no Internet edge in this lab</p>"
    matrix = (outcome.internet or {}).get("exposure") or {}
    rows = "".join(
        f"<tr><td>{_e(name)}</td><td>{m.get('probes', '')}</td><td>{m.get('open', m.get('answered', ''))}</td>"
        f"<td>{m.get('refused', '')}</td><td>{m.get('unreachable', '')}</td><td>{m.get('silent', '')}</td></tr>"
        for name, m in matrix.items()
    )
    table = (
        "<table><tr><th>what a citizen (or an attacker) on the Internet tries</th><th>probes</th><th>open</th>"
        f"<th>refused</th><th>unreachable</th><th>silent (dropped)</th></tr>{rows}</table>"
    )
    drills = [c for c in mine if c.family == "isp-failover"]
    drill_rows = "".join(
        f'<tr><td class="{"ok" if c.ok else "fail"}">{"ok" if c.ok else "FAIL"}</td><td>{_e(c.data.get("isp"))}</td>'
        f"<td>{_e(c.data.get('seconds'))} s</td><td>{_e(c.data.get('requests'))}</td>"
        f"<td>{_e(c.data.get('failed'))}</td>"
        f"<td>{_e(c.data.get('lost'))}</td><td>{_e(c.data.get('detected_seconds'))} s</td>"
        f"<td>{_e(c.data.get('back_seconds'))} s</td><td>{_e(c.data.get('kind'))}</td></tr>"
        for c in drills
        if c.data
    )
    drill_table = (
        "<table><tr><th></th><th>uplink cut</th><th>without service</th><th>requests</th><th>failed</th>"
        "<th>acknowledged, lost</th><th>BGP down after</th><th>back after repair</th><th>requests were</th></tr>"
        f"{drill_rows}</table>"
        if drill_rows
        else "<p>not run (use --failover)</p>"
    )
    return (
        f"<h3>The citizen's path</h3>{_checks([c for c in mine if c.family == 'citizen']) or ''}"
        f"<h3>Exposure: the attacker's matrix</h3>{table}{_checks([c for c in mine if c.family == 'exposure'])}"
        f"<h3>Who reaches the Internet</h3>{_checks([c for c in mine if c.family == 'egress'])}"
        f"<h3>ISP failover (the uplink cut silently, under the citizen's requests)</h3>{drill_table}"
    )


def render_html(outcome: Any) -> str:
    net = outcome.network
    fams = "".join(
        f'<tr><td>{_e(f)}</td><td>{p}/{t}</td><td class="{"ok" if p == t else "fail"}">'
        f"{'ok' if p == t else 'FAIL'}</td></tr>"
        for f, (p, t) in outcome.families().items()
    )
    fails = [c for c in outcome.checks if not c.ok]
    verdict = (
        '<p class="ok">All checks passed.</p>' if outcome.ok else f'<p class="fail">{len(fails)} check(s) failed.</p>'
    )
    seg = [c for c in outcome.checks if c.family == "segmentation"]
    fo = [c for c in outcome.checks if c.family == "failover"]
    others = [c for c in outcome.checks if c.ok and c.family not in ("segmentation", "failover", *INTERNET)]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>govnet verify: {_e(net.name)}</title>
<style>{CSS}</style></head><body>
<h1>{_e(net.name)} — <span lang="ar" dir="rtl">{_e(net.name_ar)}</span>: verification ({_e(net.env)})</h1>
{verdict}<p>{len(outcome.checks)} checks in {outcome.seconds:.1f} s.</p>
<h2>Summary</h2><table><tr><th>family</th><th>passed</th><th></th></tr>{fams}</table>
<h2>Failures</h2>{_checks(fails) if fails else "<p>none</p>"}
<h2>Reachability matrix (ICMP, department hosts → DC servers and departments)</h2>{_matrix(outcome)}
<h2>Segmentation (one line per flow class)</h2>{_checks(seg)}
<h2>Failover</h2>{_checks(fo) if fo else "<p>not run (use --failover)</p>"}
<h2>The Internet: citizens, attackers, ISPs</h2>{_internet(outcome)}
<h2>Sites</h2>{_sites(outcome)}
<h2>Topology</h2><div class="diagram">{svg(net)}</div>
<h2>Other checks passed</h2>{_checks(others)}
</body></html>
"""


def write_html(outcome: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(outcome), encoding="utf-8")
    return path
