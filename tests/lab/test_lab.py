"""The Karbala lab as built by ``lab up`` (bootstrap configs): devices, management, links, endpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko
import pytest

from govnet.lab import engine, nsexec
from govnet.lab.errors import LabUsageError
from govnet.lab.health import lab_health, ping_pairs
from govnet.lab.state import Lab, LabDevice
from govnet.lab.topology import LAB_RANGE, LabSpec

pytestmark = pytest.mark.lab


def test_every_namespace_exists(lab: Lab) -> None:
    expected = [d.netns for d in lab.devices.values()]
    expected += [e.netns for e in (*lab.hosts.values(), *lab.servers.values())]
    assert len(lab.devices) == len(lab.network.devices)
    assert len(lab.hosts) == len(lab.network.hosts) and len(lab.servers) == len(lab.network.servers)
    missing = [ns for ns in expected if not Path(f"/run/netns/{ns}").exists()]
    assert missing == []
    assert all(d.netns == f"gv-{d.name}" and d.instance == d.name for d in lab.devices.values())


def test_every_frr_instance_answers_vtysh(lab: Lab) -> None:
    def answer(dev: LabDevice) -> tuple[str, str]:
        return dev.name, nsexec.vtysh(dev.instance, "show running-config")

    with ThreadPoolExecutor(max_workers=8) as pool:
        configs = dict(pool.map(answer, lab.devices.values()))
    wrong = [name for name, text in configs.items() if f"hostname {name}\n" not in text or "hostname vm" in text]
    assert wrong == [], "instances with a wrong hostname (UTS namespace not used)"
    assert all("interface mgmt0" in text for text in configs.values())


def test_status_reports_every_daemon_and_sshd(lab: Lab) -> None:
    rows = lab_health(lab)
    bad = [r for r in rows if not r.ok]
    assert bad == []
    assert {r.name for r in rows} == set(lab.devices)


def _ssh(lab: Lab, dev: LabDevice, command: str, known_hosts: Path | None = None) -> tuple[int, str, str]:
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts or lab.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        dev.mgmt_ip, username=lab.username, password=lab.password, look_for_keys=False, allow_agent=False, timeout=10
    )
    try:
        _, stdout, stderr = client.exec_command(command, timeout=30)
        code = stdout.channel.recv_exit_status()
        return code, stdout.read().decode(), stderr.read().decode()
    finally:
        client.close()


def test_every_sshd_accepts_login_with_host_key_verification(lab: Lab) -> None:
    def login(dev: LabDevice) -> tuple[str, int, str]:  # a stock box's login is a shell: it runs vtysh itself
        code, out, _ = _ssh(lab, dev, "vtysh -c 'show version'" if dev.stock else "show version")
        return dev.name, code, out

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(login, lab.devices.values()))
    failed = [(name, code) for name, code, out in results if code != 0 or "FRRouting 8" not in out]
    assert failed == []
    assert all(f"({name})" in out for name, _, out in results), "vtysh of another instance answered"


def test_the_stock_boxes_log_in_to_a_shell_with_plain_vtysh_and_no_helper(lab: Lab) -> None:
    """The inventory's lab_stock routers are stock FRR boxes: the login lands in the user's shell, plain vtysh (no
    -N) reaches the device's own FRR and startup config, and nothing of the driver is installed; the other devices
    keep the lab's forced login (a shell command is refused by the device shell)."""
    stock = [dev for dev in lab.devices.values() if dev.stock]
    assert sorted(d.name for d in stock) == sorted(lab.network.lab_stock) and len(stock) >= 2
    probe = "command -v napalm-frr-helper || echo no-helper; vtysh -c 'show running-config' | grep ^hostname; "
    probe += "grep ^hostname /etc/frr/frr.conf; id -un"
    for dev in stock:
        code, out, err = _ssh(lab, dev, probe)
        assert (code, out.split()) == (0, ["no-helper", "hostname", dev.name, "hostname", dev.name, lab.username]), err
    resident = next(d for d in lab.devices.values() if not d.stock)
    code, out, err = _ssh(lab, resident, "id -un")
    assert code != 0 and lab.username not in out, (out, err)


def test_host_key_of_another_device_is_rejected(lab: Lab, tmp_path: Path) -> None:
    first, second = list(lab.devices.values())[:2]
    lines = lab.known_hosts.read_text().splitlines()
    key_of = {line.split()[0].split(",")[0]: line.split(None, 1)[1] for line in lines}
    (tmp_path / "known_hosts").write_text(f"{first.mgmt_ip} {key_of[second.name]}\n")
    with pytest.raises(paramiko.BadHostKeyException):
        _ssh(lab, first, "show version", tmp_path / "known_hosts")


def test_wrong_password_is_refused(lab: Lab) -> None:
    dev = next(iter(lab.devices.values()))
    wrong = Lab(**{**lab.__dict__, "password": lab.password + "-wrong"})
    with pytest.raises(paramiko.AuthenticationException):
        _ssh(wrong, dev, "show version")


def test_device_shell_runs_multiline_vtysh_and_checked_ping(lab: Lab) -> None:
    dev = lab.devices["core1"]
    code, out, _ = _ssh(lab, dev, "show interface brief\nshow ip route connected")
    assert code == 0 and "mgmt0" in out and "directly connected" in out
    peer = next(lk for lk in lab.links if lk["a"][0] == "core1")["b"][2].split("/")[0]
    code, out, _ = _ssh(lab, dev, f"ping -c 1 -W 2 {peer}")
    assert code == 0 and "1 received" in out
    code, _, err = _ssh(lab, dev, "ping -c 1 192.0.2.1")
    assert code != 0 and "outside the lab range" in err
    code, _, err = _ssh(lab, dev, "ping -c 1 $(id)")
    assert code != 0


def test_every_link_pings_both_ways(lab: Lab) -> None:
    pairs = []
    for link in lab.links:
        (a_dev, _, a_addr), (b_dev, _, b_addr) = link["a"], link["b"]
        pairs.append((lab.devices[a_dev].netns, b_addr.split("/")[0]))
        pairs.append((lab.devices[b_dev].netns, a_addr.split("/")[0]))
    assert len(pairs) == 2 * len(lab.network.links)
    assert ping_pairs(pairs) == []


def test_every_host_and_server_reaches_its_gateway(lab: Lab) -> None:
    by_name = {h.name: str(h.gateway) for h in (*lab.network.hosts, *lab.network.servers)}
    pairs = [(ep.netns, by_name[name]) for name, ep in (*lab.hosts.items(), *lab.servers.items())]
    assert ping_pairs(pairs) == []


def test_only_lab_addresses_are_configured(lab: Lab) -> None:
    import ipaddress

    outside = []
    for ns in [d.netns for d in lab.devices.values()] + [e.netns for e in lab.servers.values()]:
        for iface in json.loads(nsexec.run(["ip", "-n", ns, "-j", "-4", "addr"])):
            for a in iface.get("addr_info", []):
                addr = ipaddress.IPv4Address(a["local"])
                if not addr.is_loopback and addr not in LAB_RANGE:
                    outside.append((ns, iface["ifname"], str(addr)))
    assert outside == []


def test_links_are_shaped_to_planned_bandwidth(lab: Lab) -> None:
    link = lab.network.links[0]
    qdisc = nsexec.run(["tc", "-n", f"gv-{link.a.device}", "qdisc", "show", "dev", link.a.interface])
    assert "tbf" in qdisc and f"rate {link.bandwidth_mbps}Mbit" in qdisc.replace("Gbit", "000Mbit")


def test_up_on_running_lab_is_a_clear_error(lab: Lab, lab_spec: LabSpec) -> None:
    with pytest.raises(LabUsageError, match="already recorded"):
        engine.up(lab_spec, lab.state_dir)
    assert Path(f"/run/netns/{lab.devices['core1'].netns}").exists(), "the failed up must not touch the lab"


def test_status_cli_json(lab: Lab) -> None:
    env = {**os.environ, "GOVNET_LAB_DIR": str(lab.state_dir)}
    proc = subprocess.run(
        [sys.executable, "-c", "from govnet.cli import main; main()", "lab", "status", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["up"] is True and len(doc["devices"]) == len(lab.devices)
    assert all(d["daemons_up"] == d["daemons_total"] and d["sshd"] for d in doc["devices"])
