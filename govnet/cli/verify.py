"""``govnet verify`` and ``govnet diagram`` (mounted by ``govnet.cli.app`` through ``register``).

Exit codes: 0 every check passed, 1 a check failed (or the lab is not up), 2 bad input or usage.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from govnet.cli.common import console, state_dir

out = console()
err = console(stderr=True, highlight=False)


def _network(ctx: typer.Context) -> Any:
    from govnet.model import InventoryError, load_network

    obj: Any = ctx.obj
    try:
        return load_network(Path(obj.inventory), obj.env)
    except InventoryError as exc:
        for p in exc.errors:
            err.print(str(p), markup=False, soft_wrap=True)
        err.print(f"{len(exc.errors)} problem(s) found; nothing was verified", markup=False)
        raise typer.Exit(2) from None


def running_lab(network: Any) -> Any:
    """The lab *network* runs in, or exit: 2 when it cannot be verified from here (not the lab, not root), 1 when
    no lab is up."""
    from govnet.lab.state import Lab

    if network.env != "lab":
        err.print(f"verify: only the lab environment can be verified from here, not {network.env!r}")
        raise typer.Exit(2)
    if os.geteuid() != 0:
        err.print("verify: needs root (probes run inside the lab's network namespaces)")
        raise typer.Exit(2)
    lab = Lab.load(state_dir(), network)
    if lab is None:
        err.print(f"verify: no lab is up in {state_dir()} (run `govnet lab up --configured`)")
        raise typer.Exit(1)
    return lab


def _snapshot(network: Any) -> dict[str, Any]:
    """What this verify checks, for ``verify --changed`` (``govnet.verify.scope``): rendered configs with their
    secret placeholders (no secret value), and the nftables zone policies."""
    from govnet.policy import render_nftables
    from govnet.render import render_device
    from govnet.verify.scope import snapshot

    configs = {n: render_device(network, n, {}) for n in network.devices}
    return snapshot(network, configs, {n: render_nftables(network, n) for n in network.devices})


def checks(
    network: Any, lab: Any, *, changed: bool, failover: bool = False, start_services: bool = False, say: Any = None
) -> Any:
    """One verify's checks on a running lab: every check, or (*changed*) those the change since the last passing
    verify touched; ``None`` when that is nothing. A passing run becomes the base of the next ``--changed``.

    ``verify`` and ``deploy --verify`` both run this; *say* prints a line (default: stdout)."""
    from govnet.verify import scope as scoping
    from govnet.verify import services
    from govnet.verify.run import missing_listeners
    from govnet.verify.run import verify as run_verify

    say = say or (lambda line: out.print(line, highlight=False, soft_wrap=True, markup=False))
    if start_services:
        services.start(network, {k: (v.netns, v.address) for k, v in lab.servers.items()})
    missing = missing_listeners(network, lab)
    if missing:
        err.print(f"verify: no service listener running for {', '.join(missing)} (their service checks fail)")
    snap = _snapshot(network)
    scope = None
    if changed:
        scope = scoping.changed(network, snap, scoping.load(lab.state_dir))
        if scope.empty():
            say("verify --changed: nothing changed since the last passing verify; nothing to check")
            return None
        say(f"verify --changed: {scope.describe()}")
    outcome = run_verify(network, lab, failover=failover, scope=scope)
    if outcome.ok:
        scoping.record(lab.state_dir, snap)
    return outcome


def summary(outcome: Any, to: Any = None) -> None:
    """Per-family pass counts, then every failure (failures first), then the timing (on *to*, default stdout)."""
    to = to or out
    from rich.markup import escape
    from rich.table import Table  # here, not at start-up: validate, plan and render need no table

    table = Table(title=f"verify {outcome.network.name} ({outcome.network.env})")
    for col in ("family", "passed", "result"):
        table.add_column(col)
    for fam, (passed, total) in outcome.families().items():
        good = passed == total
        table.add_row(fam, f"{passed}/{total}", "[green]ok[/]" if good else "[red]FAIL[/]")
    fails = [c for c in outcome.checks if not c.ok]
    if fails:
        to.print(f"[red bold]{len(fails)} failed check(s):[/]")
        for c in fails:
            to.print(f"  [red]✗[/] {escape(f'[{c.family}] {c.name}: {c.detail}')}", highlight=False, soft_wrap=True)
    to.print(table)
    for c in outcome.checks:
        if c.family == "failover" and c.ok:
            to.print(f"  failover {c.name.split(':')[0]}: {c.detail}", highlight=False)
    word = "[green]all checks passed[/]" if outcome.ok else "[red]verification failed[/]"
    to.print(f"{word}: {len(outcome.checks)} checks in {outcome.seconds:.1f} s")


def register(app: typer.Typer) -> None:
    """Add ``verify`` and ``diagram`` to the govnet command line."""

    @app.command()
    def verify(
        ctx: typer.Context,
        json_file: Annotated[Path | None, typer.Option("--json", help="write every result as JSON")] = None,
        report: Annotated[Path | None, typer.Option("--report", help="write a self-contained HTML report")] = None,
        failover: Annotated[
            bool,
            typer.Option(
                "--failover",
                help="also the drills: cut each dual-homed department's primary link, each ISP uplink; time them",
            ),
        ] = False,
        start_services: Annotated[
            bool, typer.Option("--start-services", help="start missing DC service listeners first")
        ] = False,
        junit: Annotated[Path | None, typer.Option("--junit", help="write a JUnit XML report")] = None,
        changed: Annotated[
            bool,
            typer.Option(
                "--changed",
                help="only what changed since the last passing verify (devices, endpoints, policy rows, edge)",
            ),
        ] = False,
    ) -> None:
        """Control plane, reachability matrix, service ports, traceroute, segmentation (and failover).

        Every check by default; with --changed, those the change since the last passing verify touched."""
        network = _network(ctx)
        lab = running_lab(network)
        outcome = checks(network, lab, changed=changed, failover=failover, start_services=start_services)
        if outcome is None:
            return
        summary(outcome)
        if json_file is not None:
            json_file.write_text(json.dumps(outcome.as_dict(), indent=1, ensure_ascii=False) + "\n")
            out.print(f"JSON: {json_file}")
        if junit is not None:
            from govnet.junit import verify_cases, write_junit

            write_junit(junit, "govnet-verify", verify_cases(outcome.checks))
            out.print(f"JUnit: {junit}")
        if report is not None:
            from govnet.verify.report import write_html

            write_html(outcome, report)
            out.print(f"report: {report}")
        if not outcome.ok:
            raise typer.Exit(1)

    @app.command()
    def diagram(
        ctx: typer.Context,
        out_file: Annotated[Path, typer.Option("--out", help="PNG, SVG or PDF (by extension)")] = Path(
            "build/diagram.png"
        ),
    ) -> None:
        """The topology (sites in Arabic and English, links with bandwidth and OSPF cost) rendered with graphviz."""
        from govnet.verify.diagram import render_file

        network = _network(ctx)
        if out_file.suffix.lower() not in (".png", ".svg", ".pdf"):
            err.print(f"diagram: {out_file}: unsupported format (use .png, .svg or .pdf)")
            raise typer.Exit(2)
        render_file(network, out_file)
        out.print(f"diagram: {out_file}")
