"""The root of the ``govnet`` command line: validate, plan, render; the other command groups are mounted here.

The root is a `LazyGroup`: a group's module is imported, and its commands built, when one of its commands runs (or
the help lists them all), so `govnet validate` does not pay for building the whole command tree (typer evaluates every
command's annotations) nor for importing the modules of commands it does not run.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from govnet import ipam
from govnet.cli.common import Context, console, fail, load, plain_output
from govnet.model import Built, InventoryError, build

#: The commands each group module adds (its ``register``), in the order ``govnet --help`` lists them.
GROUPS: dict[str, tuple[str, ...]] = {
    "govnet.cli.lab": ("lab",),
    "govnet.cli.deploy": ("deploy", "backup", "drift", "rollback", "audit"),
    "govnet.cli.verify": ("verify", "diagram"),
    "govnet.cli.analyze": ("analyze", "impact"),
}


class LazyGroup(typer.core.TyperGroup):
    """The root group: its own commands built up front, each group module's when one of its commands is looked up.

    A module is imported plainly, so a broken one fails its commands (and the help, and a mistyped command, which
    load every module to list or suggest) with its traceback, never with "No such command". A module must add
    exactly the commands `GROUPS` names for it.
    """

    def _load(self, module: str) -> None:
        mounted = typer.Typer()
        importlib.import_module(module).register(mounted)
        built = typer.main.get_group(mounted).commands
        if set(built) != set(GROUPS[module]):
            raise RuntimeError(f"{module} adds {sorted(built)}, govnet.cli.app.GROUPS says {sorted(GROUPS[module])}")
        for name in GROUPS[module]:
            self.add_command(built[name], name)

    def list_commands(self, ctx: Any) -> list[str]:  # ctx: the vendored click Context typer passes
        lazy = [name for names in GROUPS.values() for name in names]  # in GROUPS' order, whichever loaded first
        return [*(name for name in self.commands if name not in lazy), *lazy]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands:
            owners = [m for m, names in GROUPS.items() if cmd_name in names] or list(GROUPS)  # unknown: load all
            for module in owners:
                if not set(GROUPS[module]) <= set(self.commands):
                    self._load(module)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=LazyGroup,
    help="govnet: the Karbala governorate e-governance network as code.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = console(soft_wrap=True)
err = console(stderr=True)


@app.callback()
def main_options(
    ctx: typer.Context,
    inventory: Annotated[Path, typer.Option("--inventory", "-i", help="inventory directory")] = Path(
        "inventory/karbala"
    ),
    env: Annotated[str, typer.Option("--env", "-e", help="environment: lab or production")] = "lab",
) -> None:
    ctx.obj = Context(inventory, env)


@app.command()
def validate(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    junit: Annotated[Path | None, typer.Option("--junit", help="write a JUnit XML report")] = None,
) -> None:
    """Load and validate the inventory; list every problem as file:line: where: what (exit 2)."""
    if junit is not None:
        from govnet.junit import validate_cases, write_junit

        try:
            net = build(ctx.obj.inventory, ctx.obj.env).network
            cases = validate_cases([], f"{ctx.obj.inventory} ({net.env}): {len(net.devices)} devices")
        except InventoryError as exc:
            cases = validate_cases(exc.errors, "")
        write_junit(junit, f"govnet-validate-{ctx.obj.env}", cases)
    if as_json:
        try:
            net = build(ctx.obj.inventory, ctx.obj.env).network
        except InventoryError as exc:
            problems = [{"file": p.file, "line": p.line, "where": p.where, "what": p.what} for p in exc.errors]
            print(json.dumps({"ok": False, "problems": problems}, indent=2, ensure_ascii=False))
            raise typer.Exit(2) from None
        counts = {"sites": len(net.sites), "devices": len(net.devices), "links": len(net.links)}
        print(json.dumps({"ok": True, "env": net.env, **counts}, indent=2))
        return
    built = load(ctx)
    net = built.network
    facts = (
        f"{ctx.obj.inventory} ({net.env}): {len(net.sites)} sites, {len(net.devices)} devices, "
        f"{len(net.links)} links, {len(net.segments)} segments, {len(net.servers)} servers"
    )
    if plain_output():  # an editor hook or CI: the same line, without importing rich for it
        print(f"ok: {facts}")
    else:
        from rich.markup import escape

        out.print(f"[green]ok[/]: {escape(facts)}")


def plan_rows(built: Built) -> list[dict[str, Any]]:
    rows = [
        {"key": a.key, "pool": a.pool, "prefix": str(a.prefix), "status": a.status}
        for a in [*built.plan.allocations.values(), *built.plan.stale.values()]
    ]
    return sorted(rows, key=lambda r: (r["pool"], r["key"]))


@app.command()
def plan(
    ctx: typer.Context,
    write: Annotated[bool, typer.Option("--write", help="record new allocations in the lock file")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="with --write: free allocations of removed things")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show the address plan; --write records it in the lock file without moving existing allocations."""
    if prune and not write:
        fail(["plan: --prune only makes sense with --write"])
    built = load(ctx)
    rows = plan_rows(built)
    if as_json:
        print(json.dumps({"env": built.network.env, "lock": str(built.lock), "allocations": rows}, indent=2))
    else:
        from rich.table import Table  # here, not at start-up: validate and render print no table
        from rich.text import Text

        table = Table(title=f"Address plan: {built.network.name} ({built.network.env})")
        for col in ("pool", "key", "prefix", "status"):
            table.add_column(col)
        style = {"new": "green", "stale": "yellow", "moved": "red"}
        for r in rows:  # Text, not markup: an unstyled status printed as `[]locked`
            table.add_row(r["pool"], r["key"], r["prefix"], Text(r["status"], style=style.get(r["status"], "")))
        out.print(table)
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("locked", "pinned", "new", "moved", "stale")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if write:
        ipam.write_lock(built.lock, built.network.env, built.plan, prune=prune)
        err.print(f"wrote {built.lock} ({summary}{'; stale pruned' if prune and counts['stale'] else ''})")
    elif not as_json:
        err.print(f"{summary}; run with --write to record new allocations in {built.lock}")


@app.command()
def render(
    ctx: typer.Context,
    out_dir: Annotated[Path | None, typer.Option("--out", help="output directory")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Write one configuration per device (default build/<env>/configs/)."""
    from govnet.render import render_all, secret_problems, secrets_from_env

    built = load(ctx)
    target = out_dir or Path("build") / built.network.env / "configs"
    secrets = secrets_from_env(network=built.network, lab_defaults=False)
    if bad := secret_problems(secrets):
        fail(bad)
    paths = render_all(built.network, target, secrets)
    if as_json:
        print(json.dumps({"env": built.network.env, "configs": [str(p) for p in paths]}, indent=2))
    else:
        out.print(f"rendered {len(paths)} configs into {target}/")


def main() -> None:
    from govnet.vault import VaultError

    try:
        app()
    except VaultError as exc:  # a secret was needed and the environment's vault did not open: one line, exit 2
        sys.stderr.write(f"{exc}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
