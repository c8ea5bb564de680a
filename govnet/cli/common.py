"""What every command group shares: the consoles, the error exit, loading the inventory, the state directories.

rich cuts tables at 80 columns when its stream is not a terminal: device names, addresses and error messages were
truncated in `make lab` output and CI logs. Off a terminal the width is COLUMNS, else 200.

Import-light on purpose (typer, rich and the model only): every command pays for what this module imports.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from govnet.deploy.backups import deploy_dir
from govnet.model import Built, InventoryError, build

PIPE_WIDTH = 200


def console(stderr: bool = False, **options: Any) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else PIPE_WIDTH
    return Console(stderr=stderr, width=width, **options)


@dataclass
class Context:
    inventory: Path
    env: str


def fail(lines: list[str], code: int = 2) -> None:
    """Plain lines on stderr, written at once: a problem list can be tens of thousands long."""
    sys.stderr.write("".join(f"{line}\n" for line in lines))
    sys.stderr.flush()
    raise typer.Exit(code)


def load(ctx: typer.Context) -> Built:
    """Load, validate and derive, or print every problem and exit 2."""
    obj: Context = ctx.obj
    try:
        return build(obj.inventory, obj.env)
    except InventoryError as exc:
        fail([str(p) for p in exc.errors] + [f"{len(exc.errors)} problem(s) found; nothing was changed"])
        raise  # unreachable: fail() exits


def state_dir() -> Path:
    """Where the lab keeps its state, device files and known_hosts (``GOVNET_LAB_DIR``, default build/lab)."""
    return Path(os.environ.get("GOVNET_LAB_DIR") or "build/lab").absolute()


def workdir(env: str) -> Path:
    """build/<env> (backups/, audit.jsonl); GOVNET_DEPLOY_DIR moves it."""
    return deploy_dir(env)
