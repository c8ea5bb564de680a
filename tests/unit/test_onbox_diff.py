"""The on-box helper computes config diffs with frr-reload's own functions, in process.

The reference is ``frr-reload.py --test`` run as a program (napalm_frr.config_diff): for every lab
device, bootstrap → full, full → bootstrap, full → full and hand-made edits, both must list exactly
the same commands. The helper skips ``vtysh -m`` (marking) because govnet's configs are already in the
marked form: ``vtysh -m`` must leave every rendered config as it is.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from govnet.model import load_network
from govnet.model.derived import Network
from govnet.render import render_bootstrap, render_device
from napalm_frr import config_diff
from napalm_frr.helper.box import Box
from napalm_frr.helper.frr import FRR

REPO = Path(__file__).resolve().parents[2]
NETWORK = load_network(REPO / "inventory" / "karbala", "lab")
DEVICES = sorted(NETWORK.devices)


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Box:
    assert config_diff.frr_reload_available(), "frr-reload.py and vtysh missing: install FRR with scripts/bootstrap"
    return Box("unit", tmp_path_factory.mktemp("helper"))


def edits(network: Network, name: str) -> list[tuple[str, str]]:
    """(running, intended) pairs for one device."""
    full, boot = render_device(network, name), render_bootstrap(network, name)
    pairs = [(boot, full), (full, boot), (full, full)]
    if " ip ospf cost " in full:
        pairs.append((full, full.replace(" ip ospf cost ", " ip ospf cost 1", 1)))
    if " neighbor " in full:
        pairs.append((full, "\n".join(line for line in full.splitlines() if "description" not in line) + "\n"))
    return pairs


@pytest.mark.parametrize("device", DEVICES)
def test_in_process_diff_equals_frr_reload_program(box: Box, device: str) -> None:
    for running, intended in edits(NETWORK, device):
        assert FRR().diff_config(box, running, intended) == config_diff.diff(running, intended)


def test_diff_sees_a_change_and_no_change(box: Box) -> None:
    full = render_device(NETWORK, "core1")
    assert FRR().diff_config(box, full, full) == ""
    changed = FRR().diff_config(box, full, full.replace(" ip ospf cost 1\n", " ip ospf cost 7\n", 1))
    assert "Lines To Delete" in changed and " no ip ospf cost 1" in changed
    assert "Lines To Add" in changed and " ip ospf cost 7" in changed


def test_compiled_frr_reload_is_cached(box: Box) -> None:
    FRR().reload_lib(box)
    cache = box.state / "frr-reload.code"
    assert cache.exists()
    stamp = cache.stat().st_mtime_ns
    assert hasattr(FRR().reload_lib(box), "compare_context_objects")
    assert cache.stat().st_mtime_ns == stamp, "a second load must reuse the cached code"


@pytest.mark.parametrize("device", ["core1", "dc-sw1", "health-r1", "health-sw1"])
def test_rendered_configs_are_already_marked(device: str, tmp_path: Path) -> None:
    """What lets the helper skip ``vtysh -m``: marking changes nothing in a rendered config."""
    path = tmp_path / f"{device}.conf"
    text = render_device(NETWORK, device)
    path.write_text(text)
    vtysh = shutil.which("vtysh") or "/usr/bin/vtysh"
    marked = subprocess.run([vtysh, "-m", "-f", str(path)], capture_output=True, text=True, check=True, timeout=60)
    assert [line for line in marked.stdout.splitlines() if line.strip()] == [
        line for line in text.splitlines() if line.strip()
    ]
