"""RouterConfigProvider's create/diff/update/read/delete, called directly (as Pulumi's engine would) against a
fake FRR device built from the real rendered config of health-r1."""

from __future__ import annotations

import functools
import os
import stat
import subprocess
import sys
from pathlib import Path

import pulumi.dynamic as dyn
import pytest

from govnet.model import Network
from govnet.render import LAB_KEYS, render_device
from govnet_pulumi import devices, sections
from govnet_pulumi.router_config import RouterConfigProvider
from tests.pulumi.conftest import ROOT
from tests.pulumi.fake_driver import FakeDevice, FakeDriver

HEADER = "interface eth2"


def on_box(intended: str) -> str:
    """The stanza as the box must run it: the render's key placeholder filled with the lab's key."""
    return intended.replace("<vault:ospf_key>", LAB_KEYS["ospf_key"])


@pytest.fixture
def box(lab_network: Network) -> FakeDevice:
    """health-r1 as rendered, but its eth2 (microwave to core2) never configured: a new link to bring up."""
    rendered = render_device(lab_network, "health-r1")
    return FakeDevice(sections.splice(rendered, HEADER, "interface eth2\nexit\n"))


@pytest.fixture
def provider(box: FakeDevice) -> RouterConfigProvider:
    return RouterConfigProvider(connect=lambda target: FakeDriver(box))


@pytest.fixture
def props(lab_network: Network, tmp_path: Path) -> dict[str, object]:
    return {
        "device": "health-r1",
        "host": "198.19.0.15",
        "platform": "frr",
        "header": HEADER,
        "intended": sections.extract(render_device(lab_network, "health-r1"), HEADER),
        "username": "govnet",
        "password": "pw",
        "known_hosts": "",
        "revert_in": 60,
        "backup_dir": str(tmp_path / "backups"),
        "env": "lab",
    }


def test_create_commits_with_revert_timer_and_confirms(provider, box, props) -> None:
    before = box.running
    result = provider.create(dict(props))
    assert result.id == "health-r1:interface eth2"
    assert sections.extract(box.running, HEADER) == on_box(props["intended"])
    assert box.commits == [("", 60)] and not box.pending
    assert " ip ospf cost 50" in result.outs["running"]
    assert "+ ip address 198.18.1.29/31" in result.outs["last_diff"]
    # nothing outside the stanza moved
    assert sections.splice(box.running, HEADER, "interface eth2\nexit\n") == before


def test_diff_is_empty_when_in_sync_and_create_is_idempotent(provider, box, props) -> None:
    provider.create(dict(props))
    assert provider.diff("id", dict(props), dict(props)).changes is False
    again = provider.create(dict(props))
    assert again.outs["last_diff"] == "" and len(box.commits) == 1


def test_hand_drift_is_detected_and_repaired(provider, box, props) -> None:
    provider.create(dict(props))
    drifted = props["intended"].replace("ip ospf cost 50", "ip ospf cost 999").replace("exit", " shutdown\nexit")
    box.hand_edit(HEADER, on_box(drifted))
    assert provider.diff("id", dict(props), dict(props)).changes is True
    provider.update("id", dict(props), dict(props))
    assert sections.extract(box.running, HEADER) == on_box(props["intended"])
    assert provider.diff("id", dict(props), dict(props)).changes is False


def test_check_puts_the_device_diff_in_the_preview(provider, box, props) -> None:
    """`pulumi preview --diff` shows changed inputs: check records the router's own diff as `pending_diff`."""
    fresh = provider.check({}, dict(props))
    assert fresh.failures == [] and fresh.inputs["pending_diff"] == "" and box.sessions == 0
    outs = provider.create(dict(props)).outs
    assert provider.check(outs, dict(props)).inputs["pending_diff"] == ""
    box.hand_edit(HEADER, on_box(props["intended"]).replace("cost 50", "cost 999"))
    checked = provider.check(outs, dict(props)).inputs
    assert "- ip ospf cost 999" in checked["pending_diff"] and "+ ip ospf cost 50" in checked["pending_diff"]
    sessions = box.sessions
    assert provider.diff("id", outs, checked).changes is True
    assert box.sessions == sessions, "diff asked the device again instead of using check's answer"
    assert provider.update("id", outs, checked).outs["pending_diff"] == ""


def test_check_refuses_a_stanza_that_is_not_the_header(provider, props) -> None:
    bad = {**props, "intended": "interface eth3\n ip address 198.18.1.30/31\nexit\n"}
    failures = provider.check({}, bad).failures
    assert [(f.property, f.reason) for f in failures] == [("intended", "must be the stanza 'interface eth2'")]


def test_new_intent_the_device_already_runs_still_updates_the_state(provider, box, props) -> None:
    outs = provider.create(dict(props)).outs
    news = {**props, "revert_in": 90}
    assert provider.diff("id", outs, provider.check(outs, news).inputs).changes is True
    assert provider.diff("id", outs, provider.check(outs, dict(props)).inputs).changes is False
    updated = provider.update("id", outs, news)
    assert updated.outs["revert_in"] == 90 and updated.outs["last_diff"] == "" and len(box.commits) == 1


def test_moving_to_another_device_or_interface_replaces(provider, props) -> None:
    moved = {**props, "header": "interface eth9"}
    result = provider.diff("id", dict(props), moved)
    assert result.changes and result.replaces == ["header"] and result.delete_before_replace


def test_read_backs_up_and_reports_the_running_stanza(provider, box, props, tmp_path: Path) -> None:
    provider.create(dict(props))
    box.hand_edit(HEADER, props["intended"].replace("cost 50", "cost 7"))
    read = provider.read("health-r1:interface eth2", dict(props))
    assert read.id == "health-r1:interface eth2"
    assert " ip ospf cost 7" in read.outs["running"]
    (backup,) = (tmp_path / "backups").iterdir()
    assert backup.name.startswith("health-r1.") and backup.read_text() == box.running
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_failed_post_check_rolls_back(box, props) -> None:
    box.reject_address = True  # the platform keeps the text but never brings the address up
    before = box.running
    check = functools.partial(devices.stanza_converged, wait=0)
    provider = RouterConfigProvider(connect=lambda target: FakeDriver(box), post_check=check)
    with pytest.raises(devices.DeviceError, match=r"rolled back: .*eth2 does not carry 198.18.1.29/31"):
        provider.create(dict(props))
    assert box.commits == [("", 60)]
    assert box.running == before and not box.pending


def test_custom_post_check_is_used(box, props) -> None:
    provider = RouterConfigProvider(connect=lambda target: FakeDriver(box), post_check=lambda d, h, i: ["no OSPF"])
    with pytest.raises(devices.DeviceError, match="no OSPF"):
        provider.create(dict(props))
    assert sections.extract(box.running, HEADER) == "interface eth2\nexit\n"


def test_a_post_check_that_breaks_rolls_back_through_the_engine(box, props) -> None:
    """The provider's commit loop is the deploy engine's (`engine.commit_confirmed`): a post-check that raises
    after the commit is a failure, and the device goes back at once."""
    before = box.running
    provider = RouterConfigProvider(connect=lambda target: FakeDriver(box), post_check=lambda d, h, i: [][0])
    with pytest.raises(devices.DeviceError, match=r"interface eth2: rolled back: list index out of range"):
        provider.create(dict(props))
    assert box.commits == [("", 60)] and box.running == before and not box.pending


def test_a_failed_rollback_says_the_device_reverts_at_its_timer(box, props, monkeypatch) -> None:
    def refuse(self: FakeDriver) -> None:
        raise OSError("session dropped")

    monkeypatch.setattr(FakeDriver, "rollback", refuse)
    provider = RouterConfigProvider(connect=lambda target: FakeDriver(box), post_check=lambda d, h, i: ["no OSPF"])
    named = r"eth2: failed: post-check failed: stanza interface eth2: no OSPF; rollback failed \(session dropped\)"
    with pytest.raises(devices.DeviceError, match=named + ": the device reverts at its timer$"):
        provider.create(dict(props))
    assert box.pending, "still running the new config under its revert timer"


def test_delete_leaves_a_bare_interface(provider, box, props) -> None:
    provider.create(dict(props))
    provider.delete("id", dict(props))
    assert sections.extract(box.running, HEADER) == "interface eth2\nexit\n"


def test_secret_inputs_arrive_unwrapped(provider, box, props) -> None:
    from pulumi.runtime import rpc

    seen = []
    provider.connect = lambda target: seen.append(target) or FakeDriver(box)
    wrapped = {**props, "password": {rpc._special_sig_key: rpc._special_secret_sig, "value": "pw"}}
    provider.create(wrapped)
    assert seen[0].password == "pw" and "pw" not in repr(seen[0])


def test_provider_loads_in_a_fresh_provider_process() -> None:
    """Pulumi pickles the provider into the state and unpickles it in its dynamic-provider process, which runs
    `python -m pulumi.dynamic` in the project directory: it must load there with nothing but the venv and cwd."""
    blob = dyn.dynamic.serialize_provider(RouterConfigProvider())
    load = (
        "import base64, sys, dill\n"
        "p = dill.loads(base64.b64decode(sys.stdin.read()))\n"
        "print(type(p).__module__, type(p).__name__, p.connect.__module__, p.connect.__name__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", load], input=blob, cwd=ROOT / "pulumi", env=env, text=True, capture_output=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "govnet_pulumi.router_config",
        "RouterConfigProvider",
        "govnet_pulumi.devices",
        "open_driver",
    ]


HOLD_LOCK = """
import sys, time
from pathlib import Path
from govnet.deploy.lock import DeployLock
with DeployLock(Path(sys.argv[1]), "run-of-alice", "alice"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_push_while_another_deploy_runs_fails_naming_it(provider, box, props, tmp_path: Path) -> None:
    """The provider shares `govnet deploy`'s lock (build/<env>/deploy.lock, beside the backups)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = box.running
        named = rf"health-r1: another deploy .*pid {holder.pid}, run run-of-alice"
        with pytest.raises(devices.DeviceError, match=named):
            provider.create(dict(props))
        assert box.running == before and box.commits == []
    finally:
        holder.kill()
        holder.wait()
    provider.create(dict(props))  # the holder gone, the lock is free
    assert box.commits == [("", 60)]


def test_routing_keys_reach_the_box_only_and_are_masked_in_the_state(provider, box, props, monkeypatch) -> None:
    """`intended` carries the render's placeholder; the box gets the key, the state never does."""
    monkeypatch.setenv("GOVNET_OSPF_KEY", "rotated-key-42")
    assert "<vault:ospf_key>" in props["intended"]
    result = provider.create(props)
    assert "message-digest-key 1 md5 rotated-key-42" in box.running
    state = repr(result.outs)
    assert "rotated-key-42" not in state and "<redacted>" in result.outs["running"]


def test_a_routing_key_not_set_stops_the_push_before_any_connection(box, props, monkeypatch) -> None:
    monkeypatch.delenv("GOVNET_OSPF_KEY", raising=False)
    connected = []
    provider = RouterConfigProvider(connect=lambda target: connected.append(target) or FakeDriver(box))
    before = box.running
    with pytest.raises(devices.DeviceError, match=r"health-r1: interface eth2: secrets not set \(GOVNET_OSPF_KEY"):
        provider.create({**props, "env": "production"})
    assert connected == [] and box.running == before


def test_outside_the_lab_the_keys_come_from_the_vault_and_a_closed_vault_is_one_line(
    provider, box, props, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A production stack with no GOVNET_OSPF_KEY: the provider fills the stanza's key from the vault the program
    names (as `govnet deploy` does), masks it in what it keeps, and refuses with one line, before any connection,
    when the vault does not open."""
    from tests.unit.test_vault import encrypt

    key = "vaultOspf-P7r"  # a made-up test key
    path = tmp_path / "group_vars" / "env_production" / "vault.yml"
    encrypt(path, f"vault_govnet_ospf_key: {key}\n", "pw-for-test", "production")
    for name in ("GOVNET_OSPF_KEY", "GOVNET_BGP_KEY", "GOVNET_VAULT_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOVNET_VAULT_PASSWORD_PRODUCTION", "pw-for-test")
    prod = {**props, "env": "production", "vault": str(path)}
    result = provider.create(dict(prod))
    assert f"ip ospf message-digest-key 1 md5 {key}" in sections.extract(box.running, HEADER)
    assert key not in result.outs["running"] + result.outs["last_diff"]
    # without the vault, outside the lab: no default key, the push stops naming the variable
    with pytest.raises(devices.DeviceError, match="secrets not set \\(GOVNET_OSPF_KEY or the vault\\)"):
        provider.create({**prod, "vault": ""})
    monkeypatch.setenv("GOVNET_VAULT_PASSWORD_PRODUCTION", "wrong")
    commits = len(box.commits)
    with pytest.raises(devices.DeviceError) as err:
        provider.create(dict(prod))
    assert "does not open with the password in: GOVNET_VAULT_PASSWORD_PRODUCTION" in str(err.value)
    assert "\n" not in str(err.value) and len(box.commits) == commits
