"""What every command group shares: the consoles, the error exit, loading the inventory, the state directories.

rich cuts tables at 80 columns when its stream is not a terminal: device names, addresses and error messages were
truncated in `make lab` output and CI logs. Off a terminal the width is COLUMNS, else 200.

Import-light on purpose (typer and the model only): every command pays for what this module imports. A console is
made on its first use, so rich (35-50 ms) is imported by the commands that print through it, not by every start-up:
`validate` off a terminal prints its one line without it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from govnet.deploy.backups import deploy_dir
from govnet.model import Built, InventoryError, build

if TYPE_CHECKING:
    from rich.console import Console

PIPE_WIDTH = 200


class LazyConsole:
    """A rich Console made on first use (``print``, ``rule``, … pass through); ``real`` is the Console itself, for
    what needs one (a Progress)."""

    def __init__(self, stderr: bool, options: dict[str, Any]) -> None:
        self._stderr = stderr
        self._options = options
        self._console: Console | None = None

    @property
    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            stream = sys.stderr if self._stderr else sys.stdout
            width = None if stream.isatty() or os.environ.get("COLUMNS") else PIPE_WIDTH
            self._console = Console(stderr=self._stderr, width=width, **self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def console(stderr: bool = False, **options: Any) -> LazyConsole:
    return LazyConsole(stderr, options)


def plain_output() -> bool:
    """stdout is not a terminal and no colour is forced: rich would print bare text there, so a one-line result
    can be written without importing it."""
    return not sys.stdout.isatty() and not os.environ.get("FORCE_COLOR")


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
