"""Benchmark (root): adding one department to a running Karbala lab, versus rebuilding the lab for it.

- sync: the lab runs Karbala without one department (deployed, verified); the department comes back in the
  inventory; timed from ``govnet lab up`` (which follows the inventory on a running lab) through ``deploy`` to a
  passing ``verify``;
- rebuild: what it took before: ``govnet lab down``, ``lab up``, ``deploy``, ``verify``.

The sync path verifies what the change touched (``deploy --verify``: ``verify --changed`` in the deploy's own
process, so the device stack and the model load once; the scope comes from the diff since the last passing
verify); a full ``verify`` follows it, timed apart (not in the total) and required to pass, so a scope that
missed a failure would show. The rebuild path verifies everything. The ratio of the two totals is printed.
The sync path's deploy connects only to the devices whose render changed and the new ones (the others are in the
deploy's pushed record from the deploy before); the rebuild path starts with no record (``lab down`` empties it).

Goal on a 2-core machine: sync to verified under 8 s. Each command runs through the real command line; verify
starts the stand-in service listeners (``--start-services``), as ``make lab-fast`` does.

    sudo flock /tmp/govnet-lab.lock .venv/bin/python bench/sync_bench.py [--department agri] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab.departments import without_department  # noqa: E402

INVENTORY = REPO / "inventory" / "karbala"
WORK = REPO / "build" / "lab-bench-sync"
GOAL_S = 8.0


def govnet(inventory: Path, *args: str) -> float:
    """Run one govnet command against the benchmark's lab; its wall time in seconds (exit on failure)."""
    return run(inventory, *args)[0]


def run(inventory: Path, *args: str) -> tuple[float, str]:
    """Run one govnet command against the benchmark's lab; its wall time in seconds and its stdout."""
    env = {**os.environ, "GOVNET_LAB_DIR": str(WORK / "lab"), "GOVNET_DEPLOY_DIR": str(WORK / "deploy")}
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "govnet", "--inventory", str(inventory), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    took = time.monotonic() - start
    if proc.returncode != 0:
        tail = proc.stdout[-3000:] + proc.stderr[-3000:]
        sys.exit(f"sync_bench: govnet {' '.join(args)} failed ({proc.returncode}):\n{tail}")
    return took, proc.stdout


def to_verified(inventory: Path, first: tuple[str, ...], scoped: bool = False) -> dict[str, float]:
    """``first`` (lab commands), then deploy and verify; each step's seconds and the total. *scoped*: one
    ``deploy --verify`` (verify --changed in the deploy's own run), its verify's families in verify-changed.json;
    else a ``deploy`` and a whole ``verify``."""
    steps: dict[str, float] = {}
    for i, command in enumerate(first):
        steps[f"{i}:lab {command}"] = govnet(inventory, "lab", command)
    if scoped:
        steps["deploy --verify"], stdout = run(inventory, "deploy", "--verify", "--json")
        (WORK / "verify-changed.json").write_text(json.dumps(json.loads(stdout)["verify"], indent=1) + "\n")
    else:
        steps["deploy"] = govnet(inventory, "deploy")
        steps["verify"] = govnet(inventory, "verify", "--start-services", "--json", str(WORK / "verify.json"))
    return {**{k: round(v, 2) for k, v in steps.items()}, "total": round(sum(steps.values()), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--department", default="agri")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("sync_bench: needs root (the lab)")
    less = without_department(INVENTORY, args.department, WORK / "inventory")
    govnet(INVENTORY, "lab", "down")
    try:
        to_verified(less, ("up",))  # the running lab without the department
        sync = to_verified(INVENTORY, ("up",), scoped=True)  # the department added: lab up follows the inventory
        full_verify = round(govnet(INVENTORY, "verify", "--start-services"), 2)  # the whole lab still passes
        rebuild = to_verified(INVENTORY, ("down", "up"))
    finally:
        govnet(INVENTORY, "lab", "down")
    figures = {
        "department": args.department,
        "sync_to_verified_s": sync["total"],
        "rebuild_to_verified_s": rebuild["total"],
        "ratio": round(rebuild["total"] / sync["total"], 2),
        "full_verify_after_sync_s": full_verify,
        "goal_s": GOAL_S,
        "sync_steps": sync,
        "sync_verify_families_s": json.loads((WORK / "verify-changed.json").read_text())["timings"],
        "rebuild_steps": rebuild,
    }
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    verdict = "met" if sync["total"] < GOAL_S else "NOT met"
    print(
        f"sync_bench: adding {args.department} to the running lab, to verified: {sync['total']:.1f} s "
        f"(goal < {GOAL_S} s: {verdict}); down+up+deploy+verify: {rebuild['total']:.1f} s "
        f"({figures['ratio']:.1f}x); a full verify after the sync: {full_verify:.1f} s"
    )
    return 0  # a missed goal is reported, not a failure: `make bench` runs every benchmark


if __name__ == "__main__":
    raise SystemExit(main())
