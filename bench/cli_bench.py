#!/usr/bin/env python3
"""`govnet validate` on Karbala, start to exit, as a user or an editor hook runs it. Goal: ≤ 0.3 s on an idle machine.

Each run is a fresh process of the console entry point (`govnet.cli:main`); the figures are the best and the median
wall time of the runs, the median CPU time (user + system, which a busy machine inflates less than the wall time),
the cumulative import time of the command line (`python -X importtime`) and the device-stack modules it imported
(none: NAPALM, Nornir and Netmiko are imported only by the commands that talk to devices).

The floor is printed beside them: the same interpreter starting and importing only the libraries validate cannot
do without (pydantic, which the inventory's schema is written in, and PyYAML), and doing nothing else. Bytecode is
written and reused as on a user's machine, even when the caller's environment sets PYTHONDONTWRITEBYTECODE (which
would make every run compile govnet's sources again).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.3
ENTRY = "from govnet.cli import main; main()"
DEVICE_STACK = ("napalm", "nornir", "nornir_napalm", "netmiko", "paramiko")


FLOOR = "import pydantic, yaml; from pydantic import BaseModel"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(ROOT)}


def one_run(args: list[str], code: str = ENTRY) -> tuple[float, float]:
    """Wall and CPU seconds of one `govnet` process (or of one running *code*)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=_env(), check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_profile(args: list[str]) -> tuple[float, list[str]]:
    """Cumulative import time of govnet.cli.app (s) and the device-stack packages the command imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", ENTRY, *args],
        cwd=ROOT,
        env=_env(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    cumulative = 0.0
    stack = set()
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s*)(\S+)", line)
        if not m:
            continue
        name = m.group(3)
        if name == "govnet.cli.app":
            cumulative = int(m.group(1)) / 1e6
        if name.split(".")[0] in DEVICE_STACK:
            stack.add(name.split(".")[0])
    return cumulative, sorted(stack)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    one_run([], FLOOR)
    floor = sorted(one_run([], FLOOR)[0] for _ in range(runs))
    print(
        f"floor (python, pydantic and PyYAML imported, nothing else): best={floor[0]:.3f}s  "
        f"median={statistics.median(floor):.3f}s"
    )
    for args in (["validate"], ["validate", "--json"]):
        one_run(args)  # warm the page cache and the bytecode
        samples = [one_run(args) for _ in range(runs)]
        walls = sorted(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        imports, stack = import_profile(args)
        verdict = "met" if walls[0] <= GOAL else "NOT met"
        print(
            f"govnet {' '.join(args):<16} karbala: best={walls[0]:.3f}s  median={statistics.median(walls):.3f}s  "
            f"cpu={cpu:.3f}s  import govnet.cli.app={imports:.3f}s  device stack imported: {stack or 'none'}  "
            f"({runs} runs, load average {os.getloadavg()[0]:.1f}; goal <= {GOAL} s {verdict})"
        )


if __name__ == "__main__":
    main()
