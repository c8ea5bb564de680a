"""Exact config diffs computed on the controller with FRR's own ``frr-reload.py --test``.

A textual diff of two FRR configs lies: FRR normalises lines, orders contexts and needs ``no``
forms to remove things. ``frr-reload.py`` knows all that (it is what the device uses to apply a
config), and its offline mode needs no daemon: ``--test --input running.txt`` with a scratch
``--confdir`` holding a ``vtysh.conf``. The result lists exactly the commands a commit will send.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

FRR_RELOAD = "/usr/lib/frr/frr-reload.py"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: Lines FRR accepts but never prints in ``show running-config`` (informational, or the default
#: state zebra only reports when it is off). Left in, they would show as a change after every deploy.
NEVER_SHOWN = re.compile(r"^(?:frr version .*|ip forwarding|ipv6 forwarding)\s*$", re.M)
#: An empty ``line vty`` block: vtysh prints it only when it holds something.
EMPTY_LINE_VTY = re.compile(r"^line vty[ \t]*\n(?![ \t])", re.M)


class DiffError(RuntimeError):
    """frr-reload could not compare the configs (bad candidate, tool missing)."""


def frr_reload_available() -> bool:
    """Whether the controller has frr-reload.py and vtysh (Debian: frr + frr-pythontools)."""
    return Path(FRR_RELOAD).is_file() and shutil.which("vtysh") is not None


def diff(running: str, intended: str) -> str:
    """frr-reload's "Lines To Delete / Lines To Add" between two configs; "" when equal."""
    if not frr_reload_available():
        raise DiffError(f"compare_config needs {FRR_RELOAD} and vtysh on the controller (frr-pythontools)")
    if not intended.strip():
        raise DiffError("the candidate config is empty")
    running, intended = (EMPTY_LINE_VTY.sub("", NEVER_SHOWN.sub("!", text)) for text in (running, intended))
    with tempfile.TemporaryDirectory(prefix="napalm-frr-") as tmp:
        work = Path(tmp)
        (work / "vtysh.conf").write_text("service integrated-vtysh-config\n")
        (work / "running.conf").write_text(running)
        (work / "intended.conf").write_text(intended)
        proc = subprocess.run(
            [
                FRR_RELOAD,
                "--test",
                "--input",
                str(work / "running.conf"),
                "--confdir",
                str(work),
                "--rundir",
                str(work),
                "--bindir",
                _bindir(),
                str(work / "intended.conf"),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    if proc.returncode != 0:
        raise DiffError(f"frr-reload could not compare the configs: {_last_error(proc.stderr or proc.stdout)}")
    return proc.stdout.strip()


def _bindir() -> str:
    """Directory holding vtysh (frr-reload insists on one)."""
    vtysh = shutil.which("vtysh")
    return str(Path(vtysh).parent) if vtysh else "/usr/bin"


def _last_error(text: str) -> str:
    """frr-reload logs a lot; the last non-empty line says what went wrong."""
    lines = [ANSI.sub("", line).strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
