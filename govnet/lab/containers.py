"""The lab's DC servers as podman containers (made by playbooks/lab-containers.yml, one per server namespace).

Each carries the labels ``govnet=lab-server`` and ``govnet-netns=<server namespace>``, so the lab finds its own
containers from its state alone: ``govnet lab down`` removes them before the namespaces (also after a crash), and
verify knows which servers are real (Ansible-provisioned) rather than stand-in listeners.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable

from govnet.lab.errors import LabError

# podman as scripts/containers.conf configures it, without needing that file (runc; cgroupfs; no journald).
PODMAN_FLAGS = ("--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file")
SERVER_LABEL = "govnet=lab-server"


def podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("podman") or "podman"
    return subprocess.run([exe, *PODMAN_FLAGS, *args], capture_output=True, text=True, check=False, timeout=timeout)


def server_containers(running_only: bool = False) -> dict[str, str]:
    """Server namespace → container name of every lab server container on this machine."""
    if shutil.which("podman") is None:
        return {}
    listing = podman(
        "ps",
        *(() if running_only else ("-a",)),
        "--filter",
        f"label={SERVER_LABEL}",
        "--format",
        '{{.Names}} {{index .Labels "govnet-netns"}}',
        timeout=60,
    ).stdout
    return {netns: name for name, _, netns in (line.partition(" ") for line in listing.splitlines()) if netns}


def remove_server_containers(namespaces: Iterable[str]) -> int:
    """Remove the containers joined to these namespaces, before the namespaces go, so nothing is left referring
    to a namespace that no longer exists. Another lab's containers (other namespaces) are left alone. Returns how
    many were removed."""
    wanted = set(namespaces)
    names = [name for netns, name in server_containers().items() if netns in wanted]
    left, why = names, ""
    for _ in range(3):  # podman rm of many containers at once can leave one behind (seen with the database replica)
        if not left:
            return len(names)
        proc = podman("rm", "--force", "--time", "3", *left)
        why = (proc.stderr or proc.stdout).strip()
        left = [name for netns, name in server_containers().items() if netns in wanted]
    if left:
        raise LabError(f"lab: server containers not removed: {', '.join(left)} ({why[-300:]})")
    return len(names)


def container_exec(container: str, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a command inside a server container (as root, like an administrator's shell on the server)."""
    return podman("exec", container, *argv, timeout=timeout)
