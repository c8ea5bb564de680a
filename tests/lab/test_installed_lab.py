"""`lab up` from an installed govnet, in a directory holding only a copy of the inventory (root, the lab lock).

Babil's inventory: its own lab prefix and management range, so the suite's Karbala lab may stay up meanwhile."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.wheel import ROOT, clean_env, install_wheel, run

pytestmark = pytest.mark.lab


def test_lab_up_status_down_from_the_installed_wheel(lab_machine: None, tmp_path: Path) -> None:
    govnet = str(install_wheel(tmp_path / "wheel") / "govnet")
    here = tmp_path / "elsewhere"
    shutil.copytree(ROOT / "inventory" / "babil", here / "inv")
    env = clean_env() | {"GOVNET_LAB_DIR": str(here / "lab")}
    try:
        up = run([govnet, "-i", "inv", "lab", "up"], here, env)
        assert up.returncode == 0, up.stdout + up.stderr
        status = run([govnet, "-i", "inv", "lab", "status"], here, env)
        assert status.returncode == 0 and "bbl-c1" in status.stdout, status.stdout + status.stderr
    finally:
        down = run([govnet, "-i", "inv", "lab", "down"], here, env)
    assert down.returncode == 0, down.stdout + down.stderr
