"""What ``govnet lab up`` on a running lab changes: the comparison of recorded and wanted lab objects."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Network
from pathlib import Path

from govnet.lab.from_model import load_spec
from govnet.lab.sync import changes
from govnet.lab.synthetic import synthetic_spec
from govnet.lab.topology import lab_objects
from tests.lab.departments import without_department

REPO = Path(__file__).resolve().parents[2]


def test_same_spec_changes_nothing() -> None:
    spec = synthetic_spec(4, prefix="gvu", names="u")
    ch = changes(lab_objects(spec), lab_objects(spec))
    assert ch.empty() and ch.summary() == "no change"


def test_a_department_leaves_and_comes_back_and_nothing_else_moves(tmp_path: Path) -> None:
    full = load_spec(REPO / "inventory" / "karbala")
    less = load_spec(without_department(REPO / "inventory" / "karbala", "agri", tmp_path / "inv"))
    gone = changes(lab_objects(full), lab_objects(less))
    assert gone.gone == {
        "devices": {"agri-r1", "agri-sw1"},
        "links": {"agri-r1:eth1--core1:eth9", "agri-r1:eth2--agri-sw1:eth1"},
        "segments": {"agri-sw1:vlan10", "agri-sw1:vlan20", "agri-sw1:vlan99"},
        "stubs": set(),
        "endpoints": {"gvh-agri-staff", "gvh-agri-services", "gvh-agri-mgmt"},
    }
    assert not any(gone.new.values())
    back = changes(lab_objects(less), lab_objects(full))
    assert back.new == gone.gone and not any(back.gone.values())
    assert back.summary() == "+2 devices +2 links +3 segments +3 endpoints"


def test_a_changed_device_takes_its_links_segments_and_endpoints_along() -> None:
    spec = synthetic_spec(4, prefix="gvu", names="u")
    moved = dataclasses.replace(
        spec,
        nodes=tuple(dataclasses.replace(n, role="edge") if n.name == "u-r02" else n for n in spec.nodes),
    )
    ch = changes(lab_objects(spec), lab_objects(moved))
    assert ch.gone["devices"] == ch.new["devices"] == {"u-r02"}
    touching = {lk.name for lk in spec.links if "u-r02" in (lk.a.node, lk.b.node)}
    assert touching and ch.gone["links"] == ch.new["links"] == touching
    on_it = {s.key for s in spec.segments if s.node == "u-r02"}
    assert ch.gone["segments"] == on_it
    assert ch.gone["endpoints"] == {spec.endpoint_netns(e) for e in spec.endpoints if e.segment in on_it}


def test_a_segment_losing_its_last_endpoint_gets_a_stub() -> None:
    spec = synthetic_spec(3, prefix="gvu", names="u", mgmt=IPv4Network("198.18.240.0/24"))
    dropped = spec.endpoints[0]
    less = dataclasses.replace(spec, endpoints=spec.endpoints[1:])
    ch = changes(lab_objects(spec), lab_objects(less))
    assert ch.gone["endpoints"] == {spec.endpoint_netns(dropped)}
    assert ch.new["stubs"] == {dropped.segment} and not ch.gone["segments"]
    assert changes(lab_objects(less), lab_objects(spec)).gone["stubs"] == {dropped.segment}
