"""An installed govnet works: build the wheel, install it into a fresh venv, run it from another directory
(tests/wheel.py; `lab up` from the wheel is tests/lab/test_installed_lab.py)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.wheel import clean_env, install_wheel, run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ directory of a fresh venv with the built wheel installed."""
    return install_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A directory holding only a copy of the inventory, far from the checkout."""
    shutil.copytree(ROOT / "inventory" / "karbala", tmp_path / "inv")
    return tmp_path


def test_the_installed_package_is_not_the_checkout(installed: Path, elsewhere: Path) -> None:
    code = "import govnet, govnet.model.platform as p; print(govnet.__file__); print(p.TEMPLATES)"
    out = run([str(installed / "python"), "-c", code], elsewhere, clean_env())
    assert out.returncode == 0, out.stderr
    package, templates = out.stdout.split()
    assert Path(package).is_relative_to(installed.parent), package
    assert Path(templates).is_relative_to(installed.parent) and not Path(templates).is_symlink(), templates
    assert sorted(p.parent.name for p in Path(templates).glob("*/platform.yml")) == ["cisco_ios", "frr"]


def test_validate_from_another_directory(installed: Path, elsewhere: Path) -> None:
    out = run([str(installed / "govnet"), "-i", "inv", "validate"], elsewhere, clean_env())
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("ok: inv (lab)"), out.stdout


def test_render_from_another_directory(installed: Path, elsewhere: Path) -> None:
    """The installed package renders, from its packaged templates, the bytes the checkout renders."""
    checkout = [sys.executable, "-P", "-m", "govnet"]
    for env in ("lab", "production"):
        out = run([str(installed / "govnet"), "-i", "inv", "-e", env, "render", "--json"], elsewhere, clean_env())
        assert out.returncode == 0, out.stdout + out.stderr
        configs = [elsewhere / p for p in json.loads(out.stdout)["configs"]]  # relative to the cwd
        assert len(configs) > 10 and all(p.is_relative_to(elsewhere / "build" / env) for p in configs)
        env_checkout = clean_env() | {"PYTHONPATH": str(ROOT)}
        ref = run([*checkout, "-i", "inv", "-e", env, "render", "--out", f"ref-{env}"], elsewhere, env_checkout)
        assert ref.returncode == 0, ref.stdout + ref.stderr
        for path in configs:
            assert path.read_bytes() == (elsewhere / f"ref-{env}" / path.name).read_bytes(), path.name
