"""Live in the lab, the path of `make lab`: the network deployed, every DC server a podman container in its lab
namespace provisioned by playbooks/servers.yml (scripts/lab-servers), a second run changing nothing, and
`govnet verify` proving the services from the hosts that use them (DNS, HTTPS portal, the service-request round
trip to the primary and the replica, NTP, syslog, Prometheus, a backup that restores). Then a service is stopped
and verify must fail naming it, and `govnet lab down` must leave no server container behind.

Builds its own Karbala lab (state in build/lab-ansible) and removes it, containers included, at the end. Another
session's Karbala lab is waited for (same namespace names), never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT, run, tail

pytestmark = [pytest.mark.lab, pytest.mark.slow]
STATE_DIR = ROOT / "build" / "lab-ansible"


def wait_for_free_prefix(prefix: str, seconds: float = 1800) -> None:
    """Another Karbala lab uses the same namespace names: wait for it to go (a benchmark's or another session's),
    and name it if it stays (an engineer's lab is never torn down by a test)."""
    from govnet.lab.state import REGISTRY, StateFile

    deadline = time.monotonic() + seconds
    entry = REGISTRY / f"{prefix}.lab"
    while entry.exists():
        other = Path(entry.read_text().strip()).parent
        state = StateFile.load(other)
        if state is None:
            return
        if time.monotonic() > deadline:
            held = "held by another session" if state.owner_alive() else "up without a live owner"
            pytest.fail(f"the lab in {other} is still {held}; if unused: GOVNET_LAB_DIR={other} govnet lab down", False)
        time.sleep(5)


def govnet(*args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govnet", *args],
        cwd=ROOT,
        env={**os.environ, "GOVNET_LAB_DIR": str(STATE_DIR), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def lab_servers() -> Iterator[object]:
    """A Karbala lab brought up and deployed as `make lab` does; torn down at the end by `govnet lab down`, which
    must remove the server containers."""
    if os.geteuid() != 0:
        pytest.skip("not root")
    from govnet.lab import engine
    from govnet.lab.containers import server_containers
    from govnet.lab.from_model import load_spec
    from govnet.lab.state import StateFile

    spec = load_spec(ROOT / "inventory" / "karbala", "lab")
    leftover = StateFile.load(STATE_DIR)
    if leftover is not None and not leftover.owner_alive():
        engine.down(STATE_DIR)
    wait_for_free_prefix(spec.prefix)
    lab = engine.up(spec, STATE_DIR)  # bootstrap configs; the deploy brings the full configs and the zone policy
    try:
        deployed = govnet("deploy")
        assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-2000:]
        yield lab
    finally:
        engine.down(STATE_DIR)
        left = {ns: name for ns, name in server_containers().items() if ns.startswith(f"{spec.prefix}s-")}
        assert left == {}, f"lab down left server containers behind: {left}"


def test_make_lab_path_provisions_the_servers_and_verify_proves_the_services(lab_servers: object) -> None:
    env = {"GOVNET_LAB_DIR": str(STATE_DIR)}
    first = run([str(ROOT / "scripts" / "lab-servers")], timeout=1800, **env)
    assert first.returncode == 0, tail(first, 60)
    again = run([str(ROOT / "scripts" / "lab-servers"), "--again"], timeout=900, **env)
    assert again.returncode == 0, tail(again, 60)
    assert "changed=0 on every host" in again.stdout
    print("\n" + first.stdout + again.stdout)

    report = STATE_DIR / "verify.json"
    verify = govnet("verify", "--failover", "--json", str(report), "--report", str(STATE_DIR / "report.html"))
    assert verify.returncode == 0, verify.stdout[-4000:] + verify.stderr[-2000:]
    outcome = json.loads(report.read_text())
    # the citizen on the emulated Internet: public DNS view, HTTPS by name, a request that lands in the database
    citizen = [c["name"] for c in outcome["checks"] if c["family"] == "citizen"]
    for what in ("answers portal.", "tells nothing of the inside", "fetches https://portal.", "redirected to HTTPS",
                 "lands in the primary database"):  # fmt: skip
        assert any(what in n for n in citizen), f"no citizen check '{what}' in {citizen}"
    drills = outcome["isp_failover"]
    assert len(drills) == 2 and all(d["kind"] == "service requests" and d["lost"] == 0 for d in drills.values())
    assert all(d["acknowledged"] > 0 for d in drills.values()), drills
    names = [c["name"] for c in outcome["checks"] if c["family"] == "services"]
    for what in (
        "dns1 answers portal.",
        "dns2 answers the reverse zone",
        "portal1 serves https://portal.",
        "→ app → primary",
        "readable on the replica",
        "synchronised to ntp1",
        "syslog line arrives at log1",
        "Prometheus reports every server's target up",
        "backup1: a fresh dump of the primary restores",
    ):
        assert any(what in n for n in names), f"no services check '{what}' in {names}"
    # the network devices' configs, sealed on the controller, restore on backup1 with the controller's checksums
    from govnet.model import load_network

    devices = len(load_network(ROOT / "inventory" / "karbala", env="lab").devices)
    configs = [c for c in outcome["checks"] if c["name"].startswith("backup1: the latest configuration backup")]
    assert len(configs) == 1 and configs[0]["ok"], configs
    assert configs[0]["data"]["missing"] == [] and configs[0]["data"]["differ"] == [], configs
    assert configs[0]["data"]["devices"] == devices, configs
    assert f": {devices} devices, every checksum the controller's" in configs[0]["detail"]
    html = (STATE_DIR / "report.html").read_text()
    assert "a fresh dump of the primary restores" in html
    assert "the latest configuration backup restores" in html


def test_a_server_that_fails_to_provision_is_named_and_the_others_carry_on(lab_servers: object) -> None:
    """portal1 is the only portal: when it fails, jump1 (whose bastion role comes after the portal's in
    servers.yml) must still be provisioned in the same run (each server goes its own way through the play), and
    lab-servers must name portal1 and exit 1."""
    from govnet.lab.containers import container_exec

    logs = STATE_DIR.parent / "lab-servers"
    (logs / "servers-again-pass2.log").unlink(missing_ok=True)
    broken = container_exec("gvlab-portal1", "sh", "-c", "echo 'not nginx;' >/etc/nginx/conf.d/zz-broken.conf")
    assert broken.returncode == 0, broken.stderr
    try:
        env = {"GOVNET_LAB_DIR": str(STATE_DIR), "LAB_SERVERS_LIMIT": "portal1,jump1"}
        proc = run([str(ROOT / "scripts" / "lab-servers"), "--again"], timeout=900, **env)
    finally:
        container_exec("gvlab-portal1", "rm", "-f", "/etc/nginx/conf.d/zz-broken.conf")
    assert proc.returncode == 1, tail(proc)
    assert "failed to provision: portal1 (the others carried on" in proc.stderr, tail(proc)
    assert "fatal: [portal1]" in proc.stderr and "nginx" in proc.stderr, tail(proc)
    first = (logs / "servers-again.log").read_text()
    assert "TASK [jumphost : Enable and start sshd]" in first, first[-3000:]
    assert not (logs / "servers-again-pass2.log").exists()  # every play was reached: no second pass
    recap = first[first.index("PLAY RECAP") :]
    assert any(line.startswith("portal1 ") and " failed=1 " in line for line in recap.splitlines()), recap
    assert any(line.startswith("jump1 ") and " failed=0 " in line for line in recap.splitlines()), recap


def test_a_stopped_service_fails_verify_and_is_named(lab_servers: object) -> None:
    from govnet.lab.containers import container_exec

    stopped = container_exec("gvlab-dns2", "systemctl", "stop", "named")
    assert stopped.returncode == 0, stopped.stderr
    try:
        verify = govnet("verify", "--json", str(STATE_DIR / "verify-fault.json"))
        assert verify.returncode == 1
        failures = json.loads((STATE_DIR / "verify-fault.json").read_text())["failures"]
        names = {f["name"] for f in failures}
        assert any(n.startswith("dns2 answers") for n in names), names
        assert not any(n.startswith("dns1 answers") for n in names), names
    finally:
        container_exec("gvlab-dns2", "systemctl", "start", "named")
