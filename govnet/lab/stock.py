"""A lab router reached as a stock FRR box: a second sshd whose login lands in the user's shell.

A lab device's own sshd forces every login into the device shell (vtysh, the resident helper's relay,
checked ping). A stock white box has none of that: the login user gets a shell, and the FRR driver must
bring its on-box helper itself. :func:`stock_login` starts, for as long as the ``with`` lasts, one more
sshd in the device's namespaces on another port of its management address, with the device's host key and
login user and no forced command, and a known_hosts file naming it. Root only, like the lab.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from govnet.lab import engine, nsexec
from govnet.lab.errors import LabError
from govnet.lab.state import Lab, LabDevice
from napalm_frr import helper as frr_helper

STOCK_PORT = 2222


@contextlib.contextmanager
def stock_login(lab: Lab, dev: LabDevice, port: int = STOCK_PORT, vtysh: bool = False) -> Iterator[Path]:
    """A login to *dev* on *port* that lands in the user's shell; yields the known_hosts file for it.

    *vtysh*: a login that lands in vtysh instead (a box whose forced command is vtysh, the resident helper's
    session relayed as on the lab's own login): every other command goes to ``vtysh -c``, so ``ping -c ...`` is
    vtysh's ``% Unknown command``."""
    ddir = engine.runtime_dir(lab.prefix) / "devices" / dev.name
    if not (ddir / "sshd_config").is_file():
        raise LabError(f"lab: device {dev.name} has no sshd config in {ddir}")
    config, pidfile = ddir / "sshd_stock_config", ddir / "sshd_stock.pid"
    lines = []
    for line in (ddir / "sshd_config").read_text().splitlines():
        if line.startswith("ForceCommand"):
            if vtysh:
                lines.append(_vtysh_login(lab, dev))
            continue
        if line.startswith("ListenAddress"):
            line = f"ListenAddress {dev.mgmt_ip}:{port}"
        elif line.startswith("PidFile"):
            line = f"PidFile {pidfile}"
        lines.append(line)
    config.write_text("\n".join(lines) + "\n")
    known = ddir / "known_hosts_stock"
    keys = []
    for entry in lab.known_hosts.read_text().splitlines():
        hosts, _, key = entry.partition(" ")
        if dev.mgmt_ip in hosts.split(","):
            keys.append(key)
    known.write_text("".join(f"[{dev.mgmt_ip}]:{port} {key}\n" for key in keys))
    pidfile.unlink(missing_ok=True)
    # its own UTS namespace with the device's hostname, as the device's own sshd has
    script = 'hostname "$1" && exec "$2" -f "$3"'
    nsexec.run(nsexec.in_netns(dev.netns, ["unshare", "--uts", "--", "/bin/sh", "-c", script, "sh", dev.name,
                                           engine.SSHD, str(config)]))  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not pidfile.exists():
            if time.monotonic() > deadline:
                raise LabError(f"lab: device {dev.name}: the stock sshd on port {port} wrote no pid file")
            time.sleep(0.05)
        yield known
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        for path in (config, known, pidfile):
            path.unlink(missing_ok=True)


def _vtysh_login(lab: Lab, dev: LabDevice) -> str:
    """The ForceCommand of a login that lands in vtysh, with the resident helper's session beside it."""
    lab_dir = engine.runtime_dir(lab.prefix)
    return (
        f'ForceCommand [ -n "$SSH_ORIGINAL_COMMAND" ] || exec {engine.VTYSH} -N {dev.instance}; '
        f'[ "$SSH_ORIGINAL_COMMAND" = "{frr_helper.COMMAND} session" ] && '
        f"exec {engine.relay_command(dev.instance, lab_dir)}; "
        f'exec {engine.VTYSH} -N {dev.instance} -c "$SSH_ORIGINAL_COMMAND"'
    )
