"""``govnet-agent session`` on a device: relayed to the device's resident on-box agent.

The device's SSH forced command runs this file directly (``python -S .../agent_relay.py INSTANCE``) for
exactly that request. The login then only copies bytes between its SSH channel and the resident
agent's unix socket (:func:`govnet.lab.onbox.serve`), so a session costs no agent start: the agent
keeps frr-reload's functions and a vtysh loaded. When no resident agent answers, it is started (in a
session of its own, so the SSH hang-up spares it); when none can be started, the session runs in this
process as before. The device shell hands every other ``govnet-agent`` command to :func:`run_agent` here: one
route to the on-box agent, and no import back into the device shell. Imports ``os``, ``socket``, ``select``
and little else: it runs on every agent login, and each import costs every deploy once per device.
"""

from __future__ import annotations

import os
import select
import socket
import sys

from govnet.lab.onbox_paths import agent_socket  # the agent copy is on PYTHONPATH (the forced command)

#: How long a resident agent just started may take to listen (it loads what it keeps first).
START_WAIT = 10.0


def main(argv: list[str] | None = None) -> int:
    """``agent_relay.py INSTANCE``: relay stdin/stdout to the instance's resident agent."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("agent_relay: usage: agent_relay.py INSTANCE", file=sys.stderr)
        return 2
    instance = args[0]
    path = agent_socket(instance)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        started = start_resident(instance, path)
        if started is None:
            return run_agent(instance, ["session"])
        sock = started
    return relay(sock)


def run_agent(instance: str, args: list[str]) -> int:
    """Hand over to the on-box agent, imported lazily so a missing module is a clear message."""
    try:
        from govnet.lab import onbox  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:
        print(f"govnet-agent: on-box agent not available ({exc})", file=sys.stderr)
        return 127
    return int(onbox.main(instance, args) or 0)


def start_resident(instance: str, path: str) -> socket.socket | None:
    """Start the resident agent and connect to it; None if it never listens."""
    import subprocess
    import time

    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(os.path.join(os.path.dirname(path), "agent.log"), "ab") as err:
            subprocess.Popen(
                [sys.executable, "-S", "-m", "govnet.lab.onbox", instance, "serve"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )
    except OSError:
        return None
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except OSError:
            sock.close()
            time.sleep(0.01)
    return None


def relay(sock: socket.socket) -> int:
    """Copy stdin to the socket and the socket to stdout until the agent closes its side."""
    inputs: list[int | socket.socket] = [0, sock]
    while True:
        ready, _, _ = select.select(inputs, [], [])
        if 0 in ready:
            data = os.read(0, 1 << 16)
            if data:
                sock.sendall(data)
            else:
                sock.shutdown(socket.SHUT_WR)
                inputs.remove(0)
        if sock in ready:
            data = sock.recv(1 << 16)
            if not data:
                return 0
            view = memoryview(data)
            while view:
                view = view[os.write(1, view) :]


if __name__ == "__main__":
    sys.exit(main())
