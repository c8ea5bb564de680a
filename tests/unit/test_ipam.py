"""IPAM: deterministic, stable allocation; the lock file keeps addresses in place."""

from __future__ import annotations

import shutil
from ipaddress import IPv4Network
from pathlib import Path

import pytest
import yaml

from govnet import ipam
from govnet.model import build

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    target = tmp_path / "karbala"
    shutil.copytree(ROOT / "inventory" / "karbala", target)
    shutil.rmtree(target / "ipam")
    return target


def write(inv: Path, env: str = "lab", prune: bool = False) -> dict[str, IPv4Network]:
    built = build(inv, env)
    ipam.write_lock(built.lock, env, built.plan, prune=prune)
    return ipam.read_lock(built.lock)


def edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def add_department(data: dict) -> None:  # type: ignore[type-arg]
    """A new department inserted FIRST in the file: order must not matter for existing allocations."""
    data["sites"].insert(
        1,
        {
            "name": "tourism",
            "kind": "department",
            "category": "service",
            "name_en": "Tourism Directorate",
            "name_ar": "مديرية السياحة",
            "zone": "service",
            "devices": [
                {"name": "tourism-r1", "role": "edge", "interfaces": ["eth1", "eth2"]},
                {"name": "tourism-sw1", "role": "access", "interfaces": ["eth1"]},
            ],
            "segments": [{"name": "staff", "kind": "staff", "vlan": 10, "hosts": 100}],
        },
    )
    for site in data["sites"]:
        for dev in site["devices"]:
            if dev["name"] == "traffic-r1":
                dev["interfaces"].append("eth3")
            if dev["name"] in ("core1", "core2"):  # the lab's routers take any port count
                dev["interfaces"].append("eth13")


def add_links(data: dict) -> None:  # type: ignore[type-arg]
    new = [
        {"a": {"device": "core1", "interface": "eth13"}, "b": {"device": "tourism-r1", "interface": "eth1"}},
        {"a": {"device": "tourism-r1", "interface": "eth2"}, "b": {"device": "tourism-sw1", "interface": "eth1"}},
        {"a": {"device": "core2", "interface": "eth13"}, "b": {"device": "traffic-r1", "interface": "eth3"}},
    ]
    for link in new:
        data["links"].insert(0, {**link, "medium": "fibre", "bandwidth_mbps": 1000, "ospf_cost": 10})


def add_phase(data: dict) -> None:  # type: ignore[type-arg]
    data["phases"][1]["sites"].append("tourism")


def test_adding_a_department_and_a_link_moves_nothing(inventory: Path) -> None:
    before = write(inventory)
    edit(inventory / "sites.yml", add_department)
    edit(inventory / "links.yml", add_links)
    edit(inventory / "governorate.yml", add_phase)
    built = build(inventory, "lab")
    after = {k: a.prefix for k, a in built.plan.allocations.items()}
    moved = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
    assert moved == {}
    new = {k for k, a in built.plan.allocations.items() if a.status == "new"}
    assert "segment/tourism/staff" in new and "loopback/tourism-r1" in new
    assert "p2p/core2:eth13--traffic-r1:eth3" in new
    assert all(a.status == "locked" for k, a in built.plan.allocations.items() if k in before)
    # Without the lock, the new department (first in file) would have shifted others: the lock is what holds them.
    unlocked = build(inventory, "lab")
    assert unlocked.plan.prefix("segment/diwan/staff") == before["segment/diwan/staff"]


def test_new_allocations_never_overlap_existing(inventory: Path) -> None:
    write(inventory)
    edit(inventory / "sites.yml", add_department)
    edit(inventory / "links.yml", add_links)
    edit(inventory / "governorate.yml", add_phase)
    allocs = build(inventory, "lab").plan.allocations.values()
    outer = [a.prefix for a in allocs if not a.key.startswith("server/")]
    for i, a in enumerate(outer):
        for b in outer[i + 1 :]:
            assert not a.overlaps(b), (a, b)


def remove_agri(data: dict) -> None:  # type: ignore[type-arg]
    data["sites"] = [s for s in data["sites"] if s["name"] != "agri"]


def test_removed_department_stays_reserved_until_prune(inventory: Path) -> None:
    before = write(inventory)
    edit(inventory / "sites.yml", remove_agri)
    edit(
        inventory / "links.yml",
        lambda d: d.__setitem__(
            "links", [lk for lk in d["links"] if "agri" not in lk["a"]["device"] + lk["b"]["device"]]
        ),
    )
    edit(inventory / "governorate.yml", lambda d: d["phases"][1]["sites"].remove("agri"))
    built = build(inventory, "lab")
    assert built.plan.stale["segment/agri/staff"].prefix == before["segment/agri/staff"]
    # A newcomer does not take the freed block while it is stale.
    edit(inventory / "sites.yml", add_department)
    edit(inventory / "links.yml", add_links)
    edit(inventory / "governorate.yml", add_phase)
    built = build(inventory, "lab")
    taken = {a.prefix for a in built.plan.allocations.values()}
    assert before["segment/agri/staff"] not in taken
    kept = write(inventory)
    assert kept["segment/agri/staff"] == before["segment/agri/staff"]
    pruned = write(inventory, prune=True)
    assert "segment/agri/staff" not in pruned and "loopback/agri-r1" not in pruned


def test_space_first_fit_is_aligned() -> None:
    space = ipam.Space(IPv4Network("198.18.0.0/24"))
    base = int(IPv4Network("198.18.0.0/24").network_address)
    assert space.take(2, base, base + 255) == base
    assert space.take(64, base, base + 255) == base + 64
    assert space.take(2, base, base + 255) == base + 2
    assert space.take(256, base, base + 255) is None


@pytest.mark.parametrize(("hosts", "length"), [(1, 30), (5, 29), (13, 28), (14, 27), (60, 26), (253, 24)])
def test_prefix_length_holds_hosts_gateway_network_broadcast(hosts: int, length: int) -> None:
    assert ipam.prefixlen_for(hosts) == length
