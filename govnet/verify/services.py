"""The DC servers' planned services as real listeners in their lab namespaces, started and stopped by PID.

One ``govnet.verify.listener`` process per server, its PID in ``/run/govnet-verify/<netns>.pid`` (namespace
names are unique on the machine, one lab at a time).  ``govnet lab down`` also stops them, as it stops every
process inside the lab's namespaces, and removes their PID files.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from govnet.lab.engine import NETNS_PIDS
from govnet.model.derived import Network

RUN = NETNS_PIDS


def pidfile(netns: str) -> Path:
    return RUN / f"{netns}.pid"


def listener_pid(netns: str) -> int | None:
    """PID of the server's listener when it runs in that namespace, else None."""
    try:
        pid = int(pidfile(netns).read_text().strip())
        if os.stat(f"/proc/{pid}/ns/net").st_ino != os.stat(f"/run/netns/{netns}").st_ino:
            return None
    except (OSError, ValueError):
        return None
    return pid


def specs(network: Network, server: str) -> list[str]:
    return [f"{s.proto}/{s.port}" for s in network.server(server).services if s.proto in ("tcp", "udp") and s.port]


def start(network: Network, servers: dict[str, tuple[str, str]]) -> dict[str, int]:
    """Start a listener for every server (name → (netns, address)) that has none; PIDs of all of them."""
    RUN.mkdir(mode=0o755, exist_ok=True)
    pids: dict[str, int] = {}
    started: list[tuple[str, str]] = []
    for name, (netns, _) in servers.items():
        ports = specs(network, name)
        if not ports:
            continue
        pid = listener_pid(netns)
        if pid is None:
            argv = ["ip", "netns", "exec", netns, sys.executable, "-m", "govnet.verify.listener", name, *ports]
            root = str(Path(__file__).resolve().parents[2])  # the directory this govnet is imported from
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                cwd=root,
                env={**os.environ, "PYTHONPATH": root},
            )
            pidfile(netns).write_text(f"{proc.pid}\n")
            pid = proc.pid
            started.append((name, netns))
        pids[name] = pid
    _wait_bound(network, servers, started)
    return pids


def _wait_bound(network: Network, servers: dict[str, tuple[str, str]], started: list[tuple[str, str]]) -> None:
    """Wait (≤ 5 s) until each new listener holds its TCP ports, so a probe right after start is fair."""
    deadline = time.monotonic() + 5
    for name, netns in started:
        tcp = [int(s.split("/")[1]) for s in specs(network, name) if s.startswith("tcp/")]
        while tcp and time.monotonic() < deadline:
            out = subprocess.run(["ss", "-N", netns, "-Hltn"], capture_output=True, text=True, check=False).stdout
            if all(f":{p} " in out for p in tcp):
                break
            time.sleep(0.05)


def stop(servers: dict[str, tuple[str, str]], only: str | None = None) -> list[str]:
    """Stop listeners by their recorded PIDs (all, or one server's); names of those stopped."""
    stopped = []
    for name, (netns, _) in servers.items():
        if only is not None and name != only:
            continue
        pid = listener_pid(netns)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                time.sleep(0.02)
            stopped.append(name)
        pidfile(netns).unlink(missing_ok=True)
    return stopped
