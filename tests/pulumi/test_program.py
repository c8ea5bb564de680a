"""The program under mocks: every DC server is one VM of its planned size and address; every link one
DepartmentLink with a RouterConfig on each end; stack outputs as documented."""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Interface

import pytest

from govnet.model import Network
from govnet.render import render_device
from govnet_pulumi import sections
from govnet_pulumi.link import resource_name
from govnet_pulumi.server import VM_TYPE
from tests.pulumi.conftest import Run, run_program, settings

RC_TYPE = "pulumi-python:dynamic/govnet:RouterConfig"


def vms_by_name(run: Run) -> dict[str, dict]:
    vms = run.of_type(VM_TYPE)
    names = Counter(vm.inputs["name"] for vm in vms)
    assert all(n == 1 for n in names.values()), f"servers declared more than once: {names}"
    return {vm.inputs["name"]: vm.inputs for vm in vms}


def test_every_dc_server_is_exactly_one_vm(lab_run: Run, lab_network: Network) -> None:
    vms = vms_by_name(lab_run)
    assert sorted(vms) == sorted(s.name for s in lab_network.servers)
    assert sorted(lab_run.program.servers) == sorted(vms)


@pytest.mark.parametrize("field", ["size", "address", "network"])
def test_vm_matches_the_plan(lab_run: Run, lab_network: Network, field: str) -> None:
    vms = vms_by_name(lab_run)
    assert lab_network.servers and vms, "the lab plan has servers and the program made VMs: else nothing is checked"
    for s in lab_network.servers:
        vm = vms[s.name]
        if field == "size":
            assert vm["cpu"]["cores"] == s.vcpu
            assert vm["memory"]["dedicated"] == s.memory_mb
            assert [d["size"] for d in vm["disks"]] == [s.disk_gb]
        elif field == "address":
            init = vm["initialization"]
            assert init["ipConfigs"] == [{"ipv4": {"address": str(s.address), "gateway": str(s.gateway)}}]
            assert init["dns"]["servers"] == [str(a) for a in lab_network.dns_servers]
            assert init["dns"]["domain"] == lab_network.domain
            assert init["userAccount"]["keys"], f"{s.name}: no admin SSH key in cloud-init"
            assert IPv4Interface(init["ipConfigs"][0]["ipv4"]["address"]) in (
                IPv4Interface(f"{h}/{s.address.network.prefixlen}") for h in s.address.network.hosts()
            )
        else:
            nics = vm["networkDevices"]
            assert [n["vlanId"] for n in nics] == [lab_network.segment(s.site, s.segment).vlan]


def test_every_link_is_one_department_link_with_two_router_configs(lab_run: Run, lab_network: Network) -> None:
    assert len(lab_run.of_type("govnet:network:DepartmentLink")) == len(lab_network.links)
    assert sorted(lab_run.program.links) == sorted(link.name for link in lab_network.links)
    configs = {d.name: d.inputs for d in lab_run.of_type(RC_TYPE)}
    assert len(configs) == 2 * len(lab_network.links)
    for link in lab_network.links:
        component = lab_run.program.links[link.name]
        assert len(component.ends) == 2
        for end in (link.a, link.b):
            inputs = configs[f"{resource_name(link.name)}-{end.device}"]
            assert inputs["device"] == end.device
            assert inputs["header"] == f"interface {end.interface}"
            assert f" ip address {end.address}\n" in inputs["intended"]
            assert inputs["host"] == str(lab_network.devices[end.device].mgmt.ip)


def test_router_configs_are_children_of_their_link(lab_run: Run, lab_network: Network) -> None:
    for link in lab_network.links:
        urns = lab_run.config_urns[link.name]
        assert len(urns) == 2
        for urn, end in zip(urns, (link.a, link.b), strict=True):
            assert "::govnet:network:DepartmentLink$pulumi-python:dynamic/govnet:RouterConfig::" in urn
            assert urn.endswith(f"::{resource_name(link.name)}-{end.device}")


def test_intended_stanza_is_the_rendered_one(lab_run: Run, lab_network: Network) -> None:
    """What Pulumi pushes is byte for byte what `govnet render` writes for that interface."""
    rendered = {name: render_device(lab_network, name) for name in lab_network.devices}
    for d in lab_run.of_type(RC_TYPE):
        text = rendered[d.inputs["device"]]
        assert d.inputs["intended"] == sections.extract(text, d.inputs["header"])
        assert d.inputs["intended"] in text


def test_outputs(lab_run: Run, lab_network: Network) -> None:
    out = lab_run.outputs
    assert out["env"] == "lab"
    assert out["servers"] == {s.name: str(s.address) for s in lab_network.servers}
    assert out["ansible_inventory"] == "inventory/karbala.govnet.yml"
    assert sorted(out["vm_ids"]) == sorted(s.name for s in lab_network.servers)
    links = out["links"]
    assert sum(len(v) for v in links.values()) == len(lab_network.links)
    health = {entry["link"] for entry in links["health"]}
    assert health == {"core1:eth6--health-r1:eth1", "core2:eth5--health-r1:eth2", "health-r1:eth3--health-sw1:eth1"}
    assert set(links) == {s.name for s in lab_network.sites.values()}


def test_lab_stack_without_proxmox_declares_no_vms(lab_network: Network) -> None:
    run = run_program(lab_network, settings(proxmox=None))
    assert run.of_type(VM_TYPE) == []
    assert len(run.of_type(RC_TYPE)) == 2 * len(lab_network.links)
    assert run.outputs["servers"], "server addresses are outputs even when VMs are made elsewhere"


def test_routers_can_be_left_to_govnet_deploy(lab_network: Network) -> None:
    run = run_program(lab_network, settings(manage_routers=False))
    assert run.of_type(RC_TYPE) == []
    assert len(run.of_type(VM_TYPE)) == len(lab_network.servers)
