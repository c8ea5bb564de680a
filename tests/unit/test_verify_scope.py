"""verify --changed: the scope of a change comes from the diff between two snapshots of the inventory's intent."""

from __future__ import annotations

import shutil
from pathlib import Path

from govnet.cli.verify import _snapshot
from govnet.model import load_network
from govnet.verify import dataplane, scope
from tests.lab.departments import without_department

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "inventory" / "karbala"
NETWORK = load_network(INVENTORY, "lab")
NOW = _snapshot(NETWORK)


def test_a_department_that_joins_scopes_its_devices_its_uplink_cores_and_its_endpoints(tmp_path: Path) -> None:
    less = load_network(without_department(INVENTORY, "agri", tmp_path / "less"), "lab")
    found = scope.changed(NETWORK, NOW, _snapshot(less))
    assert found.devices == {"agri-r1", "agri-sw1", "core1", "core2"}
    assert found.endpoints == {"agri-staff", "agri-services", "agri-mgmt"}
    assert not found.zones and not found.internet
    classes = dataplane.flow_classes(NETWORK, (found.endpoints, found.zones))
    assert classes and all({c.src.name, c.dst.name} & found.endpoints for c in classes)
    assert len(classes) < len(dataplane.flow_classes(NETWORK))
    assert "agri-staff" not in str(scope.snapshot(less, {n: "" for n in less.devices}, {n: "" for n in less.devices}))


def test_no_change_is_an_empty_scope_and_no_snapshot_is_everything() -> None:
    assert scope.changed(NETWORK, NOW, NOW).empty()
    everything = scope.changed(NETWORK, NOW, None)
    assert everything.devices == set(NETWORK.devices) and everything.internet
    assert everything.zones == {s.zone for s in NETWORK.segments}


def test_a_changed_policy_row_scopes_every_flow_class_of_its_zone(tmp_path: Path) -> None:
    copy = tmp_path / "inv"
    shutil.copytree(INVENTORY, copy)
    gov = (copy / "governorate.yml").read_text()
    row = "{name: local-admin-to-service, from: local-admin, to: service, action: allow, services: [tcp/443, icmp]}"
    assert row in gov
    (copy / "governorate.yml").write_text(gov.replace(row, row.replace("tcp/443", "tcp/8443")))
    changed = load_network(copy, "lab")
    found = scope.changed(changed, _snapshot(changed), NOW)
    assert found.zones == {"local-admin"}, found.zones
    classes = dataplane.flow_classes(changed, (found.endpoints, found.zones))
    assert any(c.src_zone == "local-admin" and c.dst_zone == "service" and c.port == 8443 for c in classes)
