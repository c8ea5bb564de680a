"""Build govnet's wheel and install it into a fresh venv, with no download.

The wheel is built without build isolation (setuptools and wheel from this venv) from a copy of the checkout and
installed without dependencies; the fresh venv sees this venv's dependencies through a ``.pth`` line, but not its
editable govnet (a ``.pth`` path line does not run that directory's own ``.pth`` hooks).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def clean_env() -> dict[str, str]:
    """The environment without this checkout on the path or a templates override."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GOVNET_TEMPLATES")}
    return {**env, "COLUMNS": "200"}


def install_wheel(tmp: Path) -> Path:
    """The bin/ directory of a fresh venv under *tmp* with the built wheel installed."""
    src = tmp / "src"  # build from a copy: the build writes build/ and *.egg-info beside the sources
    ignore = shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", "*.egg-info", ".mypy_cache", "tests")
    shutil.copytree(ROOT, src, ignore=ignore, symlinks=True)
    import importlib.util

    assert importlib.util.find_spec("wheel"), "the dev dependency `wheel` is missing: scripts/bootstrap --venv"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    built = run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), str(src)], tmp)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp / "dist").glob("govnet-*.whl")
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp).check_returncode()
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    done = run([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index", str(wheel)], tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    return venv / "bin"
