"""Render every config in a fresh interpreter, with a chosen hash seed and device order, and fingerprint the bytes.

Rendering a device twice in one process compares a function with itself: a set iterated in hash order, or state
one render leaves for the next, gives the same bytes both times. Two processes with different ``PYTHONHASHSEED``
rendering the devices in opposite orders do not.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = """
import hashlib, json, sys
from govnet.model import load_network
from govnet.policy import render_nftables
from govnet.render import render_device

out = {}
for env in ("lab", "production"):
    net = load_network(sys.argv[1], env)
    names = list(net.devices)
    if sys.argv[2] == "reversed":
        names.reverse()
    for name in names:
        out[f"{env}/{name}"] = hashlib.sha256(render_device(net, name).encode()).hexdigest()
        policy = render_nftables(net, name)
        if policy is not None:
            out[f"{env}/{name}.nft"] = hashlib.sha256(policy.encode()).hexdigest()
print(json.dumps(out))
"""


@cache
def fingerprints(seed: int, order: str = "forward") -> dict[str, str]:
    """``env/device`` (and ``env/device.nft``) → sha256 of what a fresh interpreter renders."""
    env = {**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": str(ROOT)}
    inventory = str(ROOT / "inventory" / "karbala")
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, inventory, order], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, str] = json.loads(proc.stdout)
    return result


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
