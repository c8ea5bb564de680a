#!/usr/bin/env python3
"""govnet analyze and impact: wall time of the analysis of rendered configs (parse + every check) on Karbala, both
platforms (goal <= 2 s), on the generated national inventory (about 10,000 FRR devices, goal <= 20 s), and of
impact between two revisions of Karbala (goal <= 3 s).  Rendering is timed apart: analyze's figure starts from
the rendered texts."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pipeline_bench import national  # noqa: E402

from govnet.analyze.impact import impact  # noqa: E402
from govnet.analyze.run import analyze, rendered_texts  # noqa: E402
from govnet.model import build  # noqa: E402


def cpu() -> float:
    """CPU seconds of this process and its finished children (the parse workers): the figure a loaded machine
    does not inflate."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def load() -> str:
    return f"(load average {os.getloadavg()[0]:.1f})"


def bench_analyze(label: str, inventory: Path, env: str) -> None:
    network = build(inventory, env).network
    t0 = time.perf_counter()
    texts = rendered_texts(network)
    t1 = time.perf_counter()
    cpu0 = cpu()
    result = analyze(network, texts)
    t2 = time.perf_counter()
    print(
        f"analyze {label:<26} devices={len(texts):>6}  render={t1 - t0:6.2f}s  analyze={t2 - t1:6.2f}s  "
        f"cpu={cpu() - cpu0:6.2f}s  "
        f"checks={len(result.checks)} failed={len(result.failed)}  {load()}",
        flush=True,
    )


def bench_impact() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        shutil.copytree(ROOT / "inventory" / "karbala", repo / "inventory" / "karbala")
        shutil.copytree(ROOT / "network_templates", repo / "network_templates")
        git = ["git", "-C", tmp, "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "."], check=True)
        subprocess.run([*git, "commit", "-qm", "base"], check=True)
        links = repo / "inventory" / "karbala" / "links.yml"
        links.write_text(links.read_text().replace("ospf_cost: 10}", "ospf_cost: 20}", 1))
        for env in ("lab", "production"):
            t0 = time.perf_counter()
            result = impact(repo / "inventory" / "karbala", env, "HEAD")
            took = time.perf_counter() - t0
            print(
                f"impact  karbala ({env}){'':<{14 - len(env)}} changed={len(result.diffs)} paths={len(result.paths)} "
                f"verdicts={len(result.verdicts)}  total={took:6.2f}s  {load()}",
                flush=True,
            )


def main() -> None:
    karbala = ROOT / "inventory" / "karbala"
    bench_analyze("karbala (lab, frr)", karbala, "lab")
    bench_analyze("karbala (production, ios)", karbala, "production")
    bench_impact()
    with tempfile.TemporaryDirectory() as tmp:
        count = national(Path(tmp))
        bench_analyze(f"national ({count} devices)", Path(tmp), "production")


if __name__ == "__main__":
    main()
