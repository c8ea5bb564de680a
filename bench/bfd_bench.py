"""Benchmark of a silent link cut with BFD vs OSPF alone (root; wrap in `flock /tmp/govnet-lab.lock`).

Brings the lab up with full configs, waits for convergence, then per run: a department host pings a DC server every
10 ms while the primary link of a dual-homed department is cut silently (nftables drops its packets, carrier up);
the loss window is lost echoes x 10 ms. Same run, same link, with BFD and with BFD off at both ends (`no ip ospf
bfd`), which leaves OSPF's dead timer. Goal: at most 300 ms with BFD. The lab is always taken down at the end.

    sudo flock /tmp/govnet-lab.lock .venv/bin/python bench/bfd_bench.py [--runs 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from govnet.lab import drills, engine  # noqa: E402
from govnet.lab.from_model import load_spec  # noqa: E402
from govnet.lab.health import wait_ospf_full  # noqa: E402
from govnet.lab.nsexec import ping  # noqa: E402
from govnet.verify.expect import dual_homed, primary_core  # noqa: E402

STATE = REPO / "build" / "lab-bfd-bench"
GOAL_S = 0.3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bfd_bench: needs root", file=sys.stderr)
        return 2
    spec = load_spec(REPO / "inventory" / "karbala")
    net = spec.network
    lab = engine.up(spec, STATE, configured=True)
    lab.network = net
    try:
        wait_ospf_full(lab)
        site = dual_homed(net)[0]
        plan = primary_core(net, site)
        assert plan is not None
        link = drills.link_at(lab, plan[0], plan[1])
        host = next(h.name for h in net.hosts if h.site == site)
        server = next(s.name for s in net.servers if s.site != site)
        address = lab.servers[server].address
        if not drills.wait_until(lambda: ping(lab.hosts[host].netns, address), 120, interval=1):
            print(f"bfd_bench: {host} does not reach {server}", file=sys.stderr)
            return 1
        drills.restore(lab, link, server, timeout=60)
        with_bfd, ospf_only = [], []
        for _ in range(args.runs):
            with_bfd.append(drills.loss_window(lab, link, host, server, seconds=3))
            drills.restore(lab, link, server)
            drills.set_bfd(lab, link, on=False)
            drills.wait_until(lambda: not drills.bfd_up(lab, link), 5)
            ospf_only.append(drills.loss_window(lab, link, host, server, seconds=2 * net.ospf_dead + 3))
            drills.set_bfd(lab, link, on=True)
            drills.restore(lab, link, server)
    finally:
        engine.down(STATE)
    load = os.getloadavg()
    result = {
        "link": f"{link.device} {link.interface} ↔ {link.peer} {link.peer_interface}",
        "flow": f"{host} → {server} (ping every 10 ms)",
        "bfd": f"{net.bfd_interval} ms x {net.bfd_multiplier}",
        "ospf": f"hello {net.ospf_hello} s, dead {net.ospf_dead} s",
        "loss_s_with_bfd": with_bfd,
        "loss_s_ospf_only": ospf_only,
        "median_with_bfd": statistics.median(with_bfd),
        "median_ospf_only": statistics.median(ospf_only),
        "goal_with_bfd_s": GOAL_S,
        "load": [round(x, 2) for x in load],
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(f"link cut {result['link']}, {result['flow']}, BFD {result['bfd']}, OSPF {result['ospf']}")
    print(f"  loss with BFD:   median {result['median_with_bfd']:.3f} s  runs {with_bfd}  (goal ≤ {GOAL_S} s)")
    print(f"  loss OSPF alone: median {result['median_ospf_only']:.3f} s  runs {ospf_only}")
    print(f"  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if result["median_with_bfd"] > GOAL_S:  # a figure, not a gate: `make bench` goes on to the next benchmark
        print(f"  goal missed: BFD detects in {net.bfd_interval * net.bfd_multiplier} ms before any reroute")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
