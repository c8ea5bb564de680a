"""Verify's expectations come from the graph, not from Karbala's shape: a sub-district behind its district's
router, parallel links, and a ring between departments."""

from __future__ import annotations

import shutil
from pathlib import Path

from govnet.model import load_network
from govnet.verify.expect import dual_homed, primary_core

BASE = Path(__file__).resolve().parents[1] / "errors" / "_base"


def link(a: str, ai: str, b: str, bi: str, medium: str, mbps: int, cost: int) -> str:
    return (
        f"  - {{a: {{device: {a}, interface: {ai}}}, b: {{device: {b}, interface: {bi}}}, medium: {medium}, "
        f"bandwidth_mbps: {mbps}, ospf_cost: {cost}}}\n"
    )


def shaped(tmp_path: Path) -> Path:
    inv = tmp_path / "inv"
    shutil.copytree(BASE, inv)
    sites = (inv / "sites.yml").read_text()
    sites = sites.replace(
        "town-r1, role: edge, model: ISR1100-4G, interfaces: [eth1, eth2]",
        "town-r1, role: edge, model: ISR1100-4G, interfaces: [eth1, eth2, eth3, eth4, eth5]",
    )
    sites = sites.replace(
        "core1, role: core, model: C8500-12X, interfaces: [eth1, eth2, eth3, eth4]",
        "core1, role: core, model: C8500-12X, interfaces: [eth1, eth2, eth3, eth4, eth5]",
    )
    sites = sites.replace(
        "hlth-r1, role: edge, model: ISR1100-4G, interfaces: [eth1, eth2, eth3]",
        "hlth-r1, role: edge, model: ISR1100-4G, interfaces: [eth1, eth2, eth3, eth4]",
    )
    sites += (
        "  - name: village\n    kind: department\n    category: security\n    name_en: Village Post\n"
        "    name_ar: مخفر القرية\n    zone: security\n    devices:\n"
        "      - {name: vill-r1, role: edge, interfaces: [eth1, eth2]}\n"
        "      - {name: vill-sw1, role: access, interfaces: [eth1]}\n"
        "    segments:\n      - {name: staff, kind: staff, vlan: 10, hosts: 20}\n"
    )  # fmt: skip
    (inv / "sites.yml").write_text(sites)
    links = (inv / "links.yml").read_text()
    links += "".join(
        (
            link("town-r1", "eth3", "vill-r1", "eth1", "microwave", 100, 100),
            link("vill-r1", "eth2", "vill-sw1", "eth1", "copper", 1000, 1),
            link("core1", "eth5", "town-r1", "eth4", "fibre", 1000, 20),  # parallel to core1 eth4 -- town-r1 eth1
            link("town-r1", "eth5", "hlth-r1", "eth4", "fibre", 1000, 30),  # a ring between two departments
        )
    )
    (inv / "links.yml").write_text(links)
    gov = (inv / "governorate.yml").read_text().replace("sites: [dc, town]}", "sites: [dc, town, village]}")
    (inv / "governorate.yml").write_text(gov)
    return inv


def test_a_sub_district_reaches_the_dc_through_its_district(tmp_path: Path) -> None:
    network = load_network(shaped(tmp_path), "lab")
    assert primary_core(network, "village") == ("vill-r1", "eth1", ["core1"])


def test_a_parallel_link_to_the_same_core_is_no_second_core(tmp_path: Path) -> None:
    network = load_network(shaped(tmp_path), "lab")
    # town-r1 eth1 (cost 10) and eth4 (cost 20) both go to core1; the ring through hlth-r1 (30 + 50) reaches core2
    # only at a higher cost than the parallel link, so the backup stays core1.
    assert primary_core(network, "town") == ("town-r1", "eth1", ["core1"])


def test_the_ring_is_the_backup_when_nothing_cheaper_is_left(tmp_path: Path) -> None:
    inv = shaped(tmp_path)
    links = (inv / "links.yml").read_text()
    parallel = link("core1", "eth5", "town-r1", "eth4", "fibre", 1000, 20)
    (inv / "links.yml").write_text(links.replace(parallel, parallel.replace("ospf_cost: 20", "ospf_cost: 500")))
    network = load_network(inv, "lab")
    device, interface, cores = primary_core(network, "town") or ("", "", [])
    assert (device, interface, cores[0]) == ("town-r1", "eth1", "core1")
    # cut eth1: the ring town-r1 → hlth-r1 (30) then hlth-r1 → core1 (10) is cheaper than the parallel link (500)
    assert cores == ["core1"]
    # hlth-r1 has links to both cores, but with its primary cut OSPF takes the ring back to core1 (30 + 10) before
    # its own link to core2 (50): a failover drill expecting core2 would be wrong, and none is planned.
    assert dual_homed(network) == []
    assert dual_homed(load_network(BASE, "lab")) == ["hlth"]


def test_a_department_dual_homed_through_two_edge_routers(tmp_path: Path) -> None:
    inv = tmp_path / "inv"
    shutil.copytree(BASE, inv)
    sites = (
        (inv / "sites.yml")
        .read_text()
        .replace(
            "      - {name: hlth-sw1, role: access, model: C9300-24T, interfaces: [eth1]}",
            "      - {name: hlth-r2, role: edge, model: ISR1100-4G, interfaces: [eth1, eth2]}\n"
            "      - {name: hlth-sw1, role: access, model: C9300-24T, interfaces: [eth1, eth2]}",
        )
    )
    (inv / "sites.yml").write_text(sites)
    links = (
        (inv / "links.yml")
        .read_text()
        .replace(
            "{a: {device: core2, interface: eth3}, b: {device: hlth-r1, interface: eth2}",
            "{a: {device: core2, interface: eth3}, b: {device: hlth-r2, interface: eth1}",
        )
    )
    links += (
        "  - {a: {device: hlth-r2, interface: eth2}, b: {device: hlth-sw1, interface: eth2}, medium: copper,"
        " bandwidth_mbps: 1000, ospf_cost: 1}\n"
    )
    (inv / "links.yml").write_text(links)
    network = load_network(inv, "lab")
    assert primary_core(network, "hlth") == ("hlth-r1", "eth1", ["core1", "core2"])
    assert dual_homed(network) == ["hlth"]
