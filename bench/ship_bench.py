"""Benchmark (root): what bringing the FRR driver's on-box helper to a box that lacks it costs at first contact.

A two-router synthetic lab (bootstrap configs); one router is also reached as a stock box
(:func:`govnet.lab.stock.stock_login`: a login that lands in the shell, no helper installed). Timed, each
``--rounds`` times, from ``FRRDriver.open()`` until the helper's first answer (a ``status``):

- ``shipped``: first contact, the login user's cache emptied first (the ~80 kB archive uploaded);
- ``cached``: the next open (the bootstrap finds the archive in the cache, nothing uploaded);
- ``resident``: the lab's own login to the same router, whose resident helper is exactly the driver's.

Reported: median and max wall time per kind, and the controller's CPU seconds per open. The box's side (sshd,
the bootstrap's python3) is not in the controller's CPU figure; wall time includes it.

    sudo .venv/bin/python bench/ship_bench.py [--rounds 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from govnet.lab import engine
from govnet.lab.state import Lab, LabDevice
from govnet.lab.stock import STOCK_PORT, stock_login
from govnet.lab.synthetic import synthetic_spec
from napalm_frr import shipping
from napalm_frr.frr import FRRDriver

REPO = Path(__file__).resolve().parents[1]
STATE = REPO / "build" / "lab-bench-ship"


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_open(lab: Lab, dev: LabDevice, **args: Any) -> tuple[float, float, str]:
    """(wall s, controller CPU s, origin) of one open() and the helper's first answer."""
    driver = FRRDriver(
        dev.mgmt_ip, lab.username, lab.password, optional_args={"known_hosts_file": str(lab.known_hosts), **args}
    )
    wall, used = time.perf_counter(), cpu()
    driver.open()
    driver.has_pending_commit()
    wall, used = time.perf_counter() - wall, cpu() - used
    info = driver.helper_info
    driver.close()
    if info is None:
        raise SystemExit(f"ship_bench: {dev.name}: no helper answered")
    return wall, used, str(info["origin"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("ship_bench: needs root (it builds a lab)", file=sys.stderr)
        return 2
    spec = synthetic_spec(2, prefix="gvs", names="s")
    lab = engine.up(spec, STATE)
    times: dict[str, list[tuple[float, float]]] = {"shipped": [], "cached": [], "resident": []}
    try:
        dev = lab.devices[spec.nodes[0].name]
        cache = Path(pwd.getpwnam(lab.username).pw_dir) / ".cache" / "napalm-frr"
        with stock_login(lab, dev) as known:
            stock = {"port": STOCK_PORT, "known_hosts_file": str(known), "frr_instance": dev.instance}
            for _ in range(args.rounds):
                shutil.rmtree(cache, ignore_errors=True)
                for expected in ("shipped", "cached"):
                    wall, used, origin = one_open(lab, dev, **stock)
                    if origin != expected:
                        raise SystemExit(f"ship_bench: expected a {expected} helper, got {origin}")
                    times[expected].append((wall, used))
                wall, used, origin = one_open(lab, dev)
                if origin != "resident":
                    raise SystemExit(f"ship_bench: expected the resident helper, got {origin}")
                times["resident"].append((wall, used))
    finally:
        shutil.rmtree(Path(pwd.getpwnam(lab.username).pw_dir) / ".cache" / "napalm-frr", ignore_errors=True)
        engine.down(STATE)
    results: dict[str, Any] = {"archive_bytes": len(shipping.archive()), "rounds": args.rounds, "load": os.getloadavg()}
    for kind, runs in times.items():
        results[f"{kind}_open_ms_median"] = round(1000 * statistics.median(w for w, _ in runs), 1)
        results[f"{kind}_open_ms_max"] = round(1000 * max(w for w, _ in runs), 1)
        results[f"{kind}_controller_cpu_ms_median"] = round(1000 * statistics.median(c for _, c in runs), 1)
    results["first_contact_extra_ms"] = round(results["shipped_open_ms_median"] - results["cached_open_ms_median"], 1)
    for key, value in results.items():
        print(f"{key:40} {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
