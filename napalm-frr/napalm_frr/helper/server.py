"""The resident helper: one process per instance answering session requests on a unix socket."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sys
import time

from napalm_frr.helper.box import HelperError, open_box, start_time, write_atomic
from napalm_frr.helper.paths import LOCK_NAME, PID_NAME, SOCKET_NAME
from napalm_frr.helper.service import Helper

#: How long the resident helper stays without a connection before it exits (``NAPALM_FRR_HELPER_IDLE``).
RESIDENT_IDLE = 900.0
IDLE_ENV = "NAPALM_FRR_HELPER_IDLE"
#: Seconds without a request before the resident helper starts its next parser.
READY_AFTER_IDLE = 10.0


def serve(instance: str) -> int:
    """The resident helper: answers session requests on a unix socket in the state directory.

    Started by the session relay (:mod:`napalm_frr.helper.relay`) on the first ``napalm-frr-helper session``
    that finds none running (in the
    device's namespaces, as the login user), in a session of its own. It keeps frr-reload's functions
    loaded and one vtysh running, so a request costs no interpreter or vtysh start: a deploy's check,
    its post-check polls and a no-change check answer in milliseconds of CPU. Requests are answered
    one at a time (one connection per thread, one lock): the same order and locking as separate
    processes. It exits after :data:`RESIDENT_IDLE` seconds without a connection, or on SIGTERM
    (whoever stops the device's services). One per instance: a second one
    finds the lock held and exits.
    """
    import socket
    import threading

    box = open_box(instance)
    lock_fd = os.open(box.state / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0
    helper = Helper(instance, resident=True)
    log = os.open(box.state / "helper.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 2)  # what a resident helper has to say (a crash) goes to its state directory
    os.close(log)
    for stale in box.state.glob("ready-*.fifo"):  # left by a helper that was killed
        stale.unlink(missing_ok=True)
    # ready before the first request: frr-reload's functions, the resident vtysh, a parser
    helper.frr.reload_lib(box)
    with contextlib.suppress(HelperError):
        helper.frr.resident(box)
    helper.frr.start_ready(box)
    path = box.state / SOCKET_NAME
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        server.bind(str(path))
    finally:
        os.umask(old)
    server.listen(64)
    write_atomic(box.state / PID_NAME, f"{os.getpid()} {start_time(os.getpid())}\n")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    idle = float(os.environ.get(IDLE_ENV) or RESIDENT_IDLE)
    requests = threading.Lock()
    active = [0, time.monotonic()]  # open connections, when the last one closed
    last = [time.monotonic()]  # when the last request was answered

    def keep_ready() -> None:
        """Every half second: reap finished timers; start the next parser once nothing has been asked for a
        while (its ~40 ms of CPU then never competes with a deploy's checks and commits, which come in bursts)."""
        while True:
            time.sleep(0.5)
            with requests:
                helper.commits.reap_timers()
                if helper.frr.ready is None and time.monotonic() - last[0] >= READY_AFTER_IDLE:
                    with contextlib.suppress(OSError):
                        helper.frr.start_ready(box)

    def answer(conn: socket.socket) -> None:
        try:
            with conn, conn.makefile("rb") as lines:
                for raw in lines:
                    if not raw.strip():
                        continue
                    with requests:
                        try:
                            reply = helper.session_reply(raw.decode(errors="replace"))
                        except Exception as exc:  # a bug must not take the resident helper down
                            reply = {"ok": False, "error": f"helper failed: {exc!r}", "exit": 1}
                        last[0] = time.monotonic()
                    conn.sendall((json.dumps(reply, sort_keys=True) + "\n").encode())
        except OSError:
            pass
        finally:
            with requests:
                active[0] -= 1
                active[1] = time.monotonic()

    threading.Thread(target=keep_ready, daemon=True).start()
    server.settimeout(min(idle, 30.0))
    try:
        while True:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                with requests:
                    if active[0] == 0 and time.monotonic() - active[1] >= idle:
                        return 0
                continue
            with requests:
                active[0] += 1
            threading.Thread(target=answer, args=(conn,), daemon=True).start()
    finally:
        with contextlib.suppress(OSError):
            if (box.state / PID_NAME).read_text().split()[0] == str(os.getpid()):
                path.unlink(missing_ok=True)
                (box.state / PID_NAME).unlink(missing_ok=True)
        helper.frr.close()
