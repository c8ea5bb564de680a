#!/usr/bin/env python3
"""validate + plan + render: wall time and peak memory on Karbala and on a generated national-scale inventory
(18 governorates' departments in one network, about 10,000 devices). Goals (issue 14): ≤ 3 s for 10,000 devices on
2 cores, and ≤ 2 s for `validate` of a 50,000-line inventory of unknown keys. `cpu` is user + system time of the
measured process and its render workers (the machine is shared: wall time alone says little). The national figure
is timed in one process after its imports; `govnet render` on the same inventory times the command a user runs
(start, imports, validate, plan, render, exit)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from govnet.model import build  # noqa: E402
from govnet.render import render_all  # noqa: E402


def national(directory: Path, governorates: int = 18, departments: int = 277) -> int:
    """An inventory shaped like Karbala, scaled: per governorate one core pair, then `departments` sites."""
    karbala = ROOT / "inventory" / "karbala"
    gov = yaml.safe_load((karbala / "governorate.yml").read_text())
    # FRR: no IOS hardware model holds a national star of two cores with 2,500 links each; the Karbala production
    # figure covers the IOS templates and their hardware checks.
    gov["environments"] = {
        "production": {
            "platform": "frr",
            "pools": {
                "loopback": "10.0.0.0/16",
                "p2p": "10.1.0.0/16",
                "dc": "10.2.0.0/16",
                "lan": "10.64.0.0/10",
                "mgmt": "10.3.0.0/16",
                "zones": {
                    "local-admin": "10.64.0.0/12",
                    "service": "10.80.0.0/12",
                    "security": "10.96.0.0/12",
                    "management": "10.112.0.0/12",
                },
            },
        }
    }
    sites, links, phase_sites = [], [], []
    core_if = {"core1": 0, "core2": 0}
    cores = {"core1": [], "core2": []}
    total_depts = governorates * departments
    for c in cores:
        cores[c] = [f"eth{i}" for i in range(1, 2 + total_depts // 2 + 2)]
    sites.append(
        {
            "name": "dc",
            "kind": "datacentre",
            "category": "datacentre",
            "name_en": "National DC",
            "name_ar": "مركز",
            "zone": "dc-infra",
            "devices": [{"name": c, "role": "core", "interfaces": cores[c]} for c in cores]
            + [{"name": "dc-sw1", "role": "dc_switch", "interfaces": ["eth1"]}],
            "segments": [{"name": "infra", "kind": "infra", "vlan": 140, "hosts": 30, "zone": "dc-infra"}],
        }
    )
    links.append(
        {
            "a": {"device": "core1", "interface": "eth1"},
            "b": {"device": "core2", "interface": "eth1"},
            "medium": "fibre",
            "bandwidth_mbps": 10000,
            "ospf_cost": 1,
        }
    )
    links.append(
        {
            "a": {"device": "core1", "interface": "eth2"},
            "b": {"device": "dc-sw1", "interface": "eth1"},
            "medium": "fibre",
            "bandwidth_mbps": 10000,
            "ospf_cost": 1,
        }
    )
    core_if = {"core1": 2, "core2": 1}
    zones = ["local-admin", "service", "security"]
    for g in range(governorates):
        for k in range(departments):
            name = f"g{g:02d}d{k:03d}"
            core = "core1" if (g * departments + k) % 2 == 0 else "core2"
            core_if[core] += 1
            zone = zones[k % 3]
            sites.append(
                {
                    "name": name,
                    "kind": "department",
                    "category": zone,
                    "name_en": name,
                    "name_ar": name,
                    "zone": zone,
                    "devices": [
                        {"name": f"{name}r", "role": "edge", "interfaces": ["eth1", "eth2"]},
                        {"name": f"{name}s", "role": "access", "interfaces": ["eth1"]},
                    ],
                    "segments": [
                        {"name": "staff", "kind": "staff", "vlan": 10, "hosts": 60},
                        {"name": "mgmt", "kind": "mgmt", "vlan": 99, "hosts": 10},
                    ],
                }
            )
            links.append(
                {
                    "a": {"device": core, "interface": f"eth{core_if[core]}"},
                    "b": {"device": f"{name}r", "interface": "eth1"},
                    "medium": "fibre",
                    "bandwidth_mbps": 1000,
                    "ospf_cost": 10,
                }
            )
            links.append(
                {
                    "a": {"device": f"{name}r", "interface": "eth2"},
                    "b": {"device": f"{name}s", "interface": "eth1"},
                    "medium": "copper",
                    "bandwidth_mbps": 1000,
                    "ospf_cost": 1,
                }
            )
            phase_sites.append(name)
    gov["phases"] = [{"id": 1, "name": "All", "sites": ["dc", *phase_sites]}]
    (directory / "governorate.yml").write_text(yaml.safe_dump(gov, allow_unicode=True))
    (directory / "sites.yml").write_text(yaml.safe_dump({"sites": sites}, allow_unicode=True))
    (directory / "links.yml").write_text(yaml.safe_dump({"links": links}))
    return sum(len(s["devices"]) for s in sites)


def measure(label: str, directory: Path, env: str) -> None:
    """Run in a child process so each figure has its own peak memory."""
    code = (
        "import resource,sys,time,tempfile;from pathlib import Path;"
        "sys.path.insert(0, sys.argv[3]);"
        "from govnet.model import build;from govnet.render import render_all;"
        "t=time.perf_counter();b=build(Path(sys.argv[1]),sys.argv[2]);t1=time.perf_counter();"
        "render_all(b.network,Path(tempfile.mkdtemp())/'configs');t2=time.perf_counter();"
        "s=resource.getrusage(resource.RUSAGE_SELF);c=resource.getrusage(resource.RUSAGE_CHILDREN);"
        "print(len(b.network.devices),round(t1-t,2),round(t2-t1,2),round(t2-t,2),"
        "max(s.ru_maxrss,c.ru_maxrss)//1024,round(s.ru_utime+s.ru_stime+c.ru_utime+c.ru_stime,2))"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(directory), env, str(ROOT)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{label}: failed\n{proc.stderr[-3000:]}")
    out = proc.stdout.split()
    devices, load, render, total, rss, cpu = out
    print(
        f"{label:<28} devices={devices:>6}  validate+plan={load:>6}s  render={render:>6}s  "
        f"total={total:>6}s  cpu={cpu:>6}s  peak_rss={rss} MiB  (load average {os.getloadavg()[0]:.1f})"
    )


def unknown_keys(directory: Path, count: int = 50_000) -> None:
    """Karbala with `count` unknown keys in its first site: a 50k-line inventory whose every key is a problem."""
    for path in (ROOT / "inventory" / "karbala").glob("*.yml"):
        (directory / path.name).write_text(path.read_text())
    sites = (directory / "sites.yml").read_text()
    junk = "".join(f"    unknown{i:05d}: {i}\n" for i in range(count))
    (directory / "sites.yml").write_text(sites.replace("    kind: datacentre\n", "    kind: datacentre\n" + junk, 1))


def measure_cli(label: str, directory: Path) -> None:
    """`govnet validate` as a user runs it (process start, every problem printed), wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "govnet", "--inventory", str(directory), "validate"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    lines = proc.stderr.count("\n")
    if proc.returncode != 2 or "Traceback" in proc.stderr:
        sys.exit(f"{label}: expected exit 2 with problems, got {proc.returncode}\n{proc.stderr[-3000:]}")
    load = os.getloadavg()[0]
    print(
        f"{label:<28} exit=2  problems printed={lines - 1:>6}  wall={wall:6.2f}s  cpu={cpu:6.2f}s  "
        f"(load average {load:.1f})"
    )


def measure_render_cli(label: str, directory: Path) -> None:
    """`govnet render` as a user runs it on the national inventory (validate, plan and render in one command: process
    start, imports and exit included), into a fresh directory: wall and CPU time, workers included."""
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        command = ["--inventory", str(directory), "--env", "production", "render", "--out", out]
        proc = subprocess.run(
            [sys.executable, "-m", "govnet", *command],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        written = len(os.listdir(out))
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode != 0:
        sys.exit(f"{label}: failed\n{proc.stderr[-3000:]}")
    print(
        f"{label:<28} configs={written:>6}  wall={wall:6.2f}s  cpu={cpu:6.2f}s  (load average {os.getloadavg()[0]:.1f})"
    )


def main() -> None:
    measure("karbala (lab)", ROOT / "inventory" / "karbala", "lab")
    measure("karbala (production)", ROOT / "inventory" / "karbala", "production")
    measure("babil (lab)", ROOT / "inventory" / "babil", "lab")
    measure("babil (production)", ROOT / "inventory" / "babil", "production")
    with tempfile.TemporaryDirectory() as tmp:
        count = national(Path(tmp))
        measure(f"national ({count} devices)", Path(tmp), "production")
        measure_render_cli("national (govnet render)", Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        unknown_keys(Path(tmp))
        measure_cli("50k unknown keys (validate)", Path(tmp))


if __name__ == "__main__":
    _ = (build, render_all, resource, time)
    main()
