"""The Karbala model: what the inventory promises, and the loader's round trip."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import networkx as nx
import pytest

from govnet.model import Inventory, build, dump_inventory, load_inventory, load_network
from govnet.model.checks import bridges, connected, site_graph

ROOT = Path(__file__).resolve().parents[2]
KARBALA = ROOT / "inventory" / "karbala"


def _nx(graph: dict[str, Counter[str]]) -> nx.Graph:
    """The site graph as networkx sees it: one edge per site pair, its capacity the number of links."""
    out = nx.Graph()
    out.add_nodes_from(graph)
    out.add_edges_from((a, b, {"capacity": n}) for a, nbrs in graph.items() for b, n in nbrs.items())
    return out


@pytest.mark.parametrize("seed", range(40))
def test_validates_graph_answers_agree_with_networkx(seed: int) -> None:
    """Reachability and two link-disjoint paths (max-flow >= 2), on random multigraphs of sites."""
    rng = random.Random(seed)
    nodes = [f"s{i}" for i in range(rng.randint(2, 30))]
    graph: dict[str, Counter[str]] = {n: Counter() for n in nodes}
    for _ in range(rng.randint(0, 2 * len(nodes))):
        a, b = rng.sample(nodes, 2)
        graph[a][b] += 1
        graph[b][a] += 1
    reference = _nx(graph)
    dc = nodes[0]
    reachable = connected(graph, dc)
    assert reachable == nx.node_connected_component(reference, dc)
    dual = connected(graph, dc, bridges(graph))
    for node in sorted(reachable - {dc}):
        assert (node in dual) == (nx.maximum_flow_value(reference, node, dc) >= 2), node


def test_karbala_departments_and_phases() -> None:
    net = build(KARBALA, "lab").network
    departments = {s.name: s for s in net.sites.values() if s.kind == "department"}
    assert len(departments) == 17
    assert {s.name for s in departments.values() if s.phase == 1} == {"diwan", "krbctr", "hindiya", "aintmr", "hurr"}
    assert {s.category for s in departments.values() if s.phase == 2} == {"service", "security"}
    assert all(s.name_ar and s.name_en for s in net.sites.values())
    assert {s.name for s in departments.values() if s.critical} == {"health", "police", "cdef"}


def test_critical_departments_are_dual_homed_to_both_cores() -> None:
    inv, _ = load_inventory(KARBALA)
    graph = _nx(site_graph(inv))
    net = build(KARBALA, "lab").network
    for site in (s for s in net.sites.values() if s.critical):
        assert nx.maximum_flow_value(graph, site.name, "dc") == 2
        edge = net.devices[f"{site.name}-r1"]
        assert {i.peer for i in edge.p2p} >= {"core1", "core2"}


def test_lab_addresses_stay_in_the_lab_range() -> None:
    from ipaddress import IPv4Network

    lab_range = IPv4Network("198.18.0.0/15")
    net = build(KARBALA, "lab").network
    for dev in net.devices.values():
        assert dev.mgmt.ip in lab_range and dev.loopback.ip in lab_range
        assert all(i.address.ip in lab_range for i in dev.interfaces)
    assert all(s.address.ip in lab_range for s in net.servers)
    assert all(h.address.ip in lab_range for h in net.hosts)


def test_every_department_segment_gets_a_host_and_servers_sit_in_their_segment() -> None:
    net = build(KARBALA, "lab").network
    dept_segments = {sg.key for sg in net.segments if net.sites[sg.site].kind == "department"}
    assert {f"{h.site}/{h.segment}" for h in net.hosts} == dept_segments
    for srv in net.servers:
        seg = net.segment(srv.site, srv.segment)
        assert srv.address.ip in seg.prefix and srv.address.ip != seg.gateway.ip
        assert srv.gateway == seg.gateway.ip


def test_bgp_route_reflectors_and_announced_lans() -> None:
    net = build(KARBALA, "lab").network
    cores = {n for n, d in net.devices.items() if d.role == "core"}
    for dev in net.devices.values():
        names = {n.name for n in dev.bgp_neighbors}
        assert names == (set(net.devices) - {dev.name} if dev.name in cores else cores)
    announced = {p for d in net.devices.values() for p in d.bgp_networks}
    assert announced == {sg.prefix for sg in net.segments}


def test_policy_isolates_service_and_security() -> None:
    net = build(KARBALA, "lab").network
    police_staff = net.segment("police", "staff")
    first = next(e for e in police_staff.policy if e.dst_zone == "service")
    assert first.action == "deny"


def test_model_round_trip() -> None:
    inv, _ = load_inventory(KARBALA)
    again = Inventory.model_validate(dump_inventory(inv))
    assert again == inv


def test_validate_json_lists_problems(tmp_path: Path) -> None:
    import json
    import shutil
    import subprocess
    import sys

    inv = tmp_path / "inv"
    shutil.copytree(ROOT / "tests" / "errors" / "_base", inv)
    (inv / "servers.yml").write_text("servers:\n  - {name: dns1}\n")
    result = subprocess.run(
        [sys.executable, "-m", "govnet", "--inventory", str(inv), "validate", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    problems = json.loads(result.stdout)["problems"]
    assert {p["where"] for p in problems} >= {"servers[0].role", "servers[0].vcpu"}
    assert all(p["file"].endswith("servers.yml") and p["line"] == 2 for p in problems)


def test_zone_roles_are_declared_not_found_by_name(tmp_path: Path) -> None:
    """Renaming the department management zone keeps every department's mgmt segment in it."""
    import shutil

    inv = tmp_path / "karbala"
    shutil.copytree(Path(__file__).resolve().parents[2] / "inventory" / "karbala", inv)
    gov = inv / "governorate.yml"
    text = gov.read_text()
    renamed = (
        text.replace("{name: management, role:", "{name: dept-mgmt, role:")
        .replace("from: management,", "from: dept-mgmt,")
        .replace("to: management,", "to: dept-mgmt,")
        .replace("        management: ", "        dept-mgmt: ")
    )
    assert renamed.count("dept-mgmt") >= 4
    gov.write_text(renamed)
    network = load_network(inv, "lab")
    mgmt = [s for s in network.segments if s.kind == "mgmt" and network.sites[s.site].kind == "department"]
    assert mgmt and {s.zone for s in mgmt} == {"dept-mgmt"}
    original = load_network(Path(__file__).resolve().parents[2] / "inventory" / "karbala", "lab")
    assert [s.prefix for s in mgmt] == [
        s.prefix for s in original.segments if s.kind == "mgmt" and original.sites[s.site].kind == "department"
    ]
