"""govnet impact between a committed revision and a working tree, in a scratch git repository holding a copy of
the Karbala inventory and the templates."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from govnet.analyze.impact import impact, markdown
from govnet.cli.analyze import BadInput, impact_command

ROOT = Path(__file__).resolve().parents[2]


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "inventory" / "karbala", tmp_path / "inventory" / "karbala")
    shutil.copytree(ROOT / "network_templates", tmp_path / "network_templates")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) >= 1, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def test_no_change_no_impact(repo: Path) -> None:
    i = impact(repo / "inventory" / "karbala", "lab", "HEAD")
    assert (i.diffs, i.moved, i.verdicts, i.paths, i.added, i.removed) == ({}, [], [], [], [], [])


def test_cost_change_moves_a_path_and_a_policy_change_moves_verdicts(repo: Path) -> None:
    inv = repo / "inventory" / "karbala"
    # health's primary uplink (core1, cost 10) becomes dearer than its microwave link to core2 (cost 50)
    edit(
        inv / "links.yml",
        "b: {device: health-r1, interface: eth1}, medium: fibre, bandwidth_mbps: 1000, ospf_cost: 10}",
        "b: {device: health-r1, interface: eth1}, medium: fibre, bandwidth_mbps: 1000, ospf_cost: 90}",
    )
    i = impact(inv, "lab", "HEAD")
    assert "core1" in i.diffs and "health-r1" in i.diffs
    assert any(line.startswith("+ ip ospf cost 90") for line in i.diffs["health-r1"].splitlines())
    assert [(s, b) for s, _, b in i.paths] == [("health", ["health-sw1", "health-r1", "core2", "dc-sw1"])]
    assert i.moved == [] and i.verdicts == []
    md = markdown(i)
    assert "| sites whose path to the DC changes | 1 |" in md and "```diff" in md


def test_policy_change_changes_verdicts_on_both_platforms(repo: Path) -> None:
    inv = repo / "inventory" / "karbala"
    edit(
        inv / "governorate.yml",
        "{name: service-security-isolation, from: service, to: security, action: deny}",
        "{name: service-security-isolation, from: service, to: security, action: allow}",
    )
    for env in ("lab", "production"):
        i = impact(inv, env, "HEAD")
        changed = [(p, a, b) for p, a, b in i.verdicts if p.startswith("service -> security any")]
        assert changed and all((a, b) == ("deny", "allow") for _, a, b in changed), env
        assert i.moved == [] and i.paths == []


def test_a_moved_address_is_reported(repo: Path) -> None:
    lock = repo / "inventory" / "karbala" / "ipam" / "lab.lock.yml"
    edit(lock, "loopback/health-sw1: 198.18.0.15/32", "loopback/health-sw1: 198.18.0.250/32")
    i = impact(repo / "inventory" / "karbala", "lab", "HEAD")
    assert ("health-sw1 lo", "198.18.0.15/32", "198.18.0.250/32") in i.moved


def test_bad_revision_is_one_line(repo: Path) -> None:
    with pytest.raises(BadInput, match=r"^impact: cannot read inventory/karbala and network_templates at 'nope': "):
        impact_command(repo / "inventory" / "karbala", "lab", "nope")
