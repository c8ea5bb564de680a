"""Shared helpers for the Ansible tests: run the real tools (ansible-lint, ansible-playbook, molecule) from the
project's virtual environment with the repository's ansible.cfg."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ROLES = sorted(p.parent.parent.name for p in (ROOT / "roles").glob("*/molecule/default"))
PLAYBOOKS = sorted(p.name for p in (ROOT / "playbooks").glob("*.yml"))


def tool_env(**extra: str) -> dict[str, str]:
    """The venv first on PATH (molecule and ansible call each other by name), no colour, repo ansible.cfg."""
    env = dict(os.environ)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        NO_COLOR="1",
        PY_COLORS="0",
        CONTAINERS_CONF=str(ROOT / "scripts" / "containers.conf"),
    )
    env.update(extra)
    return env


def run(args: list[str], cwd: Path = ROOT, timeout: int = 900, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=tool_env(**env), capture_output=True, text=True, timeout=timeout, check=False
    )


def tail(proc: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    return "\n".join((proc.stdout + proc.stderr).splitlines()[-lines:])


@pytest.fixture(scope="session")
def base_image() -> None:
    """Molecule's base images and the lab image, built once per run (the script skips images that exist). The
    app, backup and jumphost scenarios run on the lab image, which holds their packages (and which the live lab
    test needs anyway), so they download nothing."""
    if os.geteuid() != 0:
        pytest.skip("not root")
    proc = run([str(ROOT / "scripts" / "build-base-image"), "--lab"], timeout=1800)
    assert proc.returncode == 0, tail(proc)


#: One role's ``molecule test``, running or done.
Run = Future[subprocess.CompletedProcess[str]]


def molecule_jobs() -> int:
    """How many Molecule scenarios run at once: GOVNET_MOLECULE_JOBS, else the CPU count, at least 2 (a scenario
    spends much of its time waiting on containers and systemd, not on a CPU)."""
    return max(1, int(os.environ.get("GOVNET_MOLECULE_JOBS") or max(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def molecule_runs(request: pytest.FixtureRequest, base_image: None) -> Iterator[dict[str, Run]]:
    """``molecule test`` of every role this session selected, ``molecule_jobs()`` at a time, started when the first
    scenario test asks; each test then waits for its own role. The scenarios never meet: each has its own
    containers (gvmol-<role>...) and its own high loopback ports on the host network, and the nftables one runs in
    a namespace of its own."""
    items = request.session.items
    roles = [i.callspec.params["role"] for i in items if getattr(i, "originalname", "") == "test_molecule"]
    pool = ThreadPoolExecutor(molecule_jobs(), thread_name_prefix="molecule")
    runs = {r: pool.submit(run, ["molecule", "test"], cwd=ROOT / "roles" / r, timeout=1800) for r in roles}
    yield runs
    pool.shutdown(wait=True, cancel_futures=True)
