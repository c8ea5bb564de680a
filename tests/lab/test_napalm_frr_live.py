"""The FRR NAPALM driver and the ``frr_vtysh`` Netmiko type against the running lab, every method, on both kinds
of box: the lab's own login (its sshd forces the device shell, the helper is resident) and a stock one (a login
that lands in the user's shell, no helper installed: the driver ships its own; ``govnet.lab.stock``).

Two adjacent routers get their full rendered configs through the driver (replace, diff, commit
confirmed, confirm), then OSPF/BGP/route getters are checked against what converged; the fault
drills follow: a bad line is refused with nothing applied, an unconfirmed commit whose controller
is killed reverts on the box by itself, wrong password and wrong host key are refused clearly.
Each router's starting config is restored at the end for the other lab tests.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from napalm import get_network_driver
from napalm.base.exceptions import (
    CommitConfirmException,
    ConnectAuthError,
    ConnectionException,
    ReplaceConfigException,
)
from netmiko import ConnectHandler
from netmiko.exceptions import ConfigInvalidException

from govnet.lab.nsexec import vtysh
from govnet.lab.state import Lab, LabDevice
from govnet.lab.stock import STOCK_PORT, stock_login
from govnet.render import render_device, secrets_from_env
from napalm_frr import NETMIKO_DEVICE_TYPE, shipping
from napalm_frr.frr import FRRDriver, HelperRefused, ping_command
from napalm_frr.helper.service import ntp_servers

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]


def open_driver(lab: Lab, dev: LabDevice, **optional: Any) -> FRRDriver:
    driver_class = get_network_driver("frr")
    args = {"known_hosts_file": str(lab.known_hosts), **optional}
    driver = driver_class(dev.mgmt_ip, lab.username, lab.password, timeout=60, optional_args=args)
    driver.open()
    return driver  # type: ignore[no-any-return]


def running(dev: LabDevice) -> str:
    """The running config read on the box itself (not through the driver under test)."""
    return vtysh(dev.instance, "show running-config")


def kernel_addresses(dev: LabDevice) -> set[tuple[str, str]]:
    """(interface, address/prefix) of every IPv4 address in the device's namespace."""
    out = subprocess.run(["ip", "-n", dev.netns, "-j", "-4", "addr"], capture_output=True, check=True).stdout
    return {(i["ifname"], f"{a['local']}/{a['prefixlen']}") for i in json.loads(out) for a in i.get("addr_info", [])}


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll until *check* holds; return how long it took."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > seconds:
            pytest.fail(f"{what}: not within {seconds:.0f} s")
        time.sleep(0.5)
    return time.monotonic() - start


@pytest.fixture(scope="module")
def pair(lab: Lab) -> tuple[LabDevice, LabDevice, dict[str, Any]]:
    """Two routers joined by a link (core1 and its first neighbour) and that link."""
    link = next(lk for lk in lab.links if lk["a"][0] == "core1")
    return lab.devices["core1"], lab.devices[link["b"][0]], link


Connect = Callable[[LabDevice], FRRDriver]


@pytest.fixture(scope="module", params=["resident", "stock"])
def login(request: pytest.FixtureRequest, lab: Lab, pair: Any) -> Iterator[dict[str, dict[str, Any]]]:
    """The optional_args that reach each of the pair as one kind of box: ``resident`` (the lab's login) or
    ``stock`` (a login to the shell on another port, no helper: shipped by the driver, cached after)."""
    if request.param == "resident":
        yield {dev.name: {} for dev in pair[:2]}
        return
    cache = Path(pwd.getpwnam(lab.username).pw_dir) / ".cache" / "napalm-frr"
    with contextlib.ExitStack() as stack:
        args = {}
        for dev in pair[:2]:
            known = stack.enter_context(stock_login(lab, dev))
            args[dev.name] = {"port": STOCK_PORT, "known_hosts_file": str(known), "frr_instance": dev.instance}
        try:
            yield args
        finally:
            shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture
def connect(lab: Lab, login: dict[str, dict[str, Any]]) -> Connect:
    """Open the driver to a router as the module's kind of box."""
    return lambda dev: open_driver(lab, dev, **login[dev.name])


@pytest.fixture(scope="module")
def deployed(
    lab: Lab, pair: tuple[LabDevice, LabDevice, dict[str, Any]], login: dict[str, dict[str, Any]]
) -> Iterator[dict[str, FRRDriver]]:
    """Both routers running their full configs (pushed through the driver); restored afterwards."""
    before = {dev.name: running(dev) for dev in pair[:2]}
    addresses = {dev.name: kernel_addresses(dev) for dev in pair[:2]}
    drivers = {dev.name: open_driver(lab, dev, **login[dev.name]) for dev in pair[:2]}
    for name, driver in drivers.items():
        driver.load_replace_candidate(config=render_device(lab.network, name, secrets_from_env(network=lab.network)))
        driver.commit_config(message="napalm_frr live test: full config", revert_in=300)
        driver.confirm_commit()
    try:
        yield drivers
    finally:
        for dev in pair[:2]:
            driver = drivers[dev.name]
            if not driver.is_alive()["is_alive"]:
                driver.open()
            driver.load_replace_candidate(config=before[dev.name].split("Current configuration:", 1)[-1])
            driver.commit_config(message="napalm_frr live test: restore")
            driver.close()
            # the lab set the link addresses in the kernel, which the bootstrap config does not hold: taking the
            # deployed `ip address` lines away took them too, so they are put back as the lab made them
            for ifname, address in sorted(addresses[dev.name] - kernel_addresses(dev)):
                subprocess.run(["ip", "-n", dev.netns, "addr", "add", address, "dev", ifname], check=True)
        assert {dev.name: kernel_addresses(dev) for dev in pair[:2]} == addresses


# ----------------------------------------------------------------------------- session and getters


@pytest.fixture
def box_cache(lab: Lab) -> Iterator[Path]:
    """The lab login's helper cache (~/.cache/napalm-frr), empty before the test and removed after it."""
    cache = Path(pwd.getpwnam(lab.username).pw_dir) / ".cache" / "napalm-frr"
    shutil.rmtree(cache, ignore_errors=True)
    yield cache
    shutil.rmtree(cache, ignore_errors=True)


def test_a_box_without_the_helper_gets_the_drivers_copy_once(lab: Lab, pair: Any, box_cache: Path) -> None:
    """A login that lands in the shell, no helper on the box: the first open uploads the driver's helper (an
    older cached one is replaced), the second runs it from the box's cache; reads (through the helper's vtysh)
    and ping (the shell's) work as on the lab's own login, which keeps its resident helper, exactly the driver's."""
    dev = pair[1]
    user = pwd.getpwnam(lab.username)
    cache = box_cache
    older = cache / "0.0.1-0123456789abcdef"
    older.mkdir(parents=True)
    (older / "helper.zip").write_bytes(b"an older helper")
    for path in (cache.parent, cache, older, older / "helper.zip"):
        os.chown(path, user.pw_uid, user.pw_gid)
    seen = []
    lab_login = open_driver(lab, dev)
    port = STOCK_PORT + 1  # the module's stock login may be up on STOCK_PORT at the same time
    with stock_login(lab, dev, port=port) as known:
        for _ in range(2):
            driver = open_driver(lab, dev, port=port, known_hosts_file=str(known), frr_instance=dev.instance)
            info = driver.helper_info
            startup = driver.get_config(retrieve="startup")["startup"]
            facts, interfaces = driver.get_facts(), driver.get_interfaces()
            pong = driver.ping(pair[2]["a"][2].split("/")[0], count=1, timeout=2)  # from the login's shell
            with pytest.raises(ReplaceConfigException, match="candidate rejected"):
                driver.load_replace_candidate(config="hostname x\nrouter ospf\n bogus-command 1\n")
            driver.close()
            assert info is not None and f"hostname {dev.name}" in startup
            assert facts["hostname"] == dev.name and facts["vendor"] == "FRRouting" and facts["uptime"] > 0
            assert set(interfaces) == set(lab_login.get_interfaces()) and interfaces["mgmt0"]["is_up"]
            assert pong["success"]["probes_sent"] == 1 and pong["success"]["packet_loss"] == 0
            seen.append((info["origin"], info["resident"], info["version"]))
    lab_login.close()
    assert seen == [("shipped", False, shipping.helper.VERSION), ("cached", False, shipping.helper.VERSION)]
    kept = cache / shipping.cache_name() / "helper.zip"
    assert sorted(p.name for p in cache.iterdir()) == [shipping.cache_name()]
    assert kept.read_bytes() == shipping.archive() and kept.stat().st_uid == user.pw_uid
    driver = open_driver(lab, dev)
    info = driver.helper_info
    driver.close()
    assert info is not None and (info["origin"], info["resident"]) == ("resident", True)


def test_a_login_that_lands_in_vtysh_pings_through_the_helper(lab: Lab, pair: Any) -> None:
    """A box whose login lands in vtysh (its forced command; the resident helper's session beside it): vtysh has no
    ping with a count (``% Unknown command``), so the driver's ping goes to the helper, which runs iputils ping."""
    dev, peer = pair[1], pair[2]["a"][2].split("/")[0]
    port = STOCK_PORT + 2  # clear of the module's stock logins
    with stock_login(lab, dev, port=port, vtysh=True) as known:
        driver = open_driver(lab, dev, port=port, known_hosts_file=str(known))
        try:
            assert driver.helper_info is not None and driver.helper_info["origin"] == "resident"
            assert f"({dev.name})" in driver.cli(["show version"])["show version"]
            login = driver._conn().run(ping_command(peer, "", 255, 2, 100, 1))
            assert login.stdout.lstrip().startswith("% Unknown command"), login
            pong = driver.ping(peer, count=1, timeout=2)
        finally:
            driver.close()
    assert "success" in pong, pong
    assert pong["success"]["probes_sent"] == 1 and pong["success"]["packet_loss"] == 0


def test_the_labs_stock_routers_take_the_drivers_defaults(lab: Lab) -> None:
    """A router the inventory builds as a stock box (``lab_stock``: the login lands in a shell, plain vtysh, no
    helper), reached with nothing but its known_hosts: the driver ships its helper for the box's default FRR
    instance; getters, a refused candidate, a merge committed and confirmed then rolled back, and an unconfirmed
    ``commit_config(revert_in=8)`` whose controller is SIGKILLed, reverted by the box alone."""
    dev = next(d for d in lab.devices.values() if d.stock)
    before = running(dev)
    driver = open_driver(lab, dev)
    try:
        info = driver.helper_info
        assert info is not None and info["origin"] in ("shipped", "cached") and info["resident"] is False, info
        facts, config = driver.get_facts(), driver.get_config(retrieve="all")
        assert facts["hostname"] == dev.name and facts["vendor"] == "FRRouting"
        assert config["running"].strip() and f"hostname {dev.name}" in config["startup"]
        assert "mgmt0" in driver.get_interfaces_ip()
        with pytest.raises(ReplaceConfigException, match="candidate rejected"):
            driver.load_replace_candidate(config="hostname x\nrouter ospf\n bogus-command 1\n")
        driver.load_merge_candidate(config="interface mgmt0\n description stock merge\nexit\n")
        assert "description stock merge" in driver.compare_config()
        driver.commit_config(message="napalm_frr live test: stock merge", revert_in=60)
        assert driver.has_pending_commit() and "stock merge" in running(dev)
        driver.confirm_commit()
        assert not driver.has_pending_commit()
        driver.rollback()
        assert running(dev) == before
    finally:
        driver.close()
    script = f"""
from napalm import get_network_driver
d = get_network_driver("frr")({dev.mgmt_ip!r}, {lab.username!r}, {lab.password!r},
                              optional_args={{"known_hosts_file": {str(lab.known_hosts)!r}}})
d.open()
d.load_merge_candidate(config="interface mgmt0\\n description unconfirmed on a stock box\\nexit\\n")
d.commit_config(message="never confirmed", revert_in=8)
print("committed", flush=True)
import time; time.sleep(600)
"""
    controller = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert controller.stdout is not None and controller.stdout.readline().strip() == "committed"
        assert "unconfirmed on a stock box" in running(dev)
        os.kill(controller.pid, signal.SIGKILL)
    finally:
        controller.kill()
        controller.wait()
    took = wait_for(lambda: running(dev) == before, 30, "the stock box's revert of the unconfirmed commit")
    assert took <= 8 + 10


def test_open_is_alive_close(connect: Connect, pair: Any) -> None:
    driver = connect(pair[0])
    assert driver.is_alive() == {"is_alive": True}
    driver.close()
    assert driver.is_alive() == {"is_alive": False}


def test_get_facts(connect: Connect, pair: Any) -> None:
    dev = pair[0]
    driver = connect(dev)
    facts = driver.get_facts()
    driver.close()
    assert facts["hostname"] == dev.name and facts["vendor"] == "FRRouting"
    assert facts["os_version"].startswith("8.") and facts["uptime"] > 0
    assert "mgmt0" in facts["interface_list"]


def test_get_interfaces_match_the_namespace(connect: Connect, pair: Any) -> None:
    dev = pair[0]
    driver = connect(dev)
    interfaces = driver.get_interfaces()
    driver.close()
    links = json.loads(subprocess.run(["ip", "-n", dev.netns, "-j", "link"], capture_output=True, check=True).stdout)
    assert set(interfaces) == {link["ifname"] for link in links}
    assert interfaces["mgmt0"]["is_up"] and interfaces["mgmt0"]["is_enabled"]


def test_get_interfaces_ip_has_mgmt_and_link_addresses(connect: Connect, pair: Any) -> None:
    dev, _, link = pair
    driver = connect(dev)
    addresses = driver.get_interfaces_ip()
    driver.close()
    assert dev.mgmt_ip in addresses["mgmt0"]["ipv4"]
    iface = ipaddress.ip_interface(link["a"][2])
    assert addresses[link["a"][1]]["ipv4"][str(iface.ip)] == {"prefix_length": iface.network.prefixlen}


def test_ping_from_the_device(connect: Connect, pair: Any, login: dict[str, dict[str, Any]]) -> None:
    dev, _, link = pair
    driver = connect(dev)
    ok = driver.ping(link["b"][2].split("/")[0], count=2, timeout=2)
    # the lab's device shell refuses a destination outside the lab range; a stock box's shell would send it, so
    # the stock login is never asked to
    refused = None if login[dev.name] else driver.ping("192.0.2.1", count=1)
    driver.close()
    assert ok["success"]["probes_sent"] == 2 and ok["success"]["packet_loss"] == 0
    assert refused is None or "outside the lab range" in refused["error"]


def test_get_config(connect: Connect, pair: Any) -> None:
    dev = pair[0]
    driver = connect(dev)
    config = driver.get_config()
    driver.close()
    assert f"hostname {dev.name}" in config["running"] and "Building configuration" not in config["running"]
    assert f"hostname {dev.name}" in config["startup"] and config["candidate"] == ""


def test_get_ntp_servers_reads_the_box(connect: Connect, pair: Any) -> None:
    driver = connect(pair[0])
    servers = driver.get_ntp_servers()
    driver.close()
    assert servers == ntp_servers(Path("/etc"))  # lab routers share the machine's /etc


def test_ospf_bgp_and_routes_after_deploy(deployed: dict[str, FRRDriver], pair: Any) -> None:
    first, second, link = pair
    driver = deployed[first.name]
    peer_rid = deployed[second.name].get_ospf_neighbors()["global"]["router_id"]

    def adjacency_full() -> bool:
        adjs = driver.get_ospf_neighbors()["global"]["neighbors"].get(peer_rid, [])
        return any(a["state"] == "Full" and a["interface"] == link["a"][1] for a in adjs)

    wait_for(adjacency_full, 40, f"OSPF adjacency {first.name}–{second.name}")
    link_net = str(ipaddress.ip_interface(link["a"][2]).network)
    connected = driver.get_route_to(link_net)[link_net]
    assert any(r["protocol"] == "connected" and r["current_active"] for r in connected)
    loopbacks = deployed[second.name].get_interfaces_ip().get("lo", {}).get("ipv4", {})
    assert loopbacks, f"{second.name} has no IPv4 loopback address"
    for address in loopbacks:

        def learned(address: str = address) -> bool:
            routes = driver.get_route_to(f"{address}/32")
            return any(r["current_active"] for r in routes.get(f"{address}/32", []))

        wait_for(learned, 40, f"{first.name} route to {second.name} loopback {address}")
        route = driver.get_route_to(f"{address}/32")[f"{address}/32"][0]
        assert route["protocol"] in ("ospf", "bgp") and route["outgoing_interface"]
    bgp = driver.get_bgp_neighbors()
    assert all(isinstance(p["is_up"], bool) for vrf in bgp.values() for p in vrf["peers"].values())


def test_compare_config_is_empty_after_deploy(lab: Lab, deployed: dict[str, FRRDriver], pair: Any) -> None:
    driver = deployed[pair[0].name]
    driver.load_replace_candidate(
        config=render_device(lab.network, pair[0].name, secrets_from_env(network=lab.network))
    )
    diff = driver.compare_config()
    driver.discard_config()
    assert diff == "", f"a second deploy would change:\n{diff}"


def test_merge_diff_commit_and_rollback(deployed: dict[str, FRRDriver], pair: Any) -> None:
    dev = pair[0]
    driver = deployed[dev.name]
    before = running(dev)
    driver.load_merge_candidate(config="interface mgmt0\n description merged by napalm_frr test\nexit\n")
    assert "description merged by napalm_frr test" in driver.compare_config()
    driver.commit_config(message="merge")
    assert "merged by napalm_frr test" in running(dev)
    assert not driver.has_pending_commit()
    driver.rollback()
    assert running(dev) == before


def test_confirm_without_pending_commit(deployed: dict[str, FRRDriver], pair: Any) -> None:
    with pytest.raises(CommitConfirmException, match="no commit is pending"):
        deployed[pair[0].name].confirm_commit()


# ----------------------------------------------------------------------------- fault drills


def test_bad_line_is_refused_and_nothing_applied(deployed: dict[str, FRRDriver], pair: Any) -> None:
    dev = pair[0]
    driver = deployed[dev.name]
    before = running(dev)
    bad = before.split("Current configuration:", 1)[-1].replace("\nend", "")
    bad = bad.replace("interface mgmt0\n", "interface mgmt0\n description must not appear\n", 1)
    bad += "\ninterface mgmt0\n ip adress 198.19.0.1/24\nexit\n"
    with pytest.raises(ReplaceConfigException, match=r"line \d+: .*Unknown command.*ip adress"):
        driver.load_replace_candidate(config=bad)
    with pytest.raises(HelperRefused, match="candidate rejected, nothing applied"):
        driver._helper("replace", "--revert-in", "60", stdin=bad)  # straight to the box, past the driver
    assert running(dev) == before and not driver.has_pending_commit()


def test_unconfirmed_commit_reverts_after_controller_is_killed(
    lab: Lab, deployed: Any, pair: Any, login: dict[str, dict[str, Any]], connect: Connect
) -> None:
    """The controller commits with revert_in, is SIGKILLed; the box restores the config alone."""
    dev = pair[0]
    before = running(dev)
    args = {"known_hosts_file": str(lab.known_hosts), **login[dev.name]}
    script = f"""
import sys
from napalm import get_network_driver
d = get_network_driver("frr")({dev.mgmt_ip!r}, {lab.username!r}, {lab.password!r}, optional_args={args!r})
d.open()
d.load_merge_candidate(config="interface mgmt0\\n description unconfirmed change\\nexit\\n")
d.commit_config(message="never confirmed", revert_in=8)
print("committed", flush=True)
import time; time.sleep(600)
"""
    controller = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert controller.stdout is not None and controller.stdout.readline().strip() == "committed"
        assert "unconfirmed change" in running(dev)
        os.kill(controller.pid, signal.SIGKILL)
    finally:
        controller.kill()
        controller.wait()
    took = wait_for(lambda: running(dev) == before, 30, "revert of the unconfirmed commit")
    assert took <= 8 + 10
    driver = connect(dev)
    assert not driver.has_pending_commit()
    driver.close()


def test_wrong_password_is_refused(lab: Lab, pair: Any) -> None:
    driver = get_network_driver("frr")(
        pair[0].mgmt_ip, lab.username, "not-the-password", optional_args={"known_hosts_file": str(lab.known_hosts)}
    )
    with pytest.raises(ConnectAuthError, match="authentication failed"):
        driver.open()


def test_host_key_mismatch_is_refused(lab: Lab, pair: Any, tmp_path: Path) -> None:
    first, second, _ = pair
    other_key = next(line for line in lab.known_hosts.read_text().splitlines() if second.mgmt_ip in line)
    forged = tmp_path / "known_hosts"
    forged.write_text(f"{first.mgmt_ip} {' '.join(other_key.split()[1:])}\n")
    driver = get_network_driver("frr")(
        first.mgmt_ip, lab.username, lab.password, optional_args={"known_hosts_file": str(forged)}
    )
    with pytest.raises(ConnectionException, match="host key mismatch"):
        driver.open()
    (tmp_path / "empty").write_text("")
    unknown = get_network_driver("frr")(
        first.mgmt_ip, lab.username, lab.password, optional_args={"known_hosts_file": str(tmp_path / "empty")}
    )
    with pytest.raises(ConnectionException, match="host key unknown"):
        unknown.open()


# ----------------------------------------------------------------------------- Netmiko frr_vtysh


def test_netmiko_frr_vtysh_raises_on_bad_line_and_saves(lab: Lab, pair: Any) -> None:
    dev = pair[0]
    before = running(dev)
    conn = ConnectHandler(
        device_type=NETMIKO_DEVICE_TYPE, host=dev.mgmt_ip, username=lab.username, password=lab.password,
        ssh_strict=True, alt_host_keys=True, alt_key_file=str(lab.known_hosts),
    )  # fmt: skip
    try:
        assert conn.find_prompt() == f"{dev.name}#"
        with pytest.raises(ConfigInvalidException, match="Unknown command"):
            conn.send_config_set(["interface mgmt0", "bogus command"])
        assert not conn.check_config_mode(), "the session is back in exec mode after an error"
        conn.send_config_set(["ip prefix-list GVNET-NETMIKO-TEST seq 5 permit 198.18.0.0/15"])
        assert "GVNET-NETMIKO-TEST" in running(dev)
        assert "[OK]" in conn.save_config()
        conn.send_config_set(["no ip prefix-list GVNET-NETMIKO-TEST"])
        conn.save_config()
    finally:
        conn.disconnect()
    assert running(dev) == before
