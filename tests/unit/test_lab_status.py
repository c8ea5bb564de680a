"""``govnet lab status`` names what the devices run: what ``up`` loaded until a deploy commits, then the deploy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govnet.lab.health import configs_label, deployed_at
from govnet.lab.state import Lab, LabDevice


def _lab(names: list[str], configured: bool = False) -> Lab:
    devices = {n: LabDevice(n, f"gv-{n}", n, "198.19.0.10", "edge") for n in names}
    return Lab("karbala", Path("/x"), devices, {}, {}, Path("/x/kh"), "govnet", "pw", configured, "gv")


def _history(base: Path, instance: str, *events: tuple[str, float]) -> None:
    (base / instance).mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"event": e, "time": t, "user": "govnet"}) for e, t in events]
    (base / instance / "history.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture
def onbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NAPALM_FRR_HELPER_DIR", str(tmp_path))
    monkeypatch.delenv("NAPALM_FRR_HELPER_STATE", raising=False)
    return tmp_path


def test_before_any_deploy_the_label_is_what_up_loaded(onbox: Path) -> None:
    assert configs_label(_lab(["r1", "r2"])) == "bootstrap configs"
    assert configs_label(_lab(["r1"], configured=True)) == "full configs"


def test_after_a_deploy_the_label_says_deployed(onbox: Path) -> None:
    _history(onbox, "r1", ("checkpoint", 100.0), ("arm", 100.0), ("commit", 1764600000.0), ("confirm", 1764600010.0))
    _history(onbox, "r2", ("commit", 1764590000.0))
    assert configs_label(_lab(["r1", "r2"])) == "deployed configs, last commit 2025-12-01 14:40 UTC"


def test_a_partial_deploy_and_a_revert_are_counted_apart(onbox: Path) -> None:
    _history(onbox, "r1", ("commit", 1764600000.0))
    _history(onbox, "r2", ("commit", 1764590000.0), ("revert", 1764590100.0))
    assert deployed_at("r2") is None and deployed_at("r3") is None
    label = configs_label(_lab(["r1", "r2", "r3"]))
    assert label == "deployed configs on 1/3 devices (the others: bootstrap configs), last commit 2025-12-01 14:40 UTC"
