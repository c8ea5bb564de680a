"""Property tests of the loader and model (hypothesis): any inventory the schema allows loads, and any damage to a
valid one is answered with `file:line` problems, never with another exception.

1. Generated topologies: a data centre with one or two cores, departments with one or two edge routers, each
   uplinked to a core or to an earlier department's router (sub-districts behind districts), sometimes over two
   parallel links, rings between departments. They validate, derive, and verify's graph expectations exist for
   every department.
2. Mutations of tests/errors/_base (lines deleted, duplicated, re-indented, values replaced by hostile scalars,
   truncated files): `build` either succeeds or raises InventoryError whose every problem names a file of the
   inventory and a line inside it. The CLI turns exactly that into exit 2 (tests/errors checks the CLI side).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govnet.model import InventoryError, build
from govnet.verify.expect import dual_homed, primary_core

BASE = Path(__file__).resolve().parents[1] / "errors" / "_base"
FILES = ("governorate.yml", "sites.yml", "links.yml", "servers.yml")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------------------- generated inventories


@st.composite
def topologies(draw: st.DrawFn) -> dict[str, Any]:
    """Sites, links and phases of a random but valid governorate (the base governorate.yml gives zones and pools)."""
    ports: dict[str, int] = {}

    def port(device: str) -> str:
        ports[device] = ports.get(device, 0) + 1
        return f"eth{ports[device]}"

    links: list[dict[str, Any]] = []

    def link(a: str, b: str, cost: int = 10) -> None:
        links.append(
            {
                "a": {"device": a, "interface": port(a)},
                "b": {"device": b, "interface": port(b)},
                "medium": "fibre",
                "bandwidth_mbps": 1000,
                "ospf_cost": cost,
            }
        )

    cores = [f"core{i}" for i in range(1, draw(st.integers(1, 2)) + 1)]
    if len(cores) == 2:
        link("core1", "core2", 1)
    for core in cores:
        link(core, "dc-sw1", 1)
    dc_devices = [{"name": c, "role": "core"} for c in cores] + [{"name": "dc-sw1", "role": "dc_switch"}]
    sites: list[dict[str, Any]] = [
        {
            "name": "dc",
            "kind": "datacentre",
            "category": "datacentre",
            "name_en": "DC",
            "name_ar": "م",
            "zone": "dc-infra",
            "devices": dc_devices,
            "segments": [{"name": "infra", "kind": "infra", "vlan": 140, "hosts": 20}],
        }
    ]
    routers = list(cores)  # what a new department may hang off
    for i in range(draw(st.integers(1, 7))):
        name = f"d{i}"
        edges = [f"{name}-r{j}" for j in range(1, draw(st.integers(1, 2)) + 1)]
        uplinks = []
        for edge in edges:
            target = draw(st.sampled_from(routers))
            uplinks.append(target)
            link(edge, target, draw(st.integers(1, 100)))
            if draw(st.booleans()) and draw(st.booleans()):  # parallel links, now and then
                link(edge, target, draw(st.integers(1, 100)))
        if i and draw(st.booleans()):  # a ring link to an earlier department
            link(edges[-1], draw(st.sampled_from(routers[len(cores) :])), 50)
        access = f"{name}-sw1"
        for edge in edges:
            link(edge, access, 1)
        category = draw(st.sampled_from(["service", "security"]))
        segments = [{"name": "staff", "kind": "staff", "vlan": 10, "hosts": draw(st.integers(1, 100))}]
        if draw(st.booleans()):
            segments.append({"name": "mgmt", "kind": "mgmt", "vlan": 99, "hosts": 10})
        sites.append(
            {
                "name": name,
                "kind": "department",
                "category": category,
                "name_en": name.upper(),
                "name_ar": "د",
                "zone": category,
                # two edge routers straight onto two different cores: two link-disjoint paths for certain
                "critical": len(edges) == 2 and set(uplinks) == {"core1", "core2"},
                "devices": [{"name": e, "role": "edge"} for e in edges] + [{"name": access, "role": "access"}],
                "segments": segments,
            }
        )
        routers += edges
    for site in sites:
        for dev in site["devices"]:
            dev["interfaces"] = [f"eth{n}" for n in range(1, ports[dev["name"]] + 1)]
    names = [s["name"] for s in sites]
    cut = draw(st.integers(1, len(names)))
    phases = [{"id": 1, "name": "First", "sites": names[:cut]}]
    if cut < len(names):
        phases.append({"id": 2, "name": "Second", "sites": names[cut:]})
    return {"sites": sites, "links": links, "phases": phases}


def write_generated(directory: Path, topo: dict[str, Any]) -> None:
    gov = yaml.safe_load((BASE / "governorate.yml").read_text())
    gov["phases"] = topo["phases"]
    (directory / "governorate.yml").write_text(yaml.safe_dump(gov, allow_unicode=True, sort_keys=False))
    (directory / "sites.yml").write_text(yaml.safe_dump({"sites": topo["sites"]}, allow_unicode=True))
    (directory / "links.yml").write_text(yaml.safe_dump({"links": topo["links"]}))
    (directory / "servers.yml").write_text((BASE / "servers.yml").read_text())


@SETTINGS
@given(topologies())
def test_generated_inventories_load_validate_and_have_graph_expectations(topo: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write_generated(Path(tmp), topo)
        try:
            network = build(Path(tmp), "lab").network
        except InventoryError as exc:
            raise AssertionError(f"a valid inventory was refused:\n{exc}") from None
    assert set(network.devices) == {d["name"] for s in topo["sites"] for d in s["devices"]}
    assert len(network.links) == len(topo["links"])
    departments = [s["name"] for s in topo["sites"] if s["kind"] == "department"]
    assert all(primary_core(network, site) is not None for site in departments)
    # Two edge routers on two cores, each with only its uplink and its access link: cutting the leaving link moves
    # the traffic to the other core. (With a parallel twin of that link, or a ring or a spoke through another
    # department, the cheapest way round may reach the same core again, and the drill, which cuts one link and
    # follows OSPF's choice, expects exactly that.)
    degree = Counter(end["device"] for lk in topo["links"] for end in (lk["a"], lk["b"]))
    plain = {
        s["name"]
        for s in topo["sites"]
        if s.get("critical") and all(degree[d["name"]] == 2 for d in s["devices"] if d["role"] == "edge")
    }
    assert plain <= set(dual_homed(network))


# ------------------------------------------------------------------------------------------- mutated inventories

HOSTILE = [
    "", "~", "-1", "0", "99999", "4294967296", "yes", "0755", "1e9", "[", "{", "]", "}", ":", "- x", "&a", "*a",
    "<<: *nope", "!!python/object:os.system", "eth0", "eth99999", "tcp/70000", "198.18.0.300/24", "10.0.0.0/33",
    "x" * 40, "'unterminated", "\"", "\t", "كربلاء", "null", ".nan", "[1, 2]", "{a: 1}", "<<<<<<< HEAD",
]  # fmt: skip


@st.composite
def mutations(draw: st.DrawFn) -> dict[str, str]:
    """The base inventory's files with one to three random edits."""
    texts = {name: (BASE / name).read_text() for name in FILES}
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(FILES))
        lines = texts[name].splitlines()
        if not lines:
            continue
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "indent", "dedent", "value", "insert", "truncate"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][2:] if lines[i].startswith("  ") else lines[i]
        elif op == "value":
            token = draw(st.sampled_from(HOSTILE) | st.text(max_size=12))
            key, sep, _ = lines[i].partition(": ")
            lines[i] = f"{key}: {token}" if sep else f"{lines[i]} {token}"
        elif op == "insert":
            col = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:col] + draw(st.sampled_from(HOSTILE)) + lines[i][col:]
        else:
            lines = lines[:i]
        texts[name] = "\n".join(lines) + "\n"
    return texts


@SETTINGS
@given(mutations())
def test_mutated_inventories_give_file_line_problems_never_an_exception(texts: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for name, text in texts.items():
            (directory / name).write_text(text)
        try:
            build(directory, "lab")
        except InventoryError as exc:
            assert exc.errors, "InventoryError without a problem"
            for problem in exc.errors:
                path = Path(problem.file)
                assert path.parent == directory and path.name in texts, f"{problem}: not a file of the inventory"
                assert 1 <= problem.line <= len(texts[path.name].splitlines()) + 1, f"{problem}: line outside file"
                assert problem.what, f"{problem}: no message"


def test_a_file_only_the_fast_parser_accepts_is_reported_at_its_line(tmp_path: Path) -> None:
    """Found by the mutation test: yaml-rs reads `:  - …` as a key null, PyYAML (the line marks) refuses it."""
    for name in FILES:
        (tmp_path / name).write_text((BASE / name).read_text())
    servers = (BASE / "servers.yml").read_text().replace("\n  - ", "\n:  - ", 1)
    (tmp_path / "servers.yml").write_text(servers)
    try:
        build(tmp_path, "lab")
    except InventoryError as exc:
        assert [(Path(p.file).name, p.line, p.where) for p in exc.errors] == [("servers.yml", 2, "file")]
        assert exc.errors[0].what.startswith("invalid YAML: ")
    else:
        raise AssertionError("accepted")
