"""The lab as the oracle: verify's measured segmentation and failover results against the analysis's predictions.

The measured side here is what verify records (govnet.verify.result.Check with its data), built for the flow
classes verify itself probes; the lab run of the same comparison is in tests/lab (verify with its oracle checks).
"""

from __future__ import annotations

from pathlib import Path

from govnet.model import load_network
from govnet.verify.dataplane import flow_classes
from govnet.verify.expect import judge
from govnet.verify.oracle import cross_check
from govnet.verify.probes import ANSWERED, SILENT
from govnet.verify.result import Check

ROOT = Path(__file__).resolve().parents[2]
NET = load_network(ROOT / "inventory" / "karbala", "lab")
WHERE = {h.name: (f"ns-{h.name}", str(h.address.ip)) for h in NET.hosts}
WHERE |= {s.name: (f"ns-{s.name}", str(s.address.ip)) for s in NET.servers}


def measured(flip: str | None = None) -> list[Check]:
    """Segmentation results as a lab enforcing the policy reports them; *flip*: one flow label measured the
    other way."""
    out = []
    for c in flow_classes(NET):
        allowed = judge(NET, c.src, c.dst, c.proto, c.port).allowed
        passed = allowed != (c.label == flip)
        data = {"src": c.src.name, "dst": c.dst.name, "proto": c.proto, "port": c.port}
        out.append(
            Check("segmentation", c.label, passed == allowed, "", {**data, "result": ANSWERED if passed else SILENT})
        )
    return out


def test_a_lab_that_enforces_the_policy_agrees_with_the_analysis() -> None:
    oracle = cross_check(NET, measured(), WHERE)
    assert len(oracle) == len(flow_classes(NET)) > 50
    assert all(c.ok for c in oracle), [(c.name, c.detail) for c in oracle if not c.ok][:5]


def test_a_disagreement_names_both_sides() -> None:
    denied = next(c for c in flow_classes(NET) if not judge(NET, c.src, c.dst, c.proto, c.port).allowed)
    oracle = cross_check(NET, measured(flip=denied.label), WHERE)
    bad = [c for c in oracle if not c.ok]
    assert len(bad) == 1
    assert bad[0].detail.startswith("lab: passes; analysis: blocked (")


def test_failover_drill_against_the_n1_prediction() -> None:
    drill = Check(
        "failover",
        "health: cut health-r1 eth1 (to core1), reach the DC via core2",
        True,
        "1.10 s to core2",
        {"edge": "health-r1", "interface": "eth1", "primary": "core1", "backup": "core2"},
    )
    wrong = Check(
        "failover",
        "health: cut health-r1 eth2 (to core2), reach the DC via core1",
        True,
        "",
        {"edge": "health-r1", "interface": "eth2", "primary": "core2", "backup": "core1"},
    )
    good, bad = cross_check(NET, [drill, wrong], WHERE)
    assert good.ok and good.data["analysis"] == "via health-sw1 > health-r1 > core2 > dc-sw1"
    # cutting the backup link changes nothing in the prediction: the lab's "rerouted via core1" disagrees
    assert not bad.ok and bad.detail == "lab: via core1; analysis: path unchanged"
