# govnet: Ansible connection into a lab server container by entering its namespaces (no podman per command).
from __future__ import annotations

DOCUMENTATION = r"""
name: labns
author: Karbala governorate infrastructure team
short_description: Run tasks inside a lab DC server container by entering its namespaces
description:
  - The lab runs each DC server as a podman container inside its lab network namespace (gvs-<server>).
    containers.podman.podman starts several podman processes per task and cannot pipeline; this connection finds
    the container's init process through the lab namespace once per task (a scan of /proc, no podman) and runs each
    command with nsenter in that container's mount, UTS, IPC, network, PID and cgroup namespaces, with a clean
    environment. Modules are pipelined over stdin; files are copied by a shell inside the container, so a symlink
    in the container never resolves on the controller.
  - Never uses the network. Needs root on the controller (nsenter), as the lab does.
options:
  netns:
    description: The server's lab network namespace (/run/netns/<netns>).
    type: str
    required: true
    vars:
      - name: govnet_lab_netns
  pipelining:
    description: Pipeline modules over stdin (one process per module run), the default.
    type: bool
    default: true
    vars:
      - name: ansible_pipelining
"""

import os
import shlex
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.connection import ConnectionBase

CLEAN_ENV = [
    "/usr/bin/env",
    "-i",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
    "LANG=C.UTF-8",
    "LC_ALL=C.UTF-8",
    "TERM=dumb",
]


def container_init(netns):
    """PID (on the controller) of the init process of the container inside network namespace ``netns``."""
    try:
        target = os.stat(f"/run/netns/{netns}").st_ino
    except OSError as exc:
        raise AnsibleConnectionFailure(f"lab namespace {netns} does not exist (is the lab up?)") from exc
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}/ns/net").st_ino != target:
                continue
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as status:
                nspid = next((line.split()[1:] for line in status if line.startswith("NSpid:")), [])
        except OSError:
            continue
        if len(nspid) > 1 and nspid[-1] == "1":
            return int(entry)
    raise AnsibleConnectionFailure(f"no server container runs in lab namespace {netns} (playbooks/lab-containers.yml)")


class Connection(ConnectionBase):
    transport = "govnet.network.labns"
    has_pipelining = True
    has_tty = False
    default_user = "root"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pid = None

    def _connect(self):
        if not self._connected:
            if os.geteuid() != 0:
                raise AnsibleConnectionFailure("govnet.network.labns needs root (nsenter)")
            self._pid = container_init(self.get_option("netns"))
            self._connected = True
        return self

    def _enter(self, argv):
        return [
            "nsenter",
            "--target",
            str(self._pid),
            "--mount",
            "--uts",
            "--ipc",
            "--net",
            "--pid",
            "--cgroup",
            "--",
            *CLEAN_ENV,
            *argv,
        ]

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._connect()
        proc = subprocess.Popen(
            self._enter(["/bin/sh", "-c", cmd]),
            stdin=subprocess.PIPE if in_data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = proc.communicate(in_data)
        return proc.returncode, out, err

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        self._connect()
        with open(to_bytes(in_path), "rb") as source:
            proc = subprocess.run(
                self._enter(["/bin/sh", "-c", f"cat > {shlex.quote(out_path)}"]),
                stdin=source,
                capture_output=True,
                check=False,
            )
        if proc.returncode != 0:
            raise AnsibleError(f"put {in_path} → {out_path}: {proc.stderr.decode(errors='replace').strip()}")

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        self._connect()
        with open(to_bytes(out_path), "wb") as target:
            proc = subprocess.run(
                self._enter(["/bin/cat", in_path]), stdout=target, stderr=subprocess.PIPE, check=False
            )
        if proc.returncode != 0:
            raise AnsibleError(f"fetch {in_path}: {proc.stderr.decode(errors='replace').strip()}")

    def close(self):
        self._connected = False
        self._pid = None
