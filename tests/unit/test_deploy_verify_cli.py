"""``govnet deploy --verify`` refuses, before any device is touched, what it could not verify afterwards: a dry run,
an environment other than the lab, no lab up (or not root). Its run on a real lab is in tests/lab/test_lab_sync.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def govnet(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GOVNET_")}
    env = {**clean, "GOVNET_LAB_DIR": str(tmp_path / "lab"), "GOVNET_DEPLOY_DIR": str(tmp_path / "deploy"),
           "COLUMNS": "300"}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "govnet", "--inventory", str(ROOT / "inventory" / "karbala"), *args],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=60, check=False)  # fmt: skip


def untouched(tmp_path: Path) -> None:
    """No deploy began: no audit record, no backup, no lock."""
    assert not (tmp_path / "deploy").exists() or not any((tmp_path / "deploy").rglob("*")), list(
        (tmp_path / "deploy").rglob("*")
    )


def test_a_dry_run_with_verify_is_a_usage_error(tmp_path: Path) -> None:
    proc = govnet(tmp_path, "deploy", "--dry-run", "--verify")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "--verify: a dry run changes nothing to verify"
    untouched(tmp_path)


def test_production_cannot_be_verified_from_here_and_nothing_is_pushed(tmp_path: Path) -> None:
    proc = govnet(tmp_path, "--env", "production", "deploy", "--verify")
    assert proc.returncode == 2, proc.stderr
    assert "verify: only the lab environment can be verified from here, not 'production'" in proc.stderr
    assert "Traceback" not in proc.stderr
    untouched(tmp_path)


def test_no_lab_up_is_refused_before_the_deploy(tmp_path: Path) -> None:
    proc = govnet(tmp_path, "deploy", "--verify")
    if os.geteuid() == 0:
        assert proc.returncode == 1, proc.stderr
        assert f"verify: no lab is up in {tmp_path / 'lab'}" in proc.stderr
    else:
        assert proc.returncode == 2, proc.stderr
        assert "verify: needs root" in proc.stderr
    assert "Traceback" not in proc.stderr
    untouched(tmp_path)


def test_a_failed_verify_is_in_the_audit_trail_under_the_deploys_run(tmp_path: Path, monkeypatch) -> None:
    """The verdict the deploy's run ends with is a record of its own, in the chain, naming what failed."""
    from govnet.cli.deploy import _audit_verify
    from govnet.deploy.audit import AuditLog
    from govnet.deploy.engine import DeployReport
    from govnet.verify.result import Check
    from govnet.verify.run import Outcome

    monkeypatch.setenv("GOVNET_DEPLOY_DIR", str(tmp_path))
    checks = [Check("control-plane", "core1: OSPF neighbour 198.18.0.2 on eth1 Full", False, "Init"),
              Check("control-plane", "core2: BGP session 198.18.0.9 Established", True)]  # fmt: skip
    _audit_verify(DeployReport("run-1", "abc123", []), Outcome(None, checks, None, 1.0), "lab")  # type: ignore[arg-type]
    log = AuditLog(tmp_path / "audit.jsonl")
    [record] = list(log.records())
    assert (record["run"], record["action"], record["status"], record["env"]) == ("run-1", "verify", "failed", "lab")
    assert record["failed"] == ["core1: OSPF neighbour 198.18.0.2 on eth1 Full"]
    assert record["checks"] == 2 and record["error"] == "1 of 2 check(s) failed"
    assert log.verify() == []
