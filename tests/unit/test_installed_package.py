"""An installed govnet works: build the wheel, install it into a fresh venv, run it from another directory.

No download: the wheel is built without build isolation (setuptools and wheel from this venv) and installed
without dependencies; the fresh venv sees this venv's dependencies through a ``.pth`` line, but not its
editable govnet (a ``.pth`` path line does not run that directory's own ``.pth`` hooks).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ directory of a fresh venv with the built wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # build from a copy: the build writes build/ and *.egg-info beside the sources
    ignore = shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", "*.egg-info", ".mypy_cache", "tests")
    shutil.copytree(ROOT, src, ignore=ignore, symlinks=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    built = _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), str(src)], tmp)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp / "dist").glob("govnet-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp).check_returncode()
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    done = _run([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index", str(wheel)], tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    return venv / "bin"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A directory holding only a copy of the inventory, far from the checkout."""
    shutil.copytree(ROOT / "inventory" / "karbala", tmp_path / "inv")
    return tmp_path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GOVNET_TEMPLATES")}
    return {**env, "COLUMNS": "200"}


def test_the_installed_package_is_not_the_checkout(installed: Path, elsewhere: Path) -> None:
    code = "import govnet, govnet.model.platform as p; print(govnet.__file__); print(p.TEMPLATES)"
    out = _run([str(installed / "python"), "-c", code], elsewhere, _env())
    assert out.returncode == 0, out.stderr
    package, templates = out.stdout.split()
    assert Path(package).is_relative_to(installed.parent), package
    assert Path(templates).is_relative_to(installed.parent) and not Path(templates).is_symlink(), templates
    assert sorted(p.parent.name for p in Path(templates).glob("*/platform.yml")) == ["cisco_ios", "frr"]


def test_validate_from_another_directory(installed: Path, elsewhere: Path) -> None:
    out = _run([str(installed / "govnet"), "-i", "inv", "validate"], elsewhere, _env())
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("ok: inv (lab)"), out.stdout


def test_render_from_another_directory(installed: Path, elsewhere: Path) -> None:
    """The installed package renders, from its packaged templates, the bytes the checkout renders."""
    checkout = [sys.executable, "-P", "-m", "govnet"]
    for env in ("lab", "production"):
        out = _run([str(installed / "govnet"), "-i", "inv", "-e", env, "render", "--json"], elsewhere, _env())
        assert out.returncode == 0, out.stdout + out.stderr
        configs = [elsewhere / p for p in json.loads(out.stdout)["configs"]]  # relative to the cwd
        assert len(configs) > 10 and all(p.is_relative_to(elsewhere / "build" / env) for p in configs)
        env_checkout = _env() | {"PYTHONPATH": str(ROOT)}
        ref = _run([*checkout, "-i", "inv", "-e", env, "render", "--out", f"ref-{env}"], elsewhere, env_checkout)
        assert ref.returncode == 0, ref.stdout + ref.stderr
        for path in configs:
            assert path.read_bytes() == (elsewhere / f"ref-{env}" / path.name).read_bytes(), path.name
