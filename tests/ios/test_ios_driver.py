"""NAPALM's real ios driver against the harness: every step a deploy uses, and what IOS refuses."""

from __future__ import annotations

from typing import Any

import pytest
from napalm import get_network_driver
from napalm.base.exceptions import CommitConfirmException

from govnet.deploy.inventory import platform_args
from tests.ios.conftest import ENABLE, PASSWORD
from tests.ios_harness import IOSWorld


def driver_for(world: Any, name: str, prod_net: Any) -> Any:
    device = prod_net.devices[name]
    args = platform_args(device.platform, world.known_hosts, 30, {"GOVNET_ENABLE_SECRET": ENABLE})
    driver = get_network_driver("ios")(str(device.mgmt.ip), world.user, PASSWORD, timeout=30, optional_args=args)
    driver.open()
    return driver


def test_round_trip(world: IOSWorld, prod_net: Any) -> None:
    box = world.by_name("core1")
    before = box.running_text()
    driver = driver_for(world, "core1", prod_net)
    assert driver.dest_file_system == "bootflash:"
    running = driver.get_config(retrieve="running")["running"]
    assert running.startswith("!") and "Building configuration" not in running and "hostname core1" in running

    candidate = running.replace("hostname core1", "hostname core1\nip domain name example.net")
    driver.load_replace_candidate(config=candidate)
    assert box.files["bootflash:/candidate_config.txt"] == candidate + "\n"  # what tclsh wrote
    diff = driver.compare_config()
    assert diff == "+ip domain name example.net"

    driver.commit_config(revert_in=120)
    assert "ip domain name example.net" in box.running_text()
    assert "configure replace bootflash:/candidate_config.txt force revert trigger error timer 2" in box.log
    assert driver.has_pending_commit()
    assert driver._get_pending_commits()["user"] == world.user  # type: ignore[attr-defined]
    driver.confirm_commit()
    assert not driver.has_pending_commit() and box.startup == box.running

    driver.rollback()  # no pending commit: back to the file saved before the commit
    assert "configure replace bootflash:/rollback_config.txt force" in box.log
    assert "ip domain name example.net" not in box.running_text()
    driver.close()  # napalm turns `file prompt quiet` back off
    assert box.running_text() == before
    assert not world.unknown


def test_revert_while_pending_and_discard(world: IOSWorld, prod_net: Any) -> None:
    box = world.by_name("core2")
    before = box.running_text()
    driver = driver_for(world, "core2", prod_net)
    running = driver.get_config(retrieve="running")["running"]
    driver.load_replace_candidate(config=running + "\nip domain name example.net\n")
    driver.discard_config()
    assert box.files["bootflash:/candidate_config.txt"].count("hostname core2") == 1
    assert driver.compare_config() == ""
    driver.load_replace_candidate(config=running + "\nip domain name example.net\n")
    driver.commit_config(revert_in=60)
    driver.rollback()  # pending: configure revert now
    assert "configure revert now" in box.log and box.pending is None
    driver.close()
    assert box.running_text() == before
    assert not world.unknown


def test_commit_refused_without_archive(world: IOSWorld, prod_net: Any) -> None:
    box = world.by_name("dc-sw1")
    driver = driver_for(world, "dc-sw1", prod_net)
    running = driver.get_config(retrieve="running")["running"]
    no_archive = "\n".join(ln for ln in running.splitlines() if "archive" not in ln and "maximum 10" not in ln)
    box.apply(no_archive)
    driver.load_replace_candidate(config=no_archive + "\nip domain name example.net\n")
    with pytest.raises(CommitConfirmException, match="archive"):
        driver.commit_config(revert_in=120)
    assert "ip domain name example.net" not in box.running_text()
    driver.close()


def test_getters_follow_the_running_config(world: IOSWorld, prod_net: Any) -> None:
    driver = driver_for(world, "core1", prod_net)
    mgmt = prod_net.devices["core1"]
    interfaces = driver.get_interfaces()
    assert interfaces[mgmt.mgmt_interface]["is_up"]
    ip = driver.get_interfaces_ip()
    assert ip[mgmt.mgmt_interface]["ipv4"][str(mgmt.mgmt.ip)]["prefix_length"] == mgmt.mgmt.network.prefixlen
    assert driver.get_bgp_neighbors() == {}
    assert driver.cli(["show ip ospf neighbor"]) == {"show ip ospf neighbor": ""}
    driver.close()
    assert not world.unknown


def test_unknown_command_is_recorded(world: IOSWorld, prod_net: Any) -> None:
    driver = driver_for(world, "core1", prod_net)
    assert "% Invalid input" in driver.cli(["show inventory"])["show inventory"]
    assert world.unknown == [("core1", "show inventory")]
    world.unknown.clear()
    driver.close()
