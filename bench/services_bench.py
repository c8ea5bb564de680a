"""Benchmark of the DC services in the lab (root; wrap in `flock /tmp/govnet-lab.lock`).

Measures, in one run:
- provisioning every DC server from scratch (containers + playbooks/servers.yml, `scripts/lab-servers`) and the
  idempotent second run (`--again`, which fails unless changed=0 on every host);
- the round trip of one service request from a department host: POST through the portal to an app server, which
  writes it to the primary, then GET it back; p50 and p99 over --requests requests;
- the primary-stop drill: requests in a loop, the primary stopped half-way and started again; every request
  the application acknowledged (201 with a reference) must be in the database afterwards. Reports acknowledged,
  refused (with the first error) and lost.

By default it builds its own configured lab (build/lab-services-bench) and always takes it down at the end;
`--lab-dir DIR` uses a lab that is already up with its servers provisioned (nothing is built or removed).

    sudo flock /tmp/govnet-lab.lock .venv/bin/python bench/services_bench.py [--requests 200] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from govnet.lab import engine  # noqa: E402
from govnet.lab.containers import container_exec, server_containers  # noqa: E402
from govnet.lab.from_model import load_spec  # noqa: E402
from govnet.lab.state import Lab  # noqa: E402
from govnet.model import load_network  # noqa: E402
from govnet.verify import eservices  # noqa: E402
from govnet.verify.run import real_servers, where_of  # noqa: E402

STATE = REPO / "build" / "lab-services-bench"


def lab_servers(state_dir: Path, *args: str) -> float:
    start = time.monotonic()
    proc = subprocess.run(
        [str(REPO / "scripts" / "lab-servers"), *args],
        cwd=REPO,
        env={**os.environ, "GOVNET_LAB_DIR": str(state_dir)},
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"services_bench: scripts/lab-servers {' '.join(args)} failed")
    return time.monotonic() - start


def services_view(network: Any, lab: Lab) -> eservices.Services:
    host = eservices.department_host(network)
    assert host is not None, "no department host may reach the portal"
    where = where_of(lab)
    netns = {n: ns for n, (ns, _) in where.items()} | {n: d.netns for n, d in lab.devices.items()}
    return eservices.Services(network, host, where[host.name][0], real_servers(lab), netns, Path(lab.state_dir))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def round_trips(sv: eservices.Services, portal: str, ca: Path, n: int) -> dict[str, float]:
    seconds = [eservices.round_trip(sv, portal, ca, f"bench-{i}")[1] for i in range(n)]
    return {
        "requests": n,
        "p50_ms": round(percentile(seconds, 50) * 1000, 1),
        "p99_ms": round(percentile(seconds, 99) * 1000, 1),
        "mean_ms": round(statistics.mean(seconds) * 1000, 1),
    }


def drill(sv: eservices.Services, portal: str, ca: Path, seconds: float = 12.0) -> dict[str, Any]:
    """Stop the primary a third of the way through a request loop, start it again at two thirds."""
    primary = sv.by_role("database")[0]
    acked: list[str] = []
    refused: list[str] = []
    stop = threading.Event()

    def loop() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                resp = eservices.https(
                    sv.host_netns, sv.address(portal), sv.portal_name, ca, "POST", "/services/requests",
                    {"department": sv.host.site, "service": "drill", "applicant": f"drill-{i}"}, timeout=10,
                )  # fmt: skip
            except OSError as exc:
                refused.append(f"{type(exc).__name__}: {exc}")
                continue
            if resp.status == 201:
                acked.append(resp.json()["reference"])
            else:
                refused.append(f"HTTP {resp.status}: {resp.json().get('error') if resp.body else ''}")

    worker = threading.Thread(target=loop)
    worker.start()
    time.sleep(seconds / 3)
    stopped = container_exec(sv.containers[primary], "systemctl", "stop", "postgresql@15-main")
    time.sleep(seconds / 3)
    started = container_exec(sv.containers[primary], "systemctl", "start", "postgresql@15-main")
    time.sleep(seconds / 3)
    stop.set()
    worker.join()
    assert stopped.returncode == 0 and started.returncode == 0, stopped.stderr + started.stderr
    refs = ",".join(f"'{r}'" for r in acked) or "''"
    found = container_exec(
        sv.containers[primary], "runuser", "-u", "postgres", "--", "psql", "-Atd", "eservices", "-c",
        f"SELECT count(*) FROM service_request WHERE reference IN ({refs})",
    )  # fmt: skip
    in_db = int(found.stdout.strip() or 0)
    return {
        "seconds": seconds,
        "acknowledged": len(acked),
        "refused": len(refused),
        "first_refusal": refused[0] if refused else "",
        "acknowledged_in_database": in_db,
        "lost": len(acked) - in_db,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--lab-dir", type=Path, help="use this running lab (servers provisioned); build nothing")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("services_bench: needs root", file=sys.stderr)
        return 2
    network = load_network(REPO / "inventory" / "karbala")
    figures: dict[str, Any] = {}
    state_dir = args.lab_dir or STATE
    try:
        if args.lab_dir is None:
            start = time.monotonic()
            engine.up(load_spec(REPO / "inventory" / "karbala", "lab"), STATE, configured=True)
            figures["lab_up_s"] = round(time.monotonic() - start, 1)
            figures["provision_from_scratch_s"] = round(lab_servers(STATE), 1)
            figures["provision_second_run_s"] = round(lab_servers(STATE, "--again"), 1)
        lab = Lab.load(state_dir, network)
        assert lab is not None, f"no lab in {state_dir}"
        sv = services_view(network, lab)
        portal = sv.by_role("portal")[0]
        ca = eservices.portal_ca(sv, portal)
        figures["round_trip"] = round_trips(sv, portal, ca, args.requests)
        figures["primary_stop_drill"] = drill(sv, portal, ca)
    finally:
        if args.lab_dir is None:
            engine.down(STATE)
            left = [n for ns, n in server_containers().items() if ns.startswith("gvs-")]
            figures["containers_left_after_down"] = len(left)
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    lost = figures.get("primary_stop_drill", {}).get("lost", 1)
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
