"""`govnet deploy` against the running lab: the full push, idempotence, and the fault drills.

Runs in order on the session lab (bootstrap configs at first): refusals before the first deploy
(bad line, wrong password, host-key mismatch: nothing pushed), the full deploy converging, a second
deploy changing nothing, then drills that change one device and put it back: a broken adjacency
rolled back automatically, an unconfirmed commit reverted by the device itself, an sshd stopped
mid-deploy, a wave halted beyond its tolerance, drift and rollback, and the audit trail.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from govnet.deploy import engine, pushed
from govnet.deploy.audit import AuditLog
from govnet.deploy.inventory import Credentials
from govnet.lab.nsexec import in_netns, vtysh, watchfrr_pid
from govnet.lab.state import Lab, StateFile
from govnet.policy import render_nftables
from govnet.render import render_device, secrets_from_env

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
WORK = REPO / "build" / "lab-test-deploy"
GOVNET = [sys.executable, "-m", "govnet"]


@pytest.fixture(scope="module")
def work() -> Path:
    """A fresh deploy work directory (backups, audit) for this module."""
    subprocess.run(["rm", "-rf", str(WORK)], check=True)
    WORK.mkdir(parents=True)
    return WORK


def cli(lab: Lab, work: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "GOVNET_LAB_DIR": str(lab.state_dir), "GOVNET_DEPLOY_DIR": str(work), **env}
    return subprocess.run([*GOVNET, *args], capture_output=True, text=True, env=environ, cwd=REPO, timeout=600)


def options(lab: Lab, work: Path, **kw: Any) -> engine.DeployOptions:
    net = lab.network
    return engine.DeployOptions(
        creds=Credentials(lab.username, lab.password),
        known_hosts=lab.known_hosts,
        workdir=work,
        render=lambda name: render_device(net, name, secrets_from_env(network=net)),
        **kw,
    )


def running(name: str) -> str:
    return vtysh(name, "show running-config")


def hand_change(name: str, text: str = "changed by hand", seen: bool = True) -> None:
    """An out-of-band edit on the box (drift the next deploy must undo). *seen*: the module's pushed record
    forgets the device, as ``govnet drift`` reading it would (test_an_unseen_edit_waits_for_a_drift_read shows
    what happens when nothing reads it)."""
    vtysh(name, "configure terminal", "interface mgmt0", f"description {text}", "end")
    if seen:
        pushed.forget(WORK, [name])


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > seconds:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.5)
    return time.monotonic() - start


def ospf_full(name: str, neighbour_rid: str) -> bool:
    data = json.loads(vtysh(name, "show ip ospf neighbor json"))
    entries = data.get("neighbors", {}).get(neighbour_rid, [])
    return any(str(e.get("state", e.get("nbrState", ""))).startswith("Full") for e in entries)


def last_records(work: Path, run: str | None = None) -> list[dict[str, Any]]:
    records = list(AuditLog(work / "audit.jsonl").records())
    run = run or records[-1]["run"]
    return [r for r in records if r["run"] == run]


# --------------------------------------------------------------------------- before the first deploy


def test_bad_line_refused_before_anything_applied(lab: Lab, work: Path) -> None:
    before = running("diwan-r1")
    bad = render_device(lab.network, "diwan-r1", secrets_from_env(network=lab.network)).replace(
        " ip ospf hello-interval 1", " ip ospf hello-intervall 1", 1
    )
    report = engine.deploy(lab.network, options(lab, work, limit=["diwan-r1"], configs={"diwan-r1": bad}))
    (result,) = report.results
    assert (result.status, result.stage) == ("failed", "check")
    assert "hello-intervall" in result.error
    assert running("diwan-r1") == before
    assert last_records(work, report.run)[0]["status"] == "failed"


def test_wrong_password_refused(lab: Lab, work: Path) -> None:
    before = running("diwan-r1")
    proc = cli(lab, work, "deploy", "--limit", "diwan-r1", "--json", GOVNET_PASSWORD="not-the-password")
    assert proc.returncode == 1, proc.stderr
    (result,) = json.loads(proc.stdout)["devices"]
    assert result["stage"] == "connect" and "authentication failed" in result["error"]
    assert running("diwan-r1") == before
    assert "not-the-password" not in (work / "audit.jsonl").read_text()


def test_host_key_mismatch_refused(lab: Lab, work: Path) -> None:
    before = running("diwan-r1")
    ip = lab.devices["diwan-r1"].mgmt_ip
    lines = lab.known_hosts.read_text().splitlines()

    def names(line: str) -> list[str]:
        return line.split(" ", 1)[0].split(",")

    other_key = next(line for line in lines if lab.devices["core1"].mgmt_ip in names(line)).split(" ", 1)[1]
    tampered = [f"{line.split(' ', 1)[0]} {other_key}" if ip in names(line) else line for line in lines]
    path = work / "tampered_known_hosts"
    path.write_text("\n".join(tampered) + "\n")
    proc = cli(lab, work, "deploy", "--limit", "diwan-r1", "--json", GOVNET_KNOWN_HOSTS=str(path))
    assert proc.returncode == 1, proc.stderr
    (result,) = json.loads(proc.stdout)["devices"]
    assert "host key mismatch" in result["error"]
    assert running("diwan-r1") == before


def test_dry_run_summarises_diffs_and_changes_nothing(lab: Lab, work: Path) -> None:
    before = running("core1")
    proc = cli(lab, work, "deploy", "--limit", "core1,diwan-r1", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert len(re.findall(r"\+\d+ -\d+ in \d+ sections", proc.stdout)) == 2, proc.stdout
    assert "router bgp 65010" not in proc.stdout  # the lines themselves only with --diff
    shown = cli(lab, work, "deploy", "--limit", "core1,diwan-r1", "--dry-run", "--diff")
    assert shown.returncode == 0, shown.stderr
    assert "Lines To Add" not in shown.stdout and shown.stdout.count("\nrouter bgp 65010\n") == 2
    assert re.search(r"^  \+ bgp router-id ", shown.stdout, re.M)
    assert running("core1") == before


def policy_table(lab: Lab, name: str) -> str | None:
    """The device's running nftables policy table, None when it has none."""
    argv = in_netns(lab.devices[name].netns, ["nft", "-s", "list", "table", "inet", "govnet"])
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.stdout if proc.returncode == 0 else None


def policy_holders(lab: Lab) -> list[str]:
    return [n for n in lab.network.devices if render_nftables(lab.network, n)]


def test_dry_run_shows_the_policy_diff(lab: Lab, work: Path) -> None:
    name = policy_holders(lab)[0]
    proc = cli(lab, work, "deploy", "--limit", name, "--dry-run", "--diff")
    assert proc.returncode == 0, proc.stderr
    assert "\nnftables\n" in proc.stdout and "+ table inet govnet" in proc.stdout
    assert policy_table(lab, name) is None


# --------------------------------------------------------------------------- full deploy


def test_full_deploy_converges(lab: Lab, work: Path) -> None:
    proc = cli(lab, work, "deploy", "--json")
    report = json.loads(proc.stdout)
    failed = [(d["device"], d["error"]) for d in report["devices"] if d["status"] != "changed"]
    assert proc.returncode == 0 and not failed, failed or proc.stderr
    assert len(report["devices"]) == len(lab.network.devices)
    kinds = {c["kind"] for d in report["devices"] for c in d["checks"]}
    assert kinds == {"interface", "ospf", "bgp", "route"}
    for d in report["devices"]:  # each device's running config was kept before the change, where the report says
        backup = work / "backups" / d["device"] / f"{d['backup']}.cfg"
        assert d["backup"] and backup.is_file() and backup.stat().st_size > 0, d["device"]


def test_deploy_pushed_the_policy_and_segmentation_holds(lab: Lab, work: Path) -> None:
    holders = policy_holders(lab)
    assert holders and all(policy_table(lab, n) for n in holders)
    assert not any(policy_table(lab, n) for n in lab.network.devices if n not in holders)
    proc = cli(lab, work, "verify", "--json", str(work / "verify.json"))
    checks = json.loads((work / "verify.json").read_text())["checks"]
    segmentation = [c for c in checks if c["family"] == "segmentation"]
    denied = [c for c in segmentation if c["data"].get("expected") == "denied"]
    assert denied and all(c["data"]["result"] == "silent" for c in denied), proc.stdout[-2000:]
    assert all(c["ok"] for c in segmentation), [c["name"] for c in segmentation if not c["ok"]]


def test_second_deploy_changes_nothing(lab: Lab, work: Path) -> None:
    before = {name: running(name) for name in lab.network.devices}
    tables = {name: policy_table(lab, name) for name in lab.network.devices}
    proc = cli(lab, work, "deploy")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "nothing to change" in proc.stderr
    assert {name: running(name) for name in lab.network.devices} == before
    assert {name: policy_table(lab, name) for name in lab.network.devices} == tables
    assert {r["status"] for r in last_records(work)} == {"unchanged"}


def test_a_changed_device_is_pushed_an_unchanged_one_is_not_connected_to(lab: Lab, work: Path) -> None:
    """After the deploys above every device is recorded as running its render: a device whose render changes is
    pushed (and back), the others are not connected to; --all reads them all and finds nothing to change."""
    net, name = lab.network, "hurr-r1"
    intended = render_device(net, name, secrets_from_env(network=net))
    moved = intended.replace(
        "interface mgmt0\n description out-of-band management\n", "interface mgmt0\n description rendered change\n"
    )
    assert moved != intended
    policy = {"policy": lambda n: render_nftables(net, n)}  # as the command line digests it
    two = ["diwan-r1", name]
    report = engine.deploy(net, options(lab, work, limit=two, configs={name: moved}, **policy))
    got = {r.device: (r.status, r.stage) for r in report.results}
    assert got == {"diwan-r1": ("unchanged", "recorded"), name: ("changed", "done")}, [r.error for r in report.results]
    assert "rendered change" in running(name)
    report = engine.deploy(net, options(lab, work, limit=two, **policy))
    assert {r.device: r.status for r in report.results} == {"diwan-r1": "unchanged", name: "changed"}
    assert "rendered change" not in running(name)
    proc = cli(lab, work, "deploy", "--limit", ",".join(two), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {d["stage"] for d in json.loads(proc.stdout)["devices"]} == {"recorded"}
    proc = cli(lab, work, "deploy", "--all", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    devices = json.loads(proc.stdout)["devices"]
    assert {d["status"] for d in devices} == {"unchanged"} and "recorded" not in {d["stage"] for d in devices}


def test_an_unseen_edit_waits_for_a_drift_read(lab: Lab, work: Path) -> None:
    """An edit govnet does not see is not undone by a deploy that trusts the record; a drift read finds it and
    forgets the device, and the next deploy pushes it again."""
    hand_change("krbctr-r1", "unseen edit", seen=False)
    proc = cli(lab, work, "deploy", "--limit", "krbctr-r1,diwan-r1", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {d["stage"] for d in json.loads(proc.stdout)["devices"]} == {"recorded"}
    assert "unseen edit" in running("krbctr-r1")
    assert cli(lab, work, "drift", "--limit", "krbctr-r1,diwan-r1").returncode == 1
    assert "krbctr-r1" not in pushed.load(work) and "diwan-r1" in pushed.load(work)
    proc = cli(lab, work, "deploy", "--limit", "krbctr-r1,diwan-r1", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = {d["device"]: (d["status"], d["stage"]) for d in json.loads(proc.stdout)["devices"]}
    assert got == {"krbctr-r1": ("changed", "done"), "diwan-r1": ("unchanged", "recorded")}
    assert "unseen edit" not in running("krbctr-r1")


def test_policy_drift_deploy_and_rollback(lab: Lab, work: Path) -> None:
    """A policy removed by hand is drift; deploy puts it back; the agent's rollback (checkpoint) removes it again."""
    from napalm import get_network_driver

    name = policy_holders(lab)[0]
    intended = policy_table(lab, name)
    subprocess.run(in_netns(lab.devices[name].netns, ["nft", "delete", "table", "inet", "govnet"]), check=True)
    proc = cli(lab, work, "drift", "--limit", name)
    assert proc.returncode == 1 and "nftables (intended)" in proc.stdout, proc.stdout + proc.stderr
    assert cli(lab, work, "deploy", "--limit", name).returncode == 0
    assert policy_table(lab, name) == intended
    driver = get_network_driver("frr")(
        lab.devices[name].mgmt_ip, lab.username, lab.password, optional_args={"known_hosts_file": str(lab.known_hosts)}
    )
    driver.open()
    try:
        driver.rollback()
    finally:
        driver.close()
    assert policy_table(lab, name) is None
    pushed.forget(work, [name])  # a rollback govnet did not make: the record no longer vouches for the device
    assert cli(lab, work, "deploy", "--limit", name).returncode == 0
    assert policy_table(lab, name) == intended


# --------------------------------------------------------------------------- drills on a converged lab


def test_broken_adjacency_is_rolled_back(lab: Lab, work: Path) -> None:
    core1_rid = str(lab.network.devices["core1"].router_id)
    assert ospf_full("diwan-r1", core1_rid)
    intended = render_device(lab.network, "diwan-r1", secrets_from_env(network=lab.network))
    broken = intended.replace(" ip ospf area 0.0.0.0\n", " ip ospf area 0.0.0.9\n", 1)
    assert broken != intended
    report = engine.deploy(
        lab.network, options(lab, work, limit=["diwan-r1"], configs={"diwan-r1": broken}, converge_timeout=8)
    )
    (result,) = report.results
    assert result.status == "rolled-back", result.error
    assert "ospf core1" in result.error
    wait_for(lambda: ospf_full("diwan-r1", core1_rid), 20, "the adjacency to core1 to come back")
    assert " ip ospf area 0.0.0.9" not in running("diwan-r1")
    record = last_records(work, report.run)[0]
    assert record["status"] == "rolled-back" and any(not c["ok"] for c in record["checks"])


KILLED_AFTER_COMMIT = """
import sys, time
from pathlib import Path
from govnet.deploy import checks, engine
from govnet.deploy.inventory import Credentials
from govnet.model import load_network
from govnet.policy import render_nftables
from govnet.render import render_device, secrets_from_env
checks.wait_checks = lambda *a, **k: time.sleep(3600)   # the controller hangs after the commit
net = load_network(Path("inventory/karbala"))
engine.deploy(net, engine.DeployOptions(
    creds=Credentials(sys.argv[1], sys.argv[2]), known_hosts=Path(sys.argv[3]), workdir=Path(sys.argv[4]),
    limit=[sys.argv[5]], confirm_timeout=6, render=lambda n: render_device(net, n, secrets_from_env(network=net))))
"""


@pytest.mark.parametrize(("name", "stock"), [("diwan-r1", False), ("hindiya-r1", True)], ids=["lab-box", "stock-box"])
def test_unconfirmed_commit_reverts_on_the_device(lab: Lab, work: Path, name: str, stock: bool) -> None:
    """A deploy killed after its commit: the box reverts alone, on a lab box (resident helper) and on a stock one
    (the driver's shipped helper, the default FRR instance; its state is the same directory seen from its login)."""
    assert lab.devices[name].stock is stock
    hand_change(name, "before the unconfirmed commit")
    pending = Path(f"/etc/frr/{name}/napalm-frr/pending.json")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_AFTER_COMMIT, lab.username, lab.password, str(lab.known_hosts), str(work), name],
        cwd=REPO,
    )
    try:
        wait_for(lambda: pending.exists() and "before the" not in running(name), 60, "the commit")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    elapsed = wait_for(
        lambda: not pending.exists() and "before the unconfirmed commit" in running(name),
        30,
        "the device to revert and close the pending commit",
    )
    assert elapsed < 20
    proc2 = cli(lab, work, "deploy", "--limit", name)
    assert proc2.returncode == 0, proc2.stdout + proc2.stderr


def _restart_sshd(lab: Lab, name: str) -> None:
    cfg = Path(lab.runtime or lab.state_dir) / "devices" / name / "sshd_config"
    pid = watchfrr_pid(name)
    subprocess.run(["nsenter", "-t", str(pid), "-u", "-n", "--", "/usr/sbin/sshd", "-f", str(cfg)], check=True)


def test_sshd_stopped_mid_deploy(lab: Lab, work: Path) -> None:
    for name in ("diwan-r1", "krbctr-r1", "hurr-r1"):
        hand_change(name)
    state = StateFile.load(lab.state_dir)
    assert state is not None
    pidfile = Path(next(r["pidfile"] for r in state.records("sshd") if r["node"] == "hurr-r1"))
    proc = subprocess.Popen(
        [*GOVNET, "deploy", "--limit", "diwan-r1,krbctr-r1,hurr-r1", "--tolerance", "1", "--json"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GOVNET_LAB_DIR": str(lab.state_dir), "GOVNET_DEPLOY_DIR": str(work)},
    )
    try:
        os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        out, err = proc.communicate(timeout=300)
    finally:
        _restart_sshd(lab, "hurr-r1")
    assert proc.returncode == 1, err
    status = {d["device"]: (d["status"], d["stage"]) for d in json.loads(out)["devices"]}
    assert status["diwan-r1"][0] == status["krbctr-r1"][0] == "changed"
    assert status["hurr-r1"] == ("failed", "connect")
    audit = {r["device"]: r for r in last_records(work)}
    assert audit["hurr-r1"]["status"] == "failed" and "no SSH service" in audit["hurr-r1"]["error"]
    assert "changed by hand" in running("hurr-r1")
    wait_for(lambda: cli(lab, work, "deploy", "--limit", "hurr-r1").returncode == 0, 30, "hurr-r1 to deploy again")


def test_wave_failing_its_checks_commits_nothing(lab: Lab, work: Path) -> None:
    """Every device is checked before any commit: a wave already beyond its tolerance changes nothing."""
    hand_change("munic-r1", "wave test")
    bad = (
        render_device(lab.network, "edu-r1", secrets_from_env(network=lab.network))
        + "interface eth1\n ip ospf bogus-command\n"
    )
    report = engine.deploy(
        lab.network,
        options(lab, work, limit=["edu-r1", "munic-r1"], configs={"edu-r1": bad}, tolerance=0),
    )
    status = {r.device: (r.status, r.stage) for r in report.results}
    assert status == {"edu-r1": ("failed", "check"), "munic-r1": ("skipped", "wave")}
    assert report.halted and not report.ok
    assert "wave test" in running("munic-r1")
    assert "no description" in next(r.diff for r in report.results if r.device == "munic-r1"), "the diff is kept"


def test_wave_beyond_tolerance_rolls_back_the_wave(lab: Lab, work: Path) -> None:
    """A device failing its post-checks beyond the tolerance takes its wave back to the pre-change configs."""
    hand_change("munic-r1", "wave test")
    intended = render_device(lab.network, "edu-r1", secrets_from_env(network=lab.network))
    broken = intended.replace(" ip ospf area 0.0.0.0\n", " ip ospf area 0.0.0.9\n", 1)
    report = engine.deploy(
        lab.network,
        options(lab, work, limit=["edu-r1", "munic-r1"], configs={"edu-r1": broken}, tolerance=0, converge_timeout=8),
    )
    status = {r.device: r.status for r in report.results}
    assert status == {"edu-r1": "rolled-back", "munic-r1": "rolled-back"}, [r.error for r in report.results]
    assert report.halted and not report.ok
    assert "wave test" in running("munic-r1")
    assert " ip ospf area 0.0.0.9" not in running("edu-r1")
    assert engine.deploy(lab.network, options(lab, work, limit=["edu-r1", "munic-r1"])).ok


def test_drift_and_rollback(lab: Lab, work: Path) -> None:
    hand_change("aintmr-r1", "drifted")
    proc = cli(lab, work, "drift")
    assert proc.returncode == 1, proc.stderr
    assert "aintmr-r1" in proc.stdout and "drifted" in proc.stdout
    assert "1 of" in proc.stderr
    assert cli(lab, work, "deploy", "--limit", "aintmr-r1").returncode == 0
    assert cli(lab, work, "drift", "--limit", "aintmr-r1").returncode == 0
    # the deploy kept the drifted config as its backup: rolling back brings it back
    proc = cli(lab, work, "rollback", "aintmr-r1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "drifted" in running("aintmr-r1")
    assert cli(lab, work, "rollback", "aintmr-r1", "--to", "19700101T000000Z").returncode == 2
    assert cli(lab, work, "deploy", "--limit", "aintmr-r1").returncode == 0


def test_canary_phase_deploy(lab: Lab, work: Path) -> None:
    for name in ("health-r1", "police-r1"):
        hand_change(name, "canary")
    proc = cli(lab, work, "deploy", "--phase", "2", "--canary", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    devices = json.loads(proc.stdout)["devices"]
    assert devices[0]["device"] == "health-r1"
    assert {d["device"] for d in devices if d["status"] == "changed"} == {"health-r1", "police-r1"}


def test_audit_verifies_and_holds_no_credentials(lab: Lab, work: Path) -> None:
    proc = cli(lab, work, "audit", "verify")
    assert proc.returncode == 0, proc.stderr
    text = (work / "audit.jsonl").read_text()
    assert lab.password not in text and "not-the-password" not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert {"user", "time", "revision", "diff", "status", "checks"} <= set(records[-1])
    lines = text.splitlines(keepends=True)
    (work / "audit.jsonl").write_text("".join(lines[:3] + lines[4:]))
    proc = cli(lab, work, "audit", "verify")
    assert proc.returncode == 1 and "missing" in proc.stderr
    (work / "audit.jsonl").write_text(text)
