"""`govnet deploy --env production` end to end, in process: NAPALM's real ios driver against the harness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from govnet.cli import app
from govnet.render import SECRET_NAMES, secret_variable
from tests.ios.conftest import ENABLE, INVENTORY, PASSWORD
from tests.ios_harness import TYPE9, IOSWorld


def secret_value(name: str) -> str:
    return TYPE9 if name.endswith("_hash") else f"harness-{name.replace('_', '-')}"


@pytest.fixture
def env(world: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Credentials, known_hosts, the deploy directory and every secret, as an operator's shell would have them."""
    workdir = tmp_path / "deploy"
    monkeypatch.setenv("GOVNET_USERNAME", world.user)
    monkeypatch.setenv("GOVNET_PASSWORD", PASSWORD)
    monkeypatch.setenv("GOVNET_ENABLE_SECRET", ENABLE)
    monkeypatch.setenv("GOVNET_KNOWN_HOSTS", str(world.known_hosts))
    monkeypatch.setenv("GOVNET_DEPLOY_DIR", str(workdir))
    for name in SECRET_NAMES:
        monkeypatch.setenv(secret_variable(name), secret_value(name))
    return workdir


def govnet(*args: str) -> tuple[int, Any, str]:
    result = CliRunner().invoke(app, ["-i", str(INVENTORY), "--env", "production", *args])
    try:
        payload = json.loads(result.stdout) if "--json" in args else None
    except json.JSONDecodeError:
        payload = None
    return result.exit_code, payload, result.stderr if hasattr(result, "stderr") else result.output


def deploy(*args: str) -> tuple[int, Any, str]:
    return govnet("deploy", "--json", "--converge-timeout", "30", *args)


def test_deploy_then_unchanged_then_no_drift(world: IOSWorld, env: Path, prod_net: Any) -> None:
    code, report, err = deploy()
    bad = [(d["device"], d["status"], d["stage"], d["error"]) for d in report["devices"] if d["status"] != "changed"]
    assert code == 0 and not bad, (err, bad[:3])
    assert not world.unknown
