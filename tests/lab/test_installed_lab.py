"""`lab up` and `lab status` from an installed govnet, in a directory holding only a copy of the inventory (root).

It runs against the suite's own Karbala lab: the installed package must find its platforms and templates to load
the copy, and `lab up` on that running lab must find it already matching the inventory ("no change")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from govnet.lab.state import Lab
from tests.wheel import ROOT, clean_env, install_wheel, run

pytestmark = pytest.mark.lab


def test_lab_up_and_status_from_the_installed_wheel(lab: Lab, tmp_path: Path) -> None:
    govnet = str(install_wheel(tmp_path / "wheel") / "govnet")
    here = tmp_path / "elsewhere"
    shutil.copytree(ROOT / "inventory" / "karbala", here / "inv")
    env = clean_env() | {"GOVNET_LAB_DIR": str(lab.state_dir)}
    up = run([govnet, "-i", "inv", "lab", "up"], here, env)
    assert up.returncode == 0 and "no change" in up.stdout + up.stderr, up.stdout + up.stderr
    status = run([govnet, "-i", "inv", "lab", "status"], here, env)
    assert status.returncode == 0 and "core1" in status.stdout, status.stdout + status.stderr
