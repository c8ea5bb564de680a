"""Benchmark of `govnet verify` on the Karbala lab (root; wrap in `flock /tmp/govnet-lab.lock`).

Brings the lab up with full configs, applies the nftables zone policy, starts the DC service listeners, waits for
convergence, then measures: full verify time (every family but failover), reachability pairs per second (the ICMP
matrix alone) and failover seconds per dual-homed department (goal: below the OSPF dead interval + 1 s).
The lab is always taken down at the end.

    sudo flock /tmp/govnet-lab.lock .venv/bin/python bench/verify_bench.py [--runs 3] [--json FILE]
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

from govnet.lab import engine  # noqa: E402
from govnet.lab.from_model import load_spec  # noqa: E402
from govnet.lab.health import wait_ospf_full  # noqa: E402
from govnet.policy import render_nftables  # noqa: E402
from govnet.verify import dataplane, services  # noqa: E402
from govnet.verify.run import verify, where_of  # noqa: E402

STATE = REPO / "build" / "lab-verify-bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("verify_bench: needs root", file=sys.stderr)
        return 2
    spec = load_spec(REPO / "inventory" / "karbala")
    net = spec.network
    lab = engine.up(spec, STATE, configured=True)
    try:
        for name in net.devices:
            script = render_nftables(net, name)
            if script:
                subprocess.run(
                    ["ip", "netns", "exec", lab.devices[name].netns, "nft", "-f", "-"],
                    input=script,
                    text=True,
                    check=True,
                )
        services.start(net, {k: (v.netns, v.address) for k, v in lab.servers.items()})
        wait_ospf_full(lab)
        deadline = time.monotonic() + 120
        while not verify(net, lab, only={"reachability"}).ok and time.monotonic() < deadline:
            time.sleep(1)
        runs = [verify(net, lab) for _ in range(args.runs)]
        t = time.monotonic()
        matrix, _ = dataplane.reachability(net, where_of(lab))
        pairs_s = len(matrix.cells) / (time.monotonic() - t)
        fo = verify(net, lab, only={"failover"})
        result = {
            "full_verify_seconds": [round(o.seconds, 2) for o in runs],
            "full_verify_ok": [o.ok for o in runs],
            "checks": len(runs[-1].checks),
            "timings_last_run": {k: round(v, 2) for k, v in runs[-1].timings.items()},
            "reachability_pairs": len(matrix.cells),
            "reachability_pairs_per_second": round(pairs_s, 1),
            "failover": {c.name.split(":")[0]: c.data for c in fo.checks},
            "ospf_dead_interval": net.ospf_dead,
            "cores": os.cpu_count(),
        }
    finally:
        engine.down(STATE)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
