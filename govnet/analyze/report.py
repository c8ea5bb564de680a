"""An Analysis as a table (terminal), JSON, JUnit cases and a Markdown summary for a merge-request comment."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from govnet.analyze.checks import Check
from govnet.analyze.run import FAMILIES, Analysis
from govnet.junit import Case

MD_FAILURES = 30  # a comment lists this many failed checks; the JUnit report and the JSON carry all


def as_json(a: Analysis) -> dict[str, Any]:
    return {
        "network": a.network,
        "env": a.env,
        "platform": a.platform,
        "devices": a.devices,
        "ok": not a.failed,
        "counts": counts(a),
        "checks": [
            {"family": c.family, "name": c.name, "ok": c.ok, "summary": c.summary, "details": c.details, **c.data}
            for c in a.checks
        ],
    }


def counts(a: Analysis) -> dict[str, dict[str, int]]:
    out = {}
    for family in FAMILIES:
        mine = [c for c in a.checks if c.family == family]
        out[family] = {"checks": len(mine), "failed": sum(1 for c in mine if not c.ok)}
    return out


def cases(a: Analysis) -> list[Case]:
    return [Case(c.family, c.name, c.ok, c.summary, tuple(c.details)) for c in a.checks]


def table(a: Analysis, show_all: bool = False) -> Table:
    t = Table(title=f"Analysis of the rendered configs: {a.network} ({a.env}, {a.platform}, {a.devices} devices)")
    for col in ("family", "checks", "failed", "failed checks (first 5)"):
        t.add_column(col)
    for family, n in counts(a).items():
        failed = [c.name for c in a.checks if c.family == family and not c.ok]
        t.add_row(family, str(n["checks"]), str(n["failed"]), "\n".join(failed[:5]), style="red" if failed else "")
    if show_all:
        for c in a.checks:
            if not c.ok or c.details:
                t.add_row(c.family, "", "" if c.ok else "x", f"{c.name}: {c.summary}")
    return t


def details_lines(checks: list[Check], limit: int = 20) -> list[str]:
    out = []
    for c in checks:
        out.append(f"FAIL {c.name}: {c.summary}")
        out += [f"    {d}" for d in c.details[:limit]]
    return out


def markdown(a: Analysis) -> str:
    """A merge-request comment: the verdict, a table per family, the failures with their first details."""
    status = "passes" if not a.failed else f"**{len(a.failed)} check(s) fail**"
    lines = [
        f"### govnet analyze: {a.network} `{a.env}` ({a.platform}, {a.devices} devices): {status}",
        "",
        "| check | run | failed |",
        "|---|---:|---:|",
    ]
    lines += [f"| {family} | {n['checks']} | {n['failed']} |" for family, n in counts(a).items()]
    if a.failed:
        lines += ["", "<details><summary>Failed checks</summary>", ""]
        for c in a.failed[:MD_FAILURES]:
            lines.append(f"- **{c.name}**: {c.summary}")
            lines += [f"  - `{d}`" for d in c.details[:5]]
        if len(a.failed) > MD_FAILURES:
            lines.append(f"- … and {len(a.failed) - MD_FAILURES} more (see the JUnit report)")
        lines += ["", "</details>"]
    rerouting = [c for c in a.checks if c.family == "n-1" and c.ok and (c.data.get("lost") or c.data.get("rerouted"))]
    if rerouting:
        lines += ["", "<details><summary>Single failures (N-1) that cut or reroute sites</summary>", ""]
        for c in rerouting[:MD_FAILURES]:
            lines.append(f"- {c.name}: {c.summary}")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def golden_text(a: Analysis) -> str:
    """Every check with its verdict and summary, and the N-1 details (who loses the DC, who reroutes by which
    path): the form tests/golden/analyze/ keeps, so a change in what the analysis concludes shows as a diff."""
    lines = [f"# govnet analyze {a.network} ({a.env}, {a.platform}): {a.devices} devices, {len(a.checks)} checks"]
    for c in a.checks:
        lines.append(f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.summary}")
        if c.family == "n-1" or not c.ok:
            lines += [f"     {d}" for d in c.details]
    return "\n".join(lines) + "\n"
