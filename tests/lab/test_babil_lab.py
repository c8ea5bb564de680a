"""The second governorate, Babil, through every stage as a user runs them: `govnet --inventory inventory/babil`
lab up, deploy, verify with the failover drills, lab down.

Babil is shaped unlike Karbala (a sub-district behind its district's router, a ring between two districts and the
cores, two parallel links, a hospital dual-homed through two edge routers), so verify's expectations, the deploy's
post-checks and the drills must come from its graph. Its lab prefix (`gvb`) and pools keep it apart from the
session's Karbala lab, which is up beside it while it runs (the lab test session's `lab` fixture): no Babil lab pool
overlaps a Karbala lab pool, and `lab up` refuses a management range another lab already routes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from govnet.lab.footprint import footprint
from govnet.lab.from_model import load_spec
from govnet.lab.state import Lab, lab_username
from govnet.model.loader import load_inventory
from govnet.verify.expect import dual_homed, expected_neighbours, primary_core

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventory" / "babil"
STATE = REPO / "build" / "lab-test-babil"
WORK = REPO / "build" / "lab-test-babil-deploy"


def govnet(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, on Babil, with this module's lab and deploy directories."""
    env = {**os.environ, "GOVNET_LAB_DIR": str(STATE), "GOVNET_DEPLOY_DIR": str(WORK)}
    argv = [sys.executable, "-m", "govnet", "--inventory", str(INVENTORY), *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)


@pytest.fixture
def babil_lab(lab: Lab) -> Iterator[None]:
    """`lab up` on Babil beside the running Karbala lab; `lab down` afterwards must leave nothing of it behind."""
    leftover = govnet("lab", "down")  # an interrupted run's lab; "nothing to do" otherwise
    assert leftover.returncode == 0, leftover.stderr
    subprocess.run(["rm", "-rf", str(WORK)], check=True)
    spec = load_spec(INVENTORY)
    assert spec.prefix == "gvb"
    before = footprint(spec, STATE, lab_username())
    up = govnet("lab", "up")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "12 devices" in up.stdout and "8 hosts, 2 servers" in up.stdout, up.stdout
        yield
    finally:
        down = govnet("lab", "down")
        assert down.returncode == 0, down.stdout + down.stderr
    left = before.diff(footprint(spec, STATE, lab_username()))
    assert left == {}, f"lab down left objects behind: {left}"


def test_no_babil_lab_pool_overlaps_a_karbala_lab_pool() -> None:
    """Offline: what lets the two labs run at once; Karbala's lab routes its management and Internet pools."""
    babil = load_inventory(INVENTORY)[0].environments["lab"].pools.flat()
    karbala = load_inventory(REPO / "inventory" / "karbala")[0].environments["lab"].pools.flat()
    clashes = [(b, k) for b in babil.values() for k in karbala.values() if b.overlaps(k)]
    assert clashes == []
    assert str(babil["mgmt"]) == "198.18.24.0/24"


def test_the_expectations_follow_babils_graph() -> None:
    """Offline: what the drills below rely on, from the graph (kifl has one way out, through hilla-r1)."""
    net = load_spec(INVENTORY).network
    assert dual_homed(net) == ["hilla", "mahawil", "hosp"]
    assert primary_core(net, "kifl") == ("kifl-r1", "eth1", ["bbl-c1"])
    assert primary_core(net, "hosp") == ("hosp-r1", "eth1", ["bbl-c1", "bbl-c2"])
    assert primary_core(net, "mahawil") == ("mhw-r1", "eth2", ["bbl-c2", "bbl-c1"])


def test_deploy_verify_and_failover(babil_lab: None, tmp_path: Path) -> None:
    deploy = govnet("deploy", "--json")
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    first = json.loads(deploy.stdout)
    assert first["ok"] and first["changed"] == 12, [(d["device"], d["status"]) for d in first["devices"]]
    again = govnet("deploy", "--json")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert json.loads(again.stdout)["changed"] == 0, "a second deploy changed something"
    report = tmp_path / "verify.json"
    verify = govnet("verify", "--start-services", "--failover", "--json", str(report))
    doc = json.loads(report.read_text())
    fails = [f"{c['family']}: {c['name']}: {c['detail']}" for c in doc["failures"]]
    assert verify.returncode == 0 and doc["ok"], "\n".join(fails) or verify.stderr[-3000:]
    assert doc["network"] == "Babil"
    # Every department host, the sub-district's included, reaches what the policy allows (and nothing else).
    assert doc["families"]["reachability"] == {"passed": 8, "total": 8}
    assert doc["families"]["segmentation"]["passed"] == doc["families"]["segmentation"]["total"] > 0
    # Both parallel links between kifl-r1 and hilla-r1 are expected as Full OSPF adjacencies, and are.
    net = load_spec(INVENTORY).network
    to_hilla = expected_neighbours(net, net.devices["kifl-r1"])[str(net.devices["hilla-r1"].router_id)]
    assert [ifname for ifname, _ in to_hilla] == ["eth1", "eth2"]
    ospf = {c["name"]: c["ok"] for c in doc["checks"] if c["family"] == "control-plane"}
    assert ospf["kifl-r1: OSPF adjacencies Full"] and ospf["hilla-r1: OSPF adjacencies Full"]
    # One drill per dual-homed department: the hospital's goes over its second edge router, hosp-r2.
    assert set(doc["failover"]) == {"hilla", "mahawil", "hosp"}
    drills = {c["name"].split(":")[0]: c for c in doc["checks"] if c["family"] == "failover"}
    assert all(c["ok"] for c in drills.values()), drills
    assert "bbl-c2" in drills["hosp"]["detail"], drills["hosp"]
