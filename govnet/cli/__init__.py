"""The ``govnet`` command line: the contract in docs/design.md (exit 0 ok, 1 operation failed, 2 bad input or usage).

One module per command group: ``app`` (the root: validate, plan, render, and the groups mounted on it), ``deploy``
(deploy, backup, drift, rollback, audit), ``lab`` (lab up, down, status), ``verify`` (verify, diagram); ``common``
holds what they share. A group's module is imported (plainly: a broken one fails loudly, with its traceback) when
one of its commands runs; the device stack (NAPALM, Nornir, Netmiko) only by the commands that talk to devices.
"""

from __future__ import annotations

import gc


def main() -> None:
    """The console entry point (``govnet = "govnet.cli:main"``); importing ``govnet.cli`` itself stays free.

    Start-up allocates objects that live as long as the process (modules, classes, the schema's validators): the
    cycle collector is off while they are made, and they are then frozen (``gc.freeze``), so no pass of the
    collector, then or later, walks over them. About 10 % of ``govnet validate``'s wall time."""
    gc.disable()
    try:
        from govnet.cli.app import main as run
    finally:
        gc.freeze()
        gc.enable()
    run()
