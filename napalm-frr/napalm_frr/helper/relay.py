"""``napalm-frr-helper session`` on a device: relayed to the instance's resident helper.

A login runs this file directly (``python -S .../relay.py INSTANCE``) for exactly that request. It only copies
bytes between its SSH channel and the resident helper's unix socket (:func:`napalm_frr.helper.server.serve`),
so a session costs no helper start: the helper keeps frr-reload's functions and a vtysh loaded. When no
resident helper answers, it is started (in a session of its own, so the SSH hang-up spares it); when none can
be started, the session runs in this process. :func:`run_helper` is the route for every other request.
Imports ``os``, ``socket``, ``select`` and little else: it runs on every helper login.
"""

from __future__ import annotations

import os
import select
import socket
import sys

#: The directory holding the ``napalm_frr`` package this file belongs to (two directories up).
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if __package__ in (None, ""):  # run as a file
    sys.path.insert(0, ROOT)

from napalm_frr.helper.paths import helper_socket  # noqa: E402  (after the path set up above)

#: How long a resident helper just started may take to listen (it loads what it keeps first).
START_WAIT = 10.0


def main(argv: list[str] | None = None) -> int:
    """``relay.py INSTANCE``: relay stdin/stdout to the instance's resident helper."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("napalm-frr-helper: usage: relay.py INSTANCE", file=sys.stderr)
        return 2
    instance = args[0]
    path = helper_socket(instance)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        started = start_resident(instance, path)
        if started is None:
            return run_helper(instance, ["session"])
        sock = started
    return relay(sock)


def run_helper(instance: str, args: list[str]) -> int:
    """Hand one request (or an in-process session) to the helper itself."""
    from napalm_frr.helper import service

    return int(service.main(instance, args) or 0)


def start_resident(instance: str, path: str) -> socket.socket | None:
    """Start the resident helper and connect to it; None if it never listens."""
    import subprocess
    import time

    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(os.path.join(os.path.dirname(path), "helper.log"), "ab") as err:
            subprocess.Popen(
                [sys.executable, "-S", "-m", "napalm_frr.helper", instance, "serve"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
                close_fds=True,
                cwd="/",  # ``-m`` searches the working directory first
                env={**os.environ, "PYTHONPATH": ROOT},
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
    """Copy stdin to the socket and the socket to stdout until the helper closes its side."""
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
