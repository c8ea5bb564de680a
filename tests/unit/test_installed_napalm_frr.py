"""napalm-frr installs and works on its own: its wheel alone in a fresh venv, run far from the checkout
(tests/wheel.py); govnet's wheel requires it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.wheel import clean_env, install_napalm_frr, run

FOUND = """
import json, os, napalm, napalm_frr
from napalm.base.exceptions import ConnectionException
cls = napalm.get_network_driver("frr")
driver = cls("198.18.255.254", "", "", timeout=1, optional_args={"known_hosts_file": os.devnull})
try:
    import govnet
    govnet_found = True
except ImportError:
    govnet_found = False
print(json.dumps({"cls": f"{cls.__module__}.{cls.__name__}", "file": napalm_frr.__file__,
                  "user": driver.username, "password": driver.password, "govnet": govnet_found}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_napalm_frr(tmp_path_factory.mktemp("napalm-frr"))


def test_found_by_napalm_without_govnet(installed: Path, tmp_path: Path) -> None:
    """NAPALM finds the driver in the installed wheel, govnet is not importable, and the login is what the
    caller passed even with govnet's variables set."""
    env = clean_env() | {"GOVNET_USERNAME": "from-env", "GOVNET_PASSWORD": "from-env"}
    out = run([str(installed / "python"), "-c", FOUND], tmp_path, env)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["cls"] == "napalm_frr.frr.FRRDriver"
    assert Path(got["file"]).is_relative_to(installed.parent), got["file"]
    assert (got["user"], got["password"], got["govnet"]) == ("", "", False)


def test_govnet_requires_it(tmp_path: Path) -> None:
    """govnet's wheel carries no copy of the driver and names napalm-frr as a dependency."""
    import shutil

    from tests.wheel import ROOT, build_wheel

    src = tmp_path / "src"  # a copy: the build writes build/ and *.egg-info beside the sources
    ignore = shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", "*.egg-info", ".mypy_cache", "tests")
    shutil.copytree(ROOT, src, ignore=ignore, symlinks=True)
    wheel = build_wheel(src, tmp_path / "dist", "govnet")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = [line for line in zf.read(meta).decode().splitlines() if line.startswith("Requires-Dist:")]
    assert not [n for n in names if n.startswith("napalm_frr/")]
    assert any(r.split()[1].startswith("napalm-frr") for r in requires), requires


def test_its_own_tests_pass_against_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    """napalm-frr/tests, copied away from the checkout, pass with only the wheel (and NAPALM) importable."""
    import shutil

    from tests.wheel import ROOT

    shutil.copytree(ROOT / "napalm-frr" / "tests", tmp_path / "tests")
    argv = [str(installed / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    out = run(argv, tmp_path, clean_env())
    assert out.returncode == 0, out.stdout + out.stderr
    assert " passed" in out.stdout and "failed" not in out.stdout, out.stdout
