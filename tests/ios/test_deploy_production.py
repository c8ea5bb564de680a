"""`govnet deploy --env production` end to end, in process: NAPALM's real ios driver against the harness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from govnet.cli.app import app
from govnet.deploy.audit import AuditLog
from govnet.model import load_network
from govnet.render import render_device, secret_names, secret_variable, secrets_from_env
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
    for name in secret_names(load_network(INVENTORY, "production")):
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
    names = set(prod_net.devices)
    assert {d["device"] for d in report["devices"]} == names

    for box in world.devices.values():
        running = box.running_text()
        # what the driver did, in order, on every box: transfer, commit with a revert timer, confirm, save
        log = "\n".join(box.log)
        replace = f"configure replace {box.filesystem}/candidate_config.txt force revert trigger error timer 2"
        assert "tclsh" in log and replace in log
        assert log.index("configure replace") < log.index("configure confirm") < log.rindex("write mem")
        assert box.pending is None and box.startup == box.running
        # the device-specific sections a replace must keep, kept (the box refuses to lose its licence UDI)
        assert "crypto pki trustpoint TP-self-signed-" in running and "license udi pid" in running
        assert "archive" in running and "file prompt quiet" not in running
        # two logins: the deploy's session and the fresh one before confirm
        assert world.logins.count((box.hostname, world.user)) == 2
    # host keys checked on every connection, the enable secret passed, the driver's platform arguments used
    assert all(k["ssh_strict"] and k["alt_key_file"] == str(world.known_hosts) for k in world.connect_kwargs)

    records = list(AuditLog(env / "audit.jsonl").records())
    assert len(records) == len(names) and {r["status"] for r in records} == {"changed"}
    assert {r["run"] for r in records} == {report["run"]} and all(r["backup"] for r in records)
    assert all("<secret>" not in r["diff"] or PASSWORD not in r["diff"] for r in records)
    assert not any(PASSWORD in json.dumps(r) or ENABLE in json.dumps(r) for r in records)

    code, again, _ = deploy()
    assert code == 0 and {d["status"] for d in again["devices"]} == {"unchanged"}, [
        (d["device"], d["diff"][:300]) for d in again["devices"] if d["status"] != "unchanged"
    ][:2]
    assert all(
        "configure replace" not in "\n".join(b.log).split("configure confirm")[-1] for b in world.devices.values()
    )

    code, drift, _ = govnet("drift", "--json")
    assert code == 0 and not any(d["changed"] for d in drift), [d for d in drift if d["changed"]][:1]

    box = world.by_name("health-r1")
    box.apply(box.running_text() + "ip domain lookup\nip host printer 10.20.0.9\n")  # by hand, on one box
    code, drift, _ = govnet("drift", "--json")
    assert code == 1 and [d["device"] for d in drift if d["changed"]] == ["health-r1"]
    assert "ip host printer 10.20.0.9" in next(d["detail"] for d in drift if d["changed"])

    # rollback to the config the box ran before the first deploy (its first backup)
    first = next(d["backup"] for d in report["devices"] if d["device"] == "core2")
    code, rolled, _ = govnet("rollback", "core2", "--to", first, "--json")
    assert code == 0 and rolled[0]["changed"], rolled
    core2 = world.by_name("core2")
    assert "router bgp" not in core2.running_text() and core2.pending is None
    assert world.logins.count(("core2", world.user)) >= 5  # deploys, drift, rollback and its fresh login
    assert not world.unknown


def deployed(world: IOSWorld, prod_net: Any) -> None:
    """Every box already runs its intended config (as after a deploy)."""
    values = secrets_from_env(network=prod_net)
    for name in prod_net.devices:
        world.by_name(name).apply(render_device(prod_net, name, values))


def test_failed_post_check_rolls_back(world: IOSWorld, env: Path, prod_net: Any, monkeypatch: Any) -> None:
    deployed(world, prod_net)
    box = world.by_name("core1")
    before = box.running_text()
    broken = render_device

    def render(network: Any, name: str, secrets: Any = None) -> str:  # core1 loses its iBGP session to core2
        text = broken(network, name, secrets)
        if name != "core1":
            return text
        return "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith("neighbor 10.255.0.2 ")) + "\n"

    monkeypatch.setattr("govnet.render.render_device", render)
    code, report, _ = govnet("deploy", "--json", "--limit", "core1", "--converge-timeout", "1")
    [result] = report["devices"]
    assert code == 1 and result["status"] == "rolled-back" and result["stage"] == "post-check", result
    assert "bgp core2 (10.255.0.2): not established" in result["error"]
    assert "no neighbor 10.255.0.2" in result["diff"]
    assert box.running_text() == before and box.pending is None
    assert not world.unknown


def test_deleting_the_deploy_user_is_rolled_back(world: IOSWorld, env: Path, prod_net: Any, monkeypatch: Any) -> None:
    deployed(world, prod_net)
    box = world.by_name("core2")
    before = box.running_text()
    rendered = render_device

    def render(network: Any, name: str, secrets: Any = None) -> str:  # the candidate forgets the deploy user
        text = rendered(network, name, secrets)
        return text if name != "core2" else text.replace(f"username {world.user} ", "username someone-else ")

    monkeypatch.setattr("govnet.render.render_device", render)
    code, report, _ = govnet("deploy", "--json", "--limit", "core2", "--converge-timeout", "5")
    [result] = report["devices"]
    assert code == 1 and result["status"] == "rolled-back" and result["stage"] == "fresh-login", result
    assert result["error"].startswith("management access lost after the change: Authentication to device failed")
    assert "<confirm>" in box.log  # IOS asked before removing the user; the driver said yes
    assert box.running_text() == before and box.pending is None
    assert box.login_problem(world.user) == ""
    assert not world.unknown


def test_unresolved_secret_refused_before_any_connection(world: IOSWorld, env: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv(secret_variable("ios_tacacs_key"))
    code, _, err = govnet("deploy", "--limit", "core1,core2")
    assert code == 2
    assert err.splitlines() == [
        "core1: secret 'ios_tacacs_key' is not set (GOVNET_IOS_TACACS_KEY or the vault)",
        "core2: secret 'ios_tacacs_key' is not set (GOVNET_IOS_TACACS_KEY or the vault)",
    ]
    assert world.logins == []


def test_revert_timer_in_minutes_refused_before_any_connection(world: IOSWorld, env: Path) -> None:
    code, _, err = govnet("deploy", "--confirm-timeout", "30")
    assert code == 2 and err.strip() == (
        "--confirm-timeout: cisco_ios devices' revert timer must be 60..7200 seconds in steps of 60, got 30"
    )
    code, _, err = govnet("rollback", "core1", "--confirm-timeout", "90")
    assert code == 2 and "in steps of 60, got 90" in err
    assert world.logins == []


def test_dry_run_shows_the_remediation_and_changes_nothing(world: IOSWorld, env: Path) -> None:
    box = world.by_name("edu-r1")
    before = box.running_text()
    code, report, _ = govnet("deploy", "--json", "--dry-run", "--limit", "edu-r1")
    [result] = report["devices"]
    assert code == 0 and result["status"] == "would-change"
    assert "router ospf 1" in result["diff"] and "secret <redacted>" in result["diff"]
    assert box.running_text() == before and not any(c.startswith("configure") for c in box.log)
    assert not world.unknown


def test_rollback_refuses_a_backup_holding_a_placeholder(world: IOSWorld, env: Path, prod_net: Any) -> None:
    from govnet.deploy.backups import BackupStore

    saved = BackupStore(env / "backups").save("core1", render_device(prod_net, "core1"))  # secrets unresolved
    code, _, err = govnet("rollback", "core1", "--to", saved.id)
    assert code == 2 and err.startswith(f"rollback: backup {saved.id} of core1 holds unresolved secret(s): ")
    assert "ios_enable_secret_hash" in err and world.logins == []


def test_a_login_other_than_the_rendered_deploy_user_is_refused_before_any_connection(
    world: IOSWorld, env: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("GOVNET_USERNAME", "alice")
    code, _, err = govnet("deploy", "--limit", "core1")
    assert code == 2
    assert err.strip() == (
        "GOVNET_USERNAME is 'alice', but the production configs render the deploy user 'govnet': a replace would "
        "delete the login in use (set GOVNET_USERNAME, or environments.production.deploy_user)"
    )
    assert world.logins == []
