"""Bad inventories: each case directory overlays files on `_base/` (or gives CLI `args`); `expected.txt` holds the
exact stderr `govnet` must print."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE = HERE / "_base"
CASE_FILES = ("args", "expected.txt")


def cases() -> list[Path]:
    return sorted(p for p in HERE.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def run_case(case: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Lay the inventory out under workdir/inv and run the CLI there, so messages name `inv/<file>`."""
    inv = workdir / "inv"
    shutil.copytree(BASE, inv)
    for f in case.iterdir():
        if f.is_dir():  # ipam/ with a lock file
            shutil.copytree(f, inv / f.name, dirs_exist_ok=True)
        elif f.name not in CASE_FILES:
            shutil.copy(f, inv / f.name)
    args = (case / "args").read_text().split() if (case / "args").exists() else ["--inventory", "inv", "validate"]
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "govnet", *args], cwd=workdir, capture_output=True, text=True, env=env, timeout=60
    )
