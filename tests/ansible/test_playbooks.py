"""Every playbook parses (`ansible-playbook --syntax-check` with the model-fed inventory and the lab vault)."""

from __future__ import annotations

import pytest

from govnet.model import load_network

from .conftest import PLAYBOOKS, ROOT, run, tail


def test_expected_playbooks_exist() -> None:
    assert {"site.yml", "servers.yml", "network.yml", "verify.yml"} <= set(PLAYBOOKS)


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_syntax_check(playbook: str) -> None:
    proc = run(["ansible-playbook", "--syntax-check", f"playbooks/{playbook}"])
    assert proc.returncode == 0, tail(proc)


def hosts_of_first_play(output: str) -> set[str]:
    """`--list-hosts` prints each play's hosts indented by six spaces after a `hosts (N):` line."""
    hosts: set[str] = set()
    for block in output.split("play #")[1:2]:
        hosts |= {line.strip() for line in block.splitlines() if line.startswith("      ") and line.strip()}
    return hosts


def test_servers_playbook_targets_every_server_of_the_model() -> None:
    proc = run(["ansible-playbook", "--list-hosts", "playbooks/servers.yml"])
    assert proc.returncode == 0, tail(proc)
    network = load_network(ROOT / "inventory" / "karbala")
    assert hosts_of_first_play(proc.stdout) == {s.name for s in network.servers}


def test_network_playbook_targets_every_device_and_honours_limit() -> None:
    network = load_network(ROOT / "inventory" / "karbala")
    proc = run(["ansible-playbook", "--list-hosts", "playbooks/network.yml"])
    assert proc.returncode == 0, tail(proc)
    assert hosts_of_first_play(proc.stdout) == set(network.devices)
    proc = run(["ansible-playbook", "--list-hosts", "--limit", "phase_1", "playbooks/network.yml"])
    assert hosts_of_first_play(proc.stdout) == {d.name for d in network.devices_in_phase(1)}
