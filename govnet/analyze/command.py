"""What `govnet analyze` and `govnet impact` do, apart from option parsing (the CLI modules stay thin)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from govnet.analyze.frr import FrrReloadMissing
from govnet.analyze.report import as_json, cases, details_lines, markdown, table
from govnet.analyze.run import analyze, read_texts, rendered_texts
from govnet.console import console
from govnet.junit import write_junit
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
