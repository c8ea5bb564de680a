"""The lab connection `govnet.network.labns`: it finds a container's init through the server's lab namespace
and runs commands, pipelined modules and file copies inside it. Exercised on a real namespace holding a process
that is PID 1 of its own PID namespace (what a podman container with systemd is), no podman needed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT

PLUGIN = ROOT / "collections/ansible_collections/govnet/network/plugins/connection/labns.py"


def load_plugin() -> object:
    spec = importlib.util.spec_from_file_location("labns", PLUGIN)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_container() -> Iterator[tuple[str, int]]:
    """A namespace gvt-<random> with `sleep` as PID 1 of a new PID namespace inside it; removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("not root")
    netns = f"gvt-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    proc = subprocess.Popen(["ip", "netns", "exec", netns, "unshare", "--pid", "--fork", "--", "sleep", "120"])
    init = 0
    try:
        target = os.stat(f"/run/netns/{netns}").st_ino
        for _ in range(50):
            for pid in (p for p in os.listdir("/proc") if p.isdigit()):
                try:
                    same = os.stat(f"/proc/{pid}/ns/net").st_ino == target
                    if same and Path(f"/proc/{pid}/comm").read_text().strip() == "sleep":
                        init = int(pid)
                except OSError:
                    continue
            if init:
                break
            time.sleep(0.1)
        yield netns, init
    finally:
        if init:
            os.kill(init, 9)  # the sleep we started (PID 1 of its PID namespace), by its PID
        proc.kill()
        proc.wait()
        subprocess.run(["ip", "netns", "del", netns], check=False)


def test_finds_the_init_of_the_container_in_the_namespace(fake_container: tuple[str, int]) -> None:
    netns, init = fake_container
    assert init and load_plugin().container_init(netns) == init


def test_a_missing_namespace_is_one_clear_error() -> None:
    from ansible.errors import AnsibleConnectionFailure

    with pytest.raises(AnsibleConnectionFailure, match="gvt-missing does not exist"):
        load_plugin().container_init("gvt-missing")


def test_an_empty_namespace_names_the_playbook() -> None:
    if os.geteuid() != 0:
        pytest.skip("not root")
    from ansible.errors import AnsibleConnectionFailure

    netns = f"gvt-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        with pytest.raises(AnsibleConnectionFailure, match=r"lab-containers\.yml"):
            load_plugin().container_init(netns)
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)
