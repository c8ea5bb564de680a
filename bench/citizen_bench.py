"""Benchmark of the citizen's path through the Internet edge (root; wrap in `flock /tmp/govnet-lab.lock`).

Measures, in one run, from the citizen host on the lab's emulated Internet:
- a citizen's request through the edge: p50 and p99 over --requests requests. With provisioned servers (a lab
  from `make lab`, `--lab-dir build/lab`) each request is a service request filed over HTTPS through the portal's
  public address (TLS validated, written to the primary); without them, a TCP exchange with the portal's stand-in
  listener through the same static NAT;
- the ISP failover drill: each uplink cut silently under the request loop; seconds without service, requests
  failed, acknowledged requests lost (with provisioned servers, every acknowledged reference is looked up in the
  database). Goal: under 3 s, none lost.

By default it builds its own lab (build/lab-citizen-bench: bootstrap, deploy, stand-in listeners) and takes it
down at the end; `--lab-dir DIR` uses a running lab (nothing is built or removed).

    sudo flock /tmp/govnet-lab.lock .venv/bin/python bench/citizen_bench.py [--lab-dir build/lab] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from govnet.lab.state import Lab  # noqa: E402
from govnet.model import load_network  # noqa: E402
from govnet.verify import internet  # noqa: E402
from govnet.verify.run import real_servers, where_of  # noqa: E402

INVENTORY = REPO / "inventory" / "karbala"
STATE = REPO / "build" / "lab-citizen-bench"
GOAL_S = 3.0


def govnet(state_dir: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GOVNET_LAB_DIR": str(state_dir),
        "GOVNET_DEPLOY_DIR": str(state_dir.parent / "citizen-deploy"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "govnet", "--inventory", str(INVENTORY), *args],
        capture_output=True, text=True, env=env, cwd=REPO, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"citizen_bench: govnet {' '.join(args)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def requests(out: internet.Outside, ca: Path | None, count: int) -> dict[str, Any]:
    address = internet.public_portal(out)[0]
    times = []
    for i in range(count):
        start = time.monotonic()
        if ca is not None:
            internet.file_request(out.citizen[0], address, out.portal_name, ca, f"bench-{i}")
        elif not internet.tcp_banner(out.citizen[0], address, 443):
            raise SystemExit(f"citizen_bench: no answer from {address}:443")
        times.append((time.monotonic() - start) * 1000)
    return {
        "kind": "service requests over HTTPS" if ca is not None else "TCP exchanges (stand-in listener)",
        "count": count,
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(percentile(times, 0.99), 2),
    }


def run(state_dir: Path, count: int) -> dict[str, Any]:
    net = load_network(INVENTORY, "lab")
    lab = Lab.load(state_dir, net)
    if lab is None:
        raise SystemExit(f"citizen_bench: no lab up in {state_dir}")
    out = internet.outside_of(net, lab, where_of(lab), real_servers(lab))
    if out is None:
        raise SystemExit("citizen_bench: the lab has no emulated Internet")
    ca = None
    if out.real:
        portal = next(p.server for p in net.internet.published if "portal" in p.dns)  # type: ignore[union-attr]
        ca = internet.portal_certificate(out, portal)
    result: dict[str, Any] = {"requests": requests(out, ca, count), "failover": {}}
    for check in internet.isp_failover(out, ca):
        result["failover"][check.data.get("isp", check.name)] = {"ok": check.ok, "detail": check.detail, **check.data}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab-dir", type=Path, help="use this running lab (built and kept by someone else)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("citizen_bench: needs root (it builds a lab)", file=sys.stderr)
        return 2
    state_dir = args.lab_dir or STATE
    built = args.lab_dir is None
    if built:
        govnet(state_dir, "lab", "up")
    try:
        if built:
            govnet(state_dir, "deploy")
            govnet(state_dir, "verify", "--start-services")
        result = run(state_dir.absolute(), args.requests)
    finally:
        if built:
            govnet(state_dir, "lab", "down")
    req = result["requests"]
    print(
        f"citizen request through the edge ({req['kind']}, {req['count']}): "
        f"p50 {req['p50_ms']} ms, p99 {req['p99_ms']} ms"
    )
    for isp, d in result["failover"].items():
        met = "met" if d.get("seconds") is not None and d["seconds"] < GOAL_S and not d.get("lost") else "MISSED"
        print(
            f"ISP failover, {isp} cut: {d.get('seconds')} s without service, {d.get('failed')} of {d.get('requests')} "
            f"failed, {d.get('lost')} acknowledged lost (goal < {GOAL_S:.0f} s, none lost: {met})"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
