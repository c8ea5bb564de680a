"""Benchmark of the lab (root): how long ``govnet lab up``/``down`` take and how much memory a lab uses.

Measures, each on a clean machine state:
- Karbala: ``govnet lab up`` (bootstrap configs) and ``govnet lab down``, via the real command line;
- Karbala: ``govnet lab up --configured`` until every OSPF adjacency is Full and every department
  staff PC pings every DC server the policy lets it reach (management-zone hosts reported apart);
- synthetic 80 routers: up (bootstrap), up with full configs until OSPF is Full and every host
  reaches the route reflector's host and back, and down;
- peak memory: the largest sum of RSS over all processes in the lab's namespaces, sampled during
  the configured runs.

Goals on a 2-core machine: Karbala configured and converged ≤ 20 s, 80 routers ≤ 45 s, down ≤ 10 s.

    sudo .venv/bin/python bench/lab_bench.py [--routers 80] [--json FILE] [--skip-karbala] [--skip-synthetic]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from govnet.lab import engine
from govnet.lab.health import ping_pairs, wait_ospf_full, wait_reachable
from govnet.lab.state import Lab
from govnet.lab.synthetic import synthetic_spec
from govnet.lab.topology import LabSpec

REPO = Path(__file__).resolve().parents[1]
STATE = REPO / "build" / "lab-bench"
GOALS = {"karbala_configured_converged_s": 20.0, "synthetic_configured_converged_s": 45.0, "down_s": 10.0}


class RssSampler:
    """Samples the summed RSS of every process in a set of namespaces until stopped; keeps the peak."""

    def __init__(self, namespaces: list[str], interval: float = 0.5) -> None:
        self.namespaces, self.interval, self.peak_kib = namespaces, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        inodes = set()
        for ns in self.namespaces:
            try:
                inodes.add(os.stat(f"/run/netns/{ns}").st_ino)
            except OSError:
                continue
        total = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                if os.stat(f"/proc/{entry.name}/ns/net").st_ino not in inodes:
                    continue
                for line in Path(f"/proc/{entry.name}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except (OSError, ValueError):
                continue
        self.peak_kib = max(self.peak_kib, total)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.monotonic()
    result = fn()
    return time.monotonic() - start, result


def govnet(*args: str, spec: LabSpec | None = None) -> float:
    """Run the real command line with the benchmark's state directory.

    With ``spec``, an ``up`` that finds the names taken (another session got there first) waits
    for them to be free and tries again.
    """
    env = {**os.environ, "GOVNET_LAB_DIR": str(STATE / "karbala")}
    cmd = [sys.executable, "-c", "from govnet.cli import main; main()", *args]
    for _ in range(20):
        if spec is not None:
            wait_until_free(spec)
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        if proc.returncode == 0:
            return start
        if spec is None or "already in use" not in proc.stderr:
            break
    raise SystemExit(f"govnet {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")


def namespaces(spec: LabSpec) -> list[str]:
    return [spec.netns(n.name) for n in spec.nodes] + [spec.endpoint_netns(e) for e in spec.endpoints]


def wait_until_free(spec: LabSpec, timeout: float = 1800) -> None:
    """Other people's test sessions may hold a lab with the same names: wait for them to finish."""
    deadline = time.monotonic() + timeout
    probe = [Path(f"/run/netns/{ns}") for ns in namespaces(spec)[:3]]
    while any(p.exists() for p in probe):
        if time.monotonic() > deadline:
            raise SystemExit(f"lab_bench: {probe[0].name} still in use after {timeout:.0f} s")
        time.sleep(5)


def allowed_pairs(lab: Lab, network: Any, *, management: bool) -> list[tuple[str, str]]:
    """Hosts towards every DC server that the policy lets them ping (an allow rule with icmp, no deny).

    ``management`` picks the management-zone hosts instead of the staff PCs: those reach only what
    managing needs and are reported apart from the convergence figure.
    """
    deny = {(r.src, r.dst) for r in network.rules if r.action == "deny"}
    allow = {
        (r.src, r.dst)
        for r in network.rules
        if r.action == "allow" and any(s.proto in ("icmp", "any") for s in r.services)
    }
    zone = {h.name: h.zone for h in network.hosts} | {s.name: s.zone for s in network.servers}
    return [
        (host.netns, server.address)
        for hname, host in lab.hosts.items()
        if (zone[hname] == "management") == management
        for sname, server in lab.servers.items()
        if (zone[hname], zone[sname]) in allow - deny
    ]


def bench_karbala(results: dict[str, Any]) -> None:
    from govnet.lab.from_model import load_spec

    spec = load_spec(REPO / "inventory" / "karbala")
    results["karbala_devices"] = len(spec.nodes)
    results["karbala_endpoints"] = len(spec.endpoints)
    started = govnet("lab", "up", spec=spec)
    results["karbala_up_s"] = time.monotonic() - started
    results["karbala_down_s"], _ = timed(lambda: govnet("lab", "down"))
    with RssSampler(namespaces(spec)) as rss:
        start = govnet("lab", "up", "--configured", spec=spec)
        results["karbala_configured_up_s"] = time.monotonic() - start
        lab = Lab.load(STATE / "karbala")
        assert lab is not None
        wait_ospf_full(lab, timeout=120)
        results["karbala_ospf_full_s"] = time.monotonic() - start
        pairs = allowed_pairs(lab, spec.network, management=False)
        wait_reachable(pairs, timeout=120)
        results["karbala_configured_converged_s"] = time.monotonic() - start
        results["karbala_pings"] = len(pairs)
        mgmt = allowed_pairs(lab, spec.network, management=True)
        results["karbala_mgmt_host_pings_answered"] = f"{len(mgmt) - len(ping_pairs(mgmt))}/{len(mgmt)}"
    results["karbala_peak_rss_mib"] = round(rss.peak_kib / 1024)
    results["karbala_configured_down_s"], _ = timed(lambda: govnet("lab", "down"))


def bench_synthetic(results: dict[str, Any], count: int) -> None:
    spec = synthetic_spec(count, prefix="gvb", names="b")
    state = STATE / f"synthetic-{count}"
    results["synthetic_routers"] = count
    results["synthetic_up_s"], _ = timed(lambda: engine.up(spec, state))
    results["synthetic_down_s"], _ = timed(lambda: engine.down(state))
    with RssSampler(namespaces(spec)) as rss:
        start = time.monotonic()
        lab = engine.up(spec, state, configured=True)
        results["synthetic_configured_up_s"] = time.monotonic() - start
        wait_ospf_full(lab, timeout=180)
        results["synthetic_ospf_full_s"] = time.monotonic() - start
        hosts = list(lab.hosts.values())
        pairs = [(h.netns, hosts[0].address) for h in hosts[1:]] + [(hosts[0].netns, h.address) for h in hosts[1:]]
        wait_reachable(pairs, timeout=180)
        results["synthetic_configured_converged_s"] = time.monotonic() - start
        results["synthetic_pings"] = len(pairs)
    results["synthetic_peak_rss_mib"] = round(rss.peak_kib / 1024)
    results["synthetic_configured_down_s"], _ = timed(lambda: engine.down(state))


def report(results: dict[str, Any]) -> None:
    print(f"{'measure':40} {'value':>10}  goal")
    for key, value in results.items():
        goal = GOALS.get(key) or (GOALS["down_s"] if key.endswith("down_s") else None)
        shown = f"{value:10.1f}" if isinstance(value, float) else f"{value:>10}"
        mark = "" if goal is None else f"≤ {goal:.0f} s {'ok' if value <= goal else 'MISSED'}"
        print(f"{key:40} {shown}  {mark}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routers", type=int, default=80)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--skip-karbala", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("lab_bench: must run as root", file=sys.stderr)
        return 2
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0]}
    try:
        if not args.skip_karbala:
            bench_karbala(results)
        if not args.skip_synthetic:
            bench_synthetic(results, args.routers)
    finally:
        for state in (STATE / "karbala", STATE / f"synthetic-{args.routers}"):
            if (state / "state.json").exists():
                engine.down(state)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
