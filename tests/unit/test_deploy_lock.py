"""One deploy at a time per environment: the second one is refused naming the holder, or waits; nothing half-done.

The holder is a real second process holding the lock (as a concurrent `govnet deploy` would); the fleet is the fake
one of test_deploy_engine.py, so a refused deploy that still touched a device fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from govnet.deploy.engine import CHANGED
from govnet.deploy.lock import LOCK_NAME, DeployLock, DeployLocked
from tests.fake_napalm import Fleet
from tests.unit import test_deploy_engine as engine_tests
from tests.unit.test_deploy_engine import NETWORK, deploy, statuses

fleet = engine_tests.fleet  # the fake fleet fixture, shared with the engine's tests

ROOT = Path(__file__).resolve().parents[2]
HOLD = """
import sys, time
from pathlib import Path
from govnet.deploy.lock import DeployLock
with DeployLock(Path(sys.argv[1]), "run-of-alice", "alice"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another deploy of the environment, holding its lock for up to 60 s."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), "60"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()


def audit(tmp_path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


def test_a_second_deploy_is_refused_naming_the_holder_and_touches_nothing(
    tmp_path: Path, fleet: Fleet, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(DeployLocked) as refused:
        deploy(tmp_path)
    line = refused.value.line()
    assert "alice@" in line and f"pid {holder.pid}" in line and "run run-of-alice" in line, line
    assert "\n" not in line
    assert not any(fleet[n].log for n in NETWORK.devices), "a refused deploy touched a device"
    (record,) = audit(tmp_path)
    assert record["status"] == "refused" and record["action"] == "deploy"
    assert f"pid {holder.pid}" in str(record["error"])


def test_the_lock_goes_stale_when_its_holder_dies(tmp_path: Path, fleet: Fleet, holder: subprocess.Popen[str]) -> None:
    holder.kill()  # no cleanup runs: the kernel drops the lock with the process
    holder.wait()
    report = deploy(tmp_path)
    assert set(statuses(report).values()) == {CHANGED}


def test_wait_takes_the_lock_once_the_other_deploy_ends(tmp_path: Path, fleet: Fleet) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), "1.5"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        start = time.monotonic()
        report = deploy(tmp_path, lock_wait=30)
        waited = time.monotonic() - start
    finally:
        proc.kill()
        proc.wait()
    assert set(statuses(report).values()) == {CHANGED}
    first_commit = min(seq for n in NETWORK.devices for seq, w in fleet[n].log if w == "commit")
    assert first_commit and waited >= 0.5, f"committed after {waited:.2f} s: it did not wait for the holder"


def test_wait_gives_up_after_its_seconds(tmp_path: Path, fleet: Fleet, holder: subprocess.Popen[str]) -> None:
    start = time.monotonic()
    with pytest.raises(DeployLocked) as refused:
        deploy(tmp_path, lock_wait=0.6)
    assert time.monotonic() - start >= 0.6
    assert "after waiting 0.6 s" in refused.value.line()
    assert not any(fleet[n].log for n in NETWORK.devices)


def test_a_dry_run_needs_no_lock(tmp_path: Path, fleet: Fleet, holder: subprocess.Popen[str]) -> None:
    report = deploy(tmp_path, dry_run=True)
    assert report.ok and not any(fleet[n].log for n in NETWORK.devices)


def test_the_holder_is_recorded_while_held_and_cleared_after(tmp_path: Path) -> None:
    lock = DeployLock(tmp_path, "run-1", "bob")
    with lock:
        held = json.loads((tmp_path / LOCK_NAME).read_text())
        assert held["user"] == "bob" and held["run"] == "run-1" and held["since"] <= time.time()
        with pytest.raises(DeployLocked):  # a second holder in the same process is refused too (flock per open)
            DeployLock(tmp_path, "run-2", "carol").__enter__()
    assert (tmp_path / LOCK_NAME).read_text() == ""
    with DeployLock(tmp_path, "run-3", "dave"):
        pass
