"""``govnet analyze`` and ``govnet impact`` (mounted by the govnet command line through ``register``).

Exit codes: 0 every check passes (impact: reported), 1 a check failed, 2 bad input or usage.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer


def _fail(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``analyze`` and ``impact``."""

    @app.command()
    def analyze(
        ctx: typer.Context,
        configs: Annotated[
            Path | None, typer.Option("--configs", help="read <device>.cfg/.nft from DIR instead of rendering")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
        junit: Annotated[Path | None, typer.Option("--junit", help="write a JUnit XML report")] = None,
        markdown: Annotated[Path | None, typer.Option("--markdown", help="write a merge-request summary")] = None,
        verbose: Annotated[bool, typer.Option("--verbose", "-v", help="more detail per failed check")] = False,
    ) -> None:
        """Offline analysis of the rendered configs: filters, references, pairing, N-1."""
        from govnet.analyze.command import BadInput, analyze_command
        from govnet.model import InventoryError, load_network

        obj: Any = ctx.obj
        try:
            network = load_network(Path(obj.inventory), obj.env)
            code = analyze_command(network, configs, as_json, junit, markdown, verbose)
        except InventoryError as exc:
            lines = [str(p) for p in exc.errors]
            _fail("\n".join([*lines, f"{len(lines)} problem(s) found; nothing was analyzed"]))
        except BadInput as exc:
            _fail(str(exc))
        raise typer.Exit(code)

    @app.command()
    def impact(
        ctx: typer.Context,
        base: Annotated[str, typer.Option("--base", help="git revision to compare the working tree with")],
        as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
        markdown: Annotated[Path | None, typer.Option("--markdown", help="write a merge-request summary")] = None,
        no_diff: Annotated[bool, typer.Option("--no-diff", help="counts and changes only, no config diffs")] = False,
    ) -> None:
        """What the working tree changes against REV: configs (diff), addresses, flow verdicts, paths to the DC."""
        from govnet.analyze.command import BadInput, impact_command

        obj: Any = ctx.obj
        try:
            code = impact_command(Path(obj.inventory), obj.env, base, as_json, markdown, not no_diff)
        except BadInput as exc:
            _fail(str(exc))
        raise typer.Exit(code)
