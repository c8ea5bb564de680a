"""The diagram marks dual-homed departments from the graph, not from the inventory's `critical` flag."""

from __future__ import annotations

from pathlib import Path

from govnet.model import load_network
from govnet.verify.diagram import build

ROOT = Path(__file__).resolve().parents[2]


def test_babil_dual_homing_comes_from_its_links() -> None:
    dot = build(load_network(ROOT / "inventory" / "babil", "lab")).source
    # Al-Mahawil is not critical but sits on the ring, so it has a second core; Al-Kifl hangs off Al-Hilla alone.
    assert "Al-Mahawil District Administration (dual-homed)" in dot
    assert "Hilla Teaching Hospital (dual-homed)" in dot
    assert "Al-Kifl Sub-district Administration\n" in dot or "Al-Kifl Sub-district Administration\\n" in dot
    assert "Al-Kifl Sub-district Administration (dual-homed)" not in dot


def test_the_internet_side_is_drawn_where_the_inventory_has_one() -> None:
    karbala = load_network(ROOT / "inventory" / "karbala", "lab")
    assert karbala.internet is not None
    dot = build(karbala).source
    for u in karbala.internet.uplinks:
        assert f'"isp_{u.isp}" -- {u.device}' in dot, u
    for p in karbala.internet.published:
        assert f"{p.public} " in dot and p.server in dot
    assert "cluster_internet" not in build(load_network(ROOT / "inventory" / "babil", "lab")).source
