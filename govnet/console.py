"""Rich consoles for the command line, wide enough when output goes to a file or a CI log.

rich cuts tables at 80 columns when its stream is not a terminal: device names, addresses and error messages were
truncated in `make lab` output and CI logs. Off a terminal the width is COLUMNS, else 200.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console

PIPE_WIDTH = 200


def console(stderr: bool = False, **options: Any) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else PIPE_WIDTH
    return Console(stderr=stderr, width=width, **options)
