"""The zone policy rendered as nftables: one table per segment-holding switch, rules in policy order, valid syntax."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from govnet.model import load_network
from govnet.model.derived import Network
from govnet.policy import chain_name, flush_script, held_segments, render_nftables, set_name
from tests.determinism import fingerprints, sha256

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def network() -> Network:
    return load_network(REPO / "inventory" / "karbala", "lab")


def test_only_switches_holding_segments_get_a_policy(network: Network) -> None:
    """... and the Internet edges, whose script is the edge filter and NAT (tests/unit/test_edge.py)."""
    holders = {s.device for s in network.segments} | set(network.internet.devices if network.internet else ())
    for name in network.devices:
        script = render_nftables(network, name)
        assert (script is not None) == (name in holders), name
    assert render_nftables(network, "no-such-device") is None


def test_every_segment_has_its_rules_in_policy_order_then_default_drop(network: Network) -> None:
    for device in {s.device for s in network.segments}:
        script = render_nftables(network, device)
        assert script is not None
        for seg in held_segments(network, device):
            jump = f'iifname "{seg.interface}" oifname != "{seg.interface}" jump {chain_name(seg.interface)}'
            assert jump in script
            body = script.split(f"chain {chain_name(seg.interface)} {{", 1)[1].split("\n\t}", 1)[0]
            lines = [ln.strip() for ln in body.splitlines() if ln.strip() and not ln.strip().startswith("#")]
            assert len(lines) == len(seg.policy) + 1, seg.key
            for entry, line in zip(seg.policy, lines, strict=False):
                assert f"@{set_name(entry.dst_zone)}" in line and f'"{entry.rule}"' in line
                assert line.split(" comment ")[0].endswith("accept" if entry.action == "allow" else "drop")
                if entry.port is not None:
                    assert f"{entry.proto} dport {entry.port}" in line
            assert lines[-1].startswith("counter drop")


def test_zone_sets_hold_the_zone_prefixes(network: Network) -> None:
    script = render_nftables(network, "dc-sw1")
    assert script is not None
    for zone in {e.dst_zone for s in held_segments(network, "dc-sw1") for e in s.policy}:
        block = script.split(f"set {set_name(zone)} {{", 1)[1].split("}", 1)[0]
        for prefix in network.zone_prefixes[zone]:
            assert str(prefix) in block


def test_replies_and_router_traffic_are_not_filtered(network: Network) -> None:
    script = render_nftables(network, "health-sw1")
    assert script is not None
    forward = script.split("chain forward {", 1)[1].split("}", 1)[0]
    assert "policy accept" in forward and "ct state established,related accept" in forward
    # Only forwarded traffic from segment interfaces is judged: no input/output hook (OSPF, BGP, SSH stay open).
    assert "hook input" not in script and "hook output" not in script
    assert not re.search(r'iifname "(eth\d+|mgmt0|lo)"', script)


def test_replacement_is_one_transaction(network: Network) -> None:
    script = render_nftables(network, "diwan-sw1")
    assert script is not None
    head = [ln for ln in script.splitlines() if not ln.startswith("#")][:3]
    assert head == ["table inet govnet {}", "delete table inet govnet", "table inet govnet {"]
    assert flush_script().splitlines() == head[:2]


def test_rendering_is_the_same_whatever_the_hash_seed_and_device_order(network: Network) -> None:
    """Fresh interpreters with other hash seeds, rendering in opposite orders, give this process's rulesets."""
    here = {
        f"lab/{s}.nft": sha256(render_nftables(network, s) or "") for s in sorted({g.device for g in network.segments})
    }
    forward, backward = fingerprints(1), fingerprints(2, "reversed")
    assert here and [k for k in here if not here[k] == forward[k] == backward[k]] == []


def test_nft_accepts_every_ruleset(network: Network, tmp_path: Path) -> None:
    """`nft -c` parses and checks against the kernel without applying (needs CAP_NET_ADMIN)."""
    if os.geteuid() != 0:
        pytest.skip("not root")
    for device in sorted({s.device for s in network.segments}):
        path = tmp_path / f"{device}.nft"
        path.write_text(render_nftables(network, device) or "")
        proc = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{device}: {proc.stderr}"


def test_nft_rejects_a_broken_ruleset(network: Network, tmp_path: Path) -> None:
    """The syntax check above can fail: a mangled rule is refused."""
    if os.geteuid() != 0:
        pytest.skip("not root")
    path = tmp_path / "bad.nft"
    path.write_text((render_nftables(network, "dc-sw1") or "").replace("tcp dport", "tcp dprot", 1))
    proc = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True)
    assert proc.returncode != 0
