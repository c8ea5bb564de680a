"""Every device's rendered config in both environments equals its golden file (regenerate with `make golden`).

Karbala's files are in `<env>/`, every other shipped governorate's in `<governorate>/<env>/`.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from govnet.model import load_network
from govnet.render import render_device
from tests.determinism import fingerprints, sha256

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
GOVERNORATES = ("karbala", "babil")
ENVS = ("lab", "production")
NETWORKS = {f"{gov}/{env}": load_network(ROOT / "inventory" / gov, env) for gov in GOVERNORATES for env in ENVS}
CASES = [(key, name) for key, net in NETWORKS.items() for name in net.devices]


def golden_dir(key: str) -> Path:
    """`karbala/lab` → tests/golden/lab, `babil/lab` → tests/golden/babil/lab."""
    gov, env = key.split("/")
    return HERE / env if gov == "karbala" else HERE / gov / env


def test_every_device_has_a_golden_file() -> None:
    for env, net in NETWORKS.items():
        files = {p.stem for p in golden_dir(env).glob("*.cfg")}
        assert files == set(net.devices), f"{env}: golden files and devices differ; run `make golden` after review"


@pytest.mark.parametrize(("env", "device"), CASES, ids=[f"{e}-{d}" for e, d in CASES])
def test_golden(env: str, device: str) -> None:
    expected = (golden_dir(env) / f"{device}.cfg").read_text()
    actual = render_device(NETWORKS[env], device)
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            str((golden_dir(env) / f"{device}.cfg").relative_to(ROOT)),
            "rendered",
        )
        pytest.fail("rendered config differs from golden (run `make golden` if intended):\n" + "".join(diff))


def test_rendering_gives_the_same_bytes_whatever_the_hash_seed_and_device_order() -> None:
    """Fresh interpreters with other hash seeds, rendering in opposite orders, give this process's bytes."""
    karbala = {key.split("/")[1]: net for key, net in NETWORKS.items() if key.startswith("karbala/")}
    here = {f"{env}/{name}": sha256(render_device(net, name)) for env, net in karbala.items() for name in net.devices}
    forward, backward = fingerprints(1), fingerprints(2, "reversed")
    devices = {k: v for k, v in forward.items() if not k.endswith(".nft")}
    assert devices.keys() == here.keys()
    assert [k for k in here if not here[k] == devices[k] == backward[k]] == []
