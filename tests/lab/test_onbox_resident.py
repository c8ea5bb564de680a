"""The resident on-box helper on the running lab: started with the device, answers the SSH sessions, keeps
a vtysh and a parser ready, comes back after a crash, and gives the same answers as one-shot vtysh.

Uses routers no other lab test changes (policy-free branch routers); every change made here is undone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import time
from pathlib import Path

import pytest

from govnet.lab.nsexec import vtysh
from govnet.lab.state import Lab, LabDevice
from napalm_frr.frr import FRRDriver, HelperRefused
from napalm_frr.helper.box import Box, HelperError
from napalm_frr.helper.frr import FRR, SHOW_RUN_HEADER, ReadyDryRun, ResidentVtysh, dryrun_problems, syntax_problems
from napalm_frr.helper.paths import PID_NAME, helper_socket, state_path

pytestmark = pytest.mark.lab

BAD_CANDIDATE = (
    "interface lo\n ip ospf area 0.0.0.0\n bogus interface line\nexit\n!\nrouter ospf\n no such thing\nexit\n"
)


def agent_pid(dev: LabDevice) -> int:
    return int((Path(state_path(dev.instance)) / PID_NAME).read_text().split()[0])


def open_driver(lab: Lab, dev: LabDevice) -> FRRDriver:
    driver = FRRDriver(
        dev.mgmt_ip, lab.username, lab.password, timeout=60, optional_args={"known_hosts_file": str(lab.known_hosts)}
    )
    driver.open()
    return driver


@pytest.fixture(scope="module")
def router(lab: Lab) -> LabDevice:
    """A branch router (phase 2, no zone policy)."""
    return lab.devices["agri-r1"]


def test_lab_up_starts_one_resident_agent_per_device(lab: Lab) -> None:
    """Every lab box runs its resident helper; a stock box (inventory lab_stock) runs none and has no socket."""
    import pwd

    uid = pwd.getpwnam(lab.username).pw_uid
    stock = [dev for dev in lab.devices.values() if dev.stock]
    assert stock and not any(Path(helper_socket(dev.instance)).exists() for dev in stock)
    for dev in lab.devices.values():
        if dev.stock:
            continue
        pid = agent_pid(dev)
        status = Path(f"/proc/{pid}/status").read_text()
        assert f"Uid:\t{uid}\t" in status, f"{dev.name}: agent not running as {lab.username}"
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert [b"napalm_frr.helper", dev.instance.encode(), b"serve"] == cmdline[-4:-1]
        assert os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{dev.netns}").st_ino
        sock = os.stat(helper_socket(dev.instance))
        assert stat.S_ISSOCK(sock.st_mode) and stat.S_IMODE(sock.st_mode) == 0o600 and sock.st_uid == uid


def test_session_is_answered_by_the_resident_agent(lab: Lab, router: LabDevice) -> None:
    driver = open_driver(lab, router)
    try:
        first = driver._helper("status")
        second = driver._helper("status")
    finally:
        driver.close()
    assert first["helper"] == second["helper"]
    assert first["helper"]["pid"] == agent_pid(router) and first["helper"]["resident"] is True


def test_killed_resident_agent_comes_back_with_the_next_session(lab: Lab, router: LabDevice) -> None:
    old = agent_pid(router)
    os.kill(old, signal.SIGKILL)  # the lab's own process, by its pid file
    deadline = time.monotonic() + 10
    while Path(f"/proc/{old}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    driver = open_driver(lab, router)
    try:
        reply = driver._helper("status")
        state = driver.get_state()
    finally:
        driver.close()
    assert reply["helper"]["resident"] and reply["helper"]["pid"] != old
    assert reply["helper"]["pid"] == agent_pid(router)
    assert "lo" in state["interfaces"]


def test_show_takes_show_commands_only(lab: Lab, router: LabDevice) -> None:
    driver = open_driver(lab, router)
    try:
        with pytest.raises(HelperRefused, match="show commands only"):
            driver._helper("show", stdin=json.dumps(["configure terminal"]))
        outputs = driver._helper("show", stdin=json.dumps(["show version", "show ip route json"]))["outputs"]
    finally:
        driver.close()
    assert outputs[0].startswith("FRRouting") and json.loads(outputs[1])


def test_resident_vtysh_reads_what_one_shot_vtysh_reads(router: LabDevice, tmp_path: Path) -> None:
    box = Box(router.instance, tmp_path)
    frr = FRR()
    resident = frr.resident(box)  # what frr.show uses in this process
    try:
        running, version = resident.run(["show running-config", "show version"])
        # this test process is in the root UTS namespace: compare with a one-shot vtysh run from there too
        assert running == vtysh(router.instance, "show running-config", uts=False)
        assert version == vtysh(router.instance, "show version", uts=False)
        # a command printing nothing between two others: every output stays with its own command
        outputs = resident.run(["show version", "show ip prefix-list", "show version"])
        assert outputs == [version, vtysh(router.instance, "show ip prefix-list", uts=False), version]
        with pytest.raises(HelperError, match="Unknown command"):
            frr.show(box, ["show no-such-thing"])
        assert frr.resident(box) is resident  # the same vtysh served all of it
    finally:
        resident.close()


def test_resident_vtysh_applies_and_reports_refused_lines(router: LabDevice, tmp_path: Path) -> None:
    resident = ResidentVtysh(Box(router.instance, tmp_path))
    try:
        refused = resident.configure(["interface mgmt0", " description resident test", " bogus line", "router ospf"])
        assert refused == ["bogus line: % Unknown command:  bogus line"]
        assert " description resident test\n" in vtysh(router.instance, "show running-config")
        assert resident.configure(["interface mgmt0", " no description"]) == []
        assert "resident test" not in vtysh(router.instance, "show running-config")
        assert resident.run(["show version"])[0].startswith("FRRouting")  # back in exec mode
    finally:
        resident.close()


def test_ready_parser_gives_the_same_verdict_as_vtysh_dryrun(router: LabDevice, tmp_path: Path) -> None:
    box = Box(router.instance, tmp_path)
    path = tmp_path / "bad.conf"
    path.write_text(BAD_CANDIDATE)
    one_shot = syntax_problems(box, path)
    assert len(one_shot) == 2 and all("Unknown command" in p for p in one_shot)
    good = SHOW_RUN_HEADER.sub("", vtysh(router.instance, "show running-config"), count=1)
    for text, expected in ((BAD_CANDIDATE, one_shot), (good, [])):
        ready = ReadyDryRun(box)
        done = ready.run(text)
        assert done is not None
        assert dryrun_problems(*done) == expected
        assert not ready.fifo.exists()


def test_confirmed_commit_leaves_no_zombie_timer(lab: Lab, router: LabDevice) -> None:
    """The revert timer is a fork of the resident helper: once confirmed (the timer stops) it is reaped."""
    driver = open_driver(lab, router)
    try:
        driver.load_merge_candidate(config="interface mgmt0\n description timer check\n")
        driver.commit_config(revert_in=60)
        driver.confirm_commit()
        driver.rollback()  # back to the config before the commit
    finally:
        driver.close()
    assert "timer check" not in vtysh(router.instance, "show running-config")
    pid = agent_pid(router)

    def zombies() -> list[str]:
        children = " ".join(p.read_text() for p in Path(f"/proc/{pid}/task").glob("*/children")).split()
        found = []
        for child in children:
            with contextlib.suppress(OSError):  # a child may be gone by now
                if Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    found.append(child)
        return found

    deadline = time.monotonic() + 5
    while zombies() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert zombies() == []
