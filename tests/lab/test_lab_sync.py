"""The running Karbala lab follows the inventory: a department leaves and comes back without a rebuild.

``govnet lab up`` on the running lab removes the department that is no longer in the inventory and builds it
again once it is back; every other device keeps its processes and its running config, deploy brings the change
in, verify passes both times, and ``lab status`` names the deployed configs. The module puts the bootstrap
configs back at the end for the other lab tests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from govnet.deploy.audit import AuditLog
from govnet.lab.nsexec import vtysh, watchfrr_pid
from govnet.lab.state import Lab
from govnet.policy import flush_script, render_nftables
from govnet.render import render_bootstrap
from govnet.verify import services
from tests.lab.departments import without_department
from tests.lab.deployed import nft, push_config, servers_of

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventory" / "karbala"
WORK = REPO / "build" / "lab-test-sync"
DEPARTMENT = "agri"


def govnet(lab: Lab, inventory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GOVNET_LAB_DIR": str(lab.state_dir), "GOVNET_DEPLOY_DIR": str(WORK / "deploy")}
    return subprocess.run(
        [sys.executable, "-m", "govnet", "--inventory", str(inventory), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def synced_lab(lab: Lab) -> Iterator[Lab]:
    """The session lab; afterwards every device back on the config it ran before (link addresses included: a
    bootstrap restore would take them off the kernel too), no policy, no listeners."""
    subprocess.run(["rm", "-rf", str(WORK)], check=True)
    WORK.mkdir(parents=True)
    before = {n: _config_text(vtysh(d.instance, "show running-config")) for n, d in lab.devices.items()}
    try:
        yield lab
    finally:
        ok(govnet(lab, INVENTORY, "lab", "up"))  # the whole department back, whatever failed
        net = lab.network
        services.stop(servers_of(lab))
        for name in net.devices:
            if render_nftables(net, name):
                nft(lab, name, flush_script())
        with ThreadPoolExecutor(max_workers=8) as pool:  # frr-reload waits on its subprocesses
            list(pool.map(lambda n: push_config(lab, n, before.get(n) or render_bootstrap(net, n)), net.devices))
        # zebra takes off the kernel the addresses the deploy had given it; `lab up` had set them: set them again
        for lk in lab.links:
            for node, iface, address in (lk["a"], lk["b"]):
                ip = ["ip", "-n", lab.devices[node].netns, "addr", "replace", address, "dev", iface]
                subprocess.run(ip, check=True)
        for seg in net.segments:
            ip = ["ip", "-n", lab.devices[seg.device].netns, "addr", "replace", str(seg.gateway), "dev", seg.interface]
            subprocess.run(ip, check=True)


def interrupted_sync(lab: Lab, inventory: Path) -> None:
    """``lab up`` killed once the first new namespace exists: some of the change is built, none recorded."""
    env = {**os.environ, "GOVNET_LAB_DIR": str(lab.state_dir)}
    argv = [sys.executable, "-m", "govnet", "--inventory", str(inventory), "lab", "up"]
    proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not Path(f"/run/netns/gv-{DEPARTMENT}-r1").exists() and time.monotonic() < deadline:
            assert proc.poll() is None, "the sync ended before it built anything"
            time.sleep(0.005)
        proc.kill()
    finally:
        assert proc.wait(timeout=30) == -signal.SIGKILL, "the sync finished before it could be interrupted"
    assert json.loads((lab.state_dir / "state.json").read_text()).get("syncing")


def _config_text(shown: str) -> str:
    """`show running-config` as a config file: from its `frr version` line on."""
    start = shown.find("frr version")
    return shown[start:] if start >= 0 else shown


def test_a_department_leaves_and_joins_the_running_lab(synced_lab: Lab) -> None:
    lab = synced_lab
    less = without_department(INVENTORY, DEPARTMENT, WORK / "inventory")
    kept = [n for n in lab.devices if not n.startswith(f"{DEPARTMENT}-")]
    pids = {n: watchfrr_pid(n) for n in kept}
    core2 = vtysh("core2", "show running-config")

    out = ok(govnet(lab, less, "lab", "up"))
    assert "-2 devices -2 links -3 segments -3 endpoints" in out
    assert not any(Path(f"/run/netns/{ns}").exists() for ns in ("gv-agri-r1", "gv-agri-sw1", "gvh-agri-staff"))
    # the kernel's view (zebra keeps showing an interface its config names, as a deleted one, until deploy)
    kernel = subprocess.run(["ip", "-n", "gv-core1", "-o", "link", "show"], capture_output=True, text=True).stdout
    assert " eth9@" not in kernel and " eth8@" in kernel, "core1 must lose agri's link and keep the others"
    assert {n: watchfrr_pid(n) for n in kept} == pids, "a device that stays was restarted"
    assert vtysh("core2", "show running-config") == core2, "a device that stays had its config touched"
    assert "no change" in ok(govnet(lab, less, "lab", "up"))
    ok(govnet(lab, less, "deploy"))
    report = WORK / "verify-less.json"
    proc = govnet(lab, less, "verify", "--start-services", "--json", str(report))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert not any(DEPARTMENT in c["name"] for c in json.loads(report.read_text())["checks"])

    interrupted_sync(lab, INVENTORY)  # the department comes back; that sync dies halfway
    rerun = govnet(lab, INVENTORY, "lab", "up")
    assert "+2 devices +2 links +3 segments +3 endpoints" in ok(rerun)
    assert "the last sync did not finish" in rerun.stderr  # the progress lines
    # the controller held agri-r1's old management MAC (it deployed there before the department left): the sync
    # flushes it, so the first SYN reaches the new box instead of waiting out the stale entry
    agri = lab.devices[f"{DEPARTMENT}-r1"].mgmt_ip  # the same address: the plan keeps its allocations
    with socket.create_connection((agri, 22), timeout=1):
        pass
    assert {n: watchfrr_pid(n) for n in kept} == pids
    assert "no change" in ok(govnet(lab, INVENTORY, "lab", "up"))
    proc = govnet(lab, INVENTORY, "deploy", "--verify", "--json")  # then verify --changed, in the deploy's run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "verify --changed: 4 device(s) (agri-r1, agri-sw1, core1, core2); 3 endpoint(s)" in proc.stderr
    result = json.loads(proc.stdout)
    assert result["ok"] and result["verify"]["ok"], result["verify"] and result["verify"]["failures"]
    assert {r["device"] for r in result["devices"] if r["status"] == "changed"} >= {"agri-r1", "agri-sw1"}
    last = list(AuditLog(WORK / "deploy" / "audit.jsonl").records())[-1]  # the verdict, under the deploy's run
    assert (last["run"], last["action"], last["status"]) == (result["run"], "verify", "passed"), last
    assert last["checks"] == len(result["verify"]["checks"]) and last["failed"] == []
    checks = result["verify"]["checks"]
    names = " ".join(c["name"] for c in checks)
    assert "agri-r1" in names and "agri-staff" in names
    control = {c["name"].split(":")[0] for c in checks if c["family"] == "control-plane"}
    assert control == {"agri-r1", "agri-sw1", "core1", "core2"}, control  # the scope, from the diff
    rows = [c for c in checks if c["family"] == "reachability"]
    assert any(c["name"].startswith("agri-staff → 63 endpoints") for c in rows)
    assert any(c["name"].startswith("diwan-staff → 3 endpoints") for c in rows), "others' column to agri"
    status = ok(govnet(lab, INVENTORY, "lab", "status"))
    assert "deployed configs, last commit" in status and "bootstrap configs" not in status
