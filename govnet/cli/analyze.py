"""``govnet analyze`` and ``govnet impact``: option parsing, printing and report files; the analysis itself is
govnet.analyze (run, report, impact).

Exit codes: 0 every check passes (impact: reported), 1 a check failed, 2 bad input or usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from govnet.cli.common import console
from govnet.model import InventoryError
from govnet.model.derived import Network


class BadInput(Exception):
    """One line for the user; the command exits 2."""


def analyze_command(
    network: Network,
    configs: Path | None = None,
    as_json_out: bool = False,
    junit: Path | None = None,
    md: Path | None = None,
    verbose: bool = False,
) -> int:
    """Analyze, print, write the reports; exit code 0 (every check passes) or 1."""
    from govnet.analyze.frr import FrrReloadMissing
    from govnet.analyze.report import as_json, cases, details_lines, markdown, table
    from govnet.analyze.run import analyze, read_texts, rendered_texts
    from govnet.junit import write_junit

    if configs is not None and not configs.is_dir():
        raise BadInput(f"{configs}: not a directory of rendered configs")
    texts = read_texts(network, configs) if configs is not None else rendered_texts(network)
    try:
        result = analyze(network, texts)
    except FrrReloadMissing as exc:
        raise BadInput(str(exc)) from exc
    if junit is not None:
        write_junit(junit, f"govnet-analyze-{network.env}", cases(result))
    if md is not None:
        md.parent.mkdir(parents=True, exist_ok=True)
        md.write_text(markdown(result))
    if as_json_out:
        print(json.dumps(as_json(result), indent=2, ensure_ascii=False))
    else:
        out = console(soft_wrap=True)
        out.print(table(result))
        if result.failed:
            sys.stdout.write("".join(f"{line}\n" for line in details_lines(result.failed, 50 if verbose else 8)))
        else:
            out.print(f"[green]ok[/]: {len(result.checks)} checks pass")
    return 1 if result.failed else 0


def impact_command(
    inventory: Path,
    env: str,
    base: str,
    as_json_out: bool = False,
    md: Path | None = None,
    diffs: bool = True,
) -> int:
    """Print what the working tree changes against *base*; exit 0 (reported; nothing is judged here)."""
    from govnet.analyze.frr import FrrReloadMissing
    from govnet.analyze.impact import ImpactError, impact, text_report
    from govnet.analyze.impact import markdown as impact_markdown

    try:
        result = impact(inventory, env, base)
    except (ImpactError, InventoryError) as exc:
        raise BadInput(str(exc) if isinstance(exc, ImpactError) else _problems(exc)) from exc
    except FrrReloadMissing as exc:
        raise BadInput(str(exc)) from exc
    if md is not None:
        md.parent.mkdir(parents=True, exist_ok=True)
        md.write_text(impact_markdown(result))
    if as_json_out:
        print(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(text_report(result, show_diffs=diffs))
    return 0


def _problems(exc: InventoryError) -> str:
    return "\n".join([*(str(p) for p in exc.errors), f"{len(exc.errors)} problem(s) found; nothing was compared"])


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
        from govnet.model import load_network

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
        obj: Any = ctx.obj
        try:
            code = impact_command(Path(obj.inventory), obj.env, base, as_json, markdown, not no_diff)
        except BadInput as exc:
            _fail(str(exc))
        raise typer.Exit(code)
