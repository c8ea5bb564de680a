"""RouterConfig's dynamic provider against the running lab, through the real NAPALM FRR driver over SSH.

create pushes both ends of a link (their interface stanzas) and the routers converge (OSPF Full on the link);
diff is empty; a drift made by hand with vtysh is detected by diff; update repairs it; read backs up and
reports the running stanza. Each router's starting config is restored afterwards for the other lab tests.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from govnet.deploy.audit import redact
from govnet.lab.nsexec import vtysh
from govnet.lab.state import Lab
from govnet.render import render_bootstrap, render_device, secrets_from_env

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "pulumi"))

from govnet_pulumi import devices, sections
from govnet_pulumi.program import router_config_args
from govnet_pulumi.router_config import RouterConfigProvider
from govnet_pulumi.settings import Secret, Settings

pytestmark = pytest.mark.lab

LINK = "core1:eth5--hurr-r1:eth1"  # the microwave link to al-Hurr: OSPF cost 100


def target(lab: Lab, name: str) -> devices.Target:
    return devices.Target(name, lab.devices[name].mgmt_ip, "frr", lab.username, lab.password, str(lab.known_hosts))


@pytest.fixture
def ends(lab: Lab, tmp_path: Path) -> Iterator[list[dict[str, Any]]]:
    """Provider inputs for both ends, as the Pulumi program builds them, pointed at the lab's routers."""
    network = lab.network
    link = next(lk for lk in network.links if lk.name == LINK)
    config = Settings(
        inventory=Path("."),
        env="lab",
        router_username=lab.username,
        router_password=Secret(lab.password),
        known_hosts=str(lab.known_hosts),
        revert_in=60,
        backup_dir=str(tmp_path / "backups"),
    )
    props = []
    for end in (link.a, link.b):
        args = router_config_args(
            network,
            config,
            end.device,
            end.interface,
            render_device(network, end.device),  # as the program renders: the keys as placeholders
        )
        props.append({**args.props(), "host": lab.devices[end.device].mgmt_ip, "password": lab.password})
    saved = {p["device"]: running(lab, p["device"]) for p in props}
    # OSPF itself belongs to `govnet deploy`: put the rendered `router ospf` stanza in place first. The link's
    # interface blocks start from the day-0 form, whatever earlier tests of the session pushed, so `create` has
    # real work to do.
    for p in props:
        box = target(lab, p["device"])
        with devices.session(box) as driver:
            rendered = render_device(network, p["device"], secrets_from_env(network=network))
            ospf = sections.extract(rendered, "router ospf")
            devices.push_stanza(driver, "router ospf", ospf, 60, no_check, target=box)
            day0 = sections.extract(render_bootstrap(network, p["device"]), p["header"])
            devices.push_stanza(driver, p["header"], day0, 60, no_check, target=box)
    try:
        yield props
    finally:
        for name, text in saved.items():
            with devices.session(target(lab, name)) as driver:
                driver.load_replace_candidate(config=text)
                driver.commit_config()


def no_check(driver: Any, header: str, intended: str) -> list[str]:
    return []


def running(lab: Lab, device: str) -> str:
    """The running config read with vtysh in the router's namespace (not through the driver under test)."""
    return sections.clean_running(vtysh(lab.devices[device].instance, "show running-config"))


def same_lines(running_stanza: str, intended: str) -> bool:
    """FRR prints a stanza's lines in its own order (cost before network type), not the template's. Keys are
    compared masked: the intended stanza holds the render's placeholder, the box the key the provider filled in."""
    return sorted(sections.body(redact(running_stanza))) == sorted(sections.body(redact(intended)))


def ospf_neighbor_full(lab: Lab, device: str, iface: str) -> bool:
    data = json.loads(vtysh(lab.devices[device].instance, "show ip ospf neighbor json"))
    return any(
        n.get("ifaceName", "").startswith(iface) and str(n.get("converged", n.get("state", ""))).startswith("Full")
        for nbrs in data.get("neighbors", {}).values()
        for n in nbrs
    )


def ospf_cost(lab: Lab, device: str, iface: str) -> int:
    data = json.loads(vtysh(lab.devices[device].instance, f"show ip ospf interface {iface} json"))
    return int(data["interfaces"][iface]["cost"])


def test_create_diff_drift_update_read(lab: Lab, ends: list[dict[str, Any]], tmp_path: Path) -> None:
    provider = RouterConfigProvider()
    hurr = next(p for p in ends if p["device"] == "hurr-r1")
    instance = lab.devices["hurr-r1"].instance

    # create: both ends pushed, committed with a revert timer, confirmed after the post-check
    for p in ends:
        created = provider.create(dict(p))
        assert created.id == f"{p['device']}:{p['header']}"
        assert created.outs["last_diff"], f"{p['device']}: nothing was pushed"
        assert same_lines(created.outs["running"], p["intended"])
        assert "<vault:" in p["intended"] and "govnet-lab-ospf" not in repr(created.outs), "a key in the state"
        assert same_lines(sections.extract(running(lab, p["device"]), p["header"]), p["intended"])
    deadline = time.monotonic() + 40
    while not all(ospf_neighbor_full(lab, p["device"], p["header"].split()[1]) for p in ends):
        assert time.monotonic() < deadline, "OSPF adjacency on the link did not reach Full"
        time.sleep(1)
    assert ospf_cost(lab, "hurr-r1", "eth1") == 100
    for p in ends:
        assert provider.diff("id", dict(p), dict(p)).changes is False

    # drift by hand, the way an engineer would do it on the box
    vtysh(instance, "configure terminal", "interface eth1", "ip ospf cost 999", "shutdown")
    drifted = sections.extract(running(lab, "hurr-r1"), hurr["header"])
    assert " ip ospf cost 999" in drifted and " shutdown" in drifted
    assert provider.diff("id", dict(hurr), dict(hurr)).changes is True
    checked = provider.check(dict(hurr), dict(hurr))  # what `pulumi preview --diff` shows
    assert checked.failures == [] and "ip ospf cost 999" in checked.inputs["pending_diff"]
    assert "shutdown" in checked.inputs["pending_diff"]
    assert provider.diff("id", dict(hurr), checked.inputs).changes is True

    # read (refresh): backup taken, the drifted stanza reported
    read = provider.read(f"hurr-r1:{hurr['header']}", dict(hurr))
    assert " ip ospf cost 999" in read.outs["running"] and " shutdown" in read.outs["running"]
    (backup,) = Path(hurr["backup_dir"]).iterdir()
    assert "ip ospf cost 999" in backup.read_text()

    # update repairs it and the routers converge again
    updated = provider.update("id", dict(hurr), dict(hurr))
    assert "ip ospf cost 999" in updated.outs["last_diff"]
    assert same_lines(sections.extract(running(lab, "hurr-r1"), hurr["header"]), hurr["intended"])
    assert ospf_cost(lab, "hurr-r1", "eth1") == 100
    assert provider.diff("id", dict(hurr), dict(hurr)).changes is False
    deadline = time.monotonic() + 40
    while not ospf_neighbor_full(lab, "hurr-r1", "eth1"):
        assert time.monotonic() < deadline, "OSPF adjacency did not come back after the repair"
        time.sleep(1)
