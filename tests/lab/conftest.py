"""The Karbala lab as a session fixture: built once (bootstrap configs), torn down at the end.

Tests of other stages (deploy, verify) use ``lab`` too: they push the real configs themselves.
Skips only when not root; a missing package is a failure, never a skip.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from govnet.lab import engine
from govnet.lab.deps import missing_packages
from govnet.lab.footprint import footprint
from govnet.lab.from_model import load_spec
from govnet.lab.state import REGISTRY, Lab, StateFile, lab_username
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
    _clear_leftover(path)
    return path


def _clear_leftover(state_dir: Path, wait: float = 900) -> None:
    """Tear down a lab left by an interrupted session; wait (up to ``wait`` s) while a live session holds it."""
    deadline = time.monotonic() + wait
    while (state := StateFile.load(state_dir)) is not None:
        if "owner" not in state.data:
            pytest.fail(
                f"lab in {state_dir} has no owner record; if unused: GOVNET_LAB_DIR={state_dir} govnet lab down"
            )
        if not state.owner_alive():
            engine.down(state_dir)
            return
        if time.monotonic() > deadline:
            pid = state.data["owner"][0]
            pytest.fail(f"lab in {state_dir} is still held by another test session (pid {pid})", False)
        time.sleep(2)


def _wait_for_prefix(prefix: str, wait: float = 900) -> None:
    """Another session's Karbala lab (other state dir, same names) is waited for, an engineer's is not touched."""
    deadline = time.monotonic() + wait
    entry = REGISTRY / f"{prefix}.lab"
    while entry.exists():
        other = Path(entry.read_text().strip()).parent
        state = StateFile.load(other)
        if state is None or other == STATE_DIR:
            return
        if not state.owner_alive():
            pytest.fail(f"a lab is up in {other}: stop it first with GOVNET_LAB_DIR={other} govnet lab down", False)
        if time.monotonic() > deadline:
            pytest.fail(f"the lab in {other} is still held by another test session", False)
        time.sleep(2)


@pytest.fixture(scope="session")
def lab_spec() -> LabSpec:
    """The Karbala lab spec (model → lab), rendered once."""
    require_lab_machine()
    return load_spec(INVENTORY, "lab")


@pytest.fixture(scope="session")
def lab(lab_spec: LabSpec) -> Iterator[Lab]:
    """The running Karbala lab (bootstrap configs); after ``down`` nothing of it may remain."""
    _clear_leftover(STATE_DIR)
    _wait_for_prefix(lab_spec.prefix)
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


@pytest.fixture(scope="session")
def deployed(lab: Lab) -> Iterator[Lab]:
    """The session's lab with full configs, zone policy and service listeners (tests/lab/deployed.py), deployed once
    for every module that asks (verify, the hardening drills: they sort last, after the modules that need bootstrap
    configs); bootstrap configs again at the end of the session."""
    from tests.lab.deployed import deploy_full, undeploy

    deploy_full(lab)
    try:
        yield lab
    finally:
        undeploy(lab)
