"""Build the wheels of govnet and of napalm-frr (napalm-frr/) and install them into a fresh venv, with no download.

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
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def clean_env() -> dict[str, str]:
    """The environment without this checkout on the path or a templates override."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GOVNET_TEMPLATES")}
    return {**env, "COLUMNS": "200"}


def install_wheel(tmp: Path) -> Path:
    """The bin/ directory of a fresh venv under *tmp* with the built wheels of govnet and napalm-frr installed."""
    src = tmp / "src"  # build from a copy: the build writes build/ and *.egg-info beside the sources
    ignore = shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", "*.egg-info", ".mypy_cache", "tests")
    shutil.copytree(ROOT, src, ignore=ignore, symlinks=True)
    wheels = [build_wheel(src / "napalm-frr", tmp / "dist", "napalm_frr"), build_wheel(src, tmp / "dist", "govnet")]
    return fresh_venv(tmp / "venv", wheels)


def install_napalm_frr(tmp: Path) -> Path:
    """The bin/ directory of a fresh venv under *tmp* with only the napalm-frr wheel installed (no govnet)."""
    src = tmp / "src"
    ignore = shutil.ignore_patterns("build", "__pycache__", "*.egg-info", ".mypy_cache")
    shutil.copytree(ROOT / "napalm-frr", src, ignore=ignore)
    return fresh_venv(tmp / "venv", [build_wheel(src, tmp / "dist", "napalm_frr")])


def build_wheel(src: Path, dist: Path, name: str) -> Path:
    """The wheel of the project in *src*, built without isolation or download into *dist*."""
    import importlib.util

    assert importlib.util.find_spec("wheel"), "the dev dependency `wheel` is missing: scripts/bootstrap --venv"
    built = run([*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)], src.parent)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob(f"{name}-*.whl")
    return wheel


def fresh_venv(venv: Path, wheels: list[Path]) -> Path:
    """A venv at *venv* that sees this venv's dependencies (a ``.pth`` line) and has *wheels* installed."""
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], venv.parent).check_returncode()
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    argv = [*PIP, "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index", *map(str, wheels)]
    done = run(argv, venv.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    return venv / "bin"
