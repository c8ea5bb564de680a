"""The Karbala lab as a session fixture: built once (bootstrap configs), torn down at the end.

Tests of other stages (deploy, verify) use ``lab`` too: they push the real configs themselves.
Skips only when not root; a missing package is a failure, never a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from govnet.lab import engine
from govnet.lab.deps import missing_packages
from govnet.lab.footprint import footprint
from govnet.lab.from_model import load_spec
from govnet.lab.state import Lab, StateFile, lab_username
from govnet.lab.topology import LabSpec

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventory" / "karbala"
#: Separate from the CLI's build/lab so a test run never tears down an engineer's lab.
STATE_DIR = Path(os.environ.get("GOVNET_LAB_TEST_DIR") or REPO / "build" / "lab-test")


def require_lab_machine() -> None:
    """Skip when not root (the only reason to skip); fail naming any missing package."""
    if os.geteuid() != 0:
        pytest.skip("not root")
    missing = missing_packages()
    if missing:
        pytest.fail(f"lab: missing packages: {', '.join(missing)} — install with: sudo scripts/bootstrap", False)


@pytest.fixture
def lab_machine() -> None:
    """For tests that need root and the lab packages but no running lab."""
    require_lab_machine()


@pytest.fixture
def synthetic_state_dir(request: pytest.FixtureRequest) -> Path:
    """A state directory for a test's own lab, reachable by the frr user (pytest's tmp_path is root-only)."""
    require_lab_machine()
    path = REPO / "build" / "lab-test-synthetic" / request.node.name
    if StateFile.load(path) is not None:
        engine.down(path)
    return path


@pytest.fixture(scope="session")
def lab_spec() -> LabSpec:
    """The Karbala lab spec (model → lab), rendered once."""
    require_lab_machine()
    return load_spec(INVENTORY, "lab")


@pytest.fixture(scope="session")
def lab(lab_spec: LabSpec) -> Iterator[Lab]:
    """The running Karbala lab (bootstrap configs); after ``down`` nothing of it may remain."""
    if StateFile.load(STATE_DIR) is not None:
        engine.down(STATE_DIR)  # left over from an interrupted session
    before = footprint(lab_spec, STATE_DIR, lab_username())
    running = engine.up(lab_spec, STATE_DIR, configured=False)
    running.network = lab_spec.network
    try:
        yield running
    finally:
        engine.down(STATE_DIR)
    left = before.diff(footprint(lab_spec, STATE_DIR, lab_username()))
    if left:
        pytest.fail(f"lab down left objects behind: {left}", False)
