"""Shared helpers for the Ansible tests: run the real tools (ansible-lint, ansible-playbook, molecule) from the
project's virtual environment with the repository's ansible.cfg."""

from __future__ import annotations

import os
import subprocess
import sys
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
